package sqssim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error codes as the SDK reports them through smithy.APIError.ErrorCode: SQS is query-compatible,
// so the SDK takes the code from the x-amzn-query-error header when one is sent.
const (
	CodeNonExistentQueue       = "AWS.SimpleQueueService.NonExistentQueue"
	CodeQueueAlreadyExists     = "QueueAlreadyExists"
	CodeReceiptHandleIsInvalid = "ReceiptHandleIsInvalid"
	CodeMessageNotInflight     = "AWS.SimpleQueueService.MessageNotInflight"
	CodeInvalidAttributeName   = "InvalidAttributeName"
	CodeInvalidAttributeValue  = "InvalidAttributeValue"
	CodeInvalidParameterValue  = "InvalidParameterValue"
	CodeMissingParameter       = "MissingParameter"
)

// apiError is a failed call in the JSON protocol's shape: __type names the modeled error shape,
// which the SDK turns into its typed error (types.QueueDoesNotExist and so on), and queryCode
// goes in x-amzn-query-error as real SQS sends it.
type apiError struct {
	typ       string // fully qualified shape, e.g. com.amazonaws.sqs#QueueDoesNotExist
	queryCode string // empty for protocol-level errors, which real SQS sends without the header
	status    int
	message   string
}

func (e *apiError) Error() string { return e.typ + ": " + e.message }

func sqsError(shape, queryCode string, status int, format string, args ...any) *apiError {
	return &apiError{typ: "com.amazonaws.sqs#" + shape, queryCode: queryCode, status: status, message: fmt.Sprintf(format, args...)}
}

func queueDoesNotExist() *apiError {
	return sqsError("QueueDoesNotExist", CodeNonExistentQueue, http.StatusBadRequest, "The specified queue does not exist.")
}

func queueNameExists(name string) *apiError {
	return sqsError("QueueNameExists", CodeQueueAlreadyExists, http.StatusBadRequest,
		"A queue already exists with the same name %s and a different value for attribute(s).", name)
}

func receiptHandleIsInvalid(handle string) *apiError {
	return sqsError("ReceiptHandleIsInvalid", CodeReceiptHandleIsInvalid, http.StatusNotFound,
		"The input receipt handle %q is not a valid receipt handle.", handle)
}

func messageNotInflight() *apiError {
	return sqsError("MessageNotInflight", CodeMessageNotInflight, http.StatusBadRequest, "The message referred to isn't in flight.")
}

func invalidAttributeValue(format string, args ...any) *apiError {
	return sqsError("InvalidAttributeValue", CodeInvalidAttributeValue, http.StatusBadRequest, format, args...)
}

// invalidParameter and missingParameter are not modeled shapes, so the SDK surfaces them as a
// smithy.GenericAPIError carrying the query code.
func invalidParameter(format string, args ...any) *apiError {
	return sqsError("InvalidParameterValue", CodeInvalidParameterValue, http.StatusBadRequest, format, args...)
}

func missingParameter(name string) *apiError {
	return sqsError("MissingParameter", CodeMissingParameter, http.StatusBadRequest, "The request must contain the parameter %s.", name)
}

func unknownOperation(target string) *apiError {
	return &apiError{typ: "com.amazon.coral.service#UnknownOperationException", status: http.StatusBadRequest,
		message: fmt.Sprintf("Operation %q is not supported by sqssim.", target)}
}

func serializationError(err error) *apiError {
	return &apiError{typ: "com.amazon.coral.service#SerializationException", status: http.StatusBadRequest, message: err.Error()}
}

func writeError(w http.ResponseWriter, e *apiError, requestID string) {
	if e.queryCode != "" {
		fault := "Sender"
		if e.status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("x-amzn-query-error", e.queryCode+";"+fault)
	}
	writeJSON(w, e.status, map[string]string{"__type": e.typ, "message": e.message}, requestID)
}

func writeJSON(w http.ResponseWriter, status int, body any, requestID string) {
	payload, err := json.Marshal(body)
	if err != nil { // only our own response structs get here, and they always marshal
		status, payload = http.StatusInternalServerError, []byte(`{"__type":"InternalError"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(payload)
}
