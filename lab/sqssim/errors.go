package sqssim

import (
	"fmt"
	"net/http"

	"github.com/nodewright/nodewright/lab/awsjson"
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

// sqsError is a modeled SQS error: __type names its shape, which the SDK turns into its typed
// error (types.QueueDoesNotExist and so on), and queryCode goes in x-amzn-query-error as real SQS
// sends it.
func sqsError(shape, queryCode string, status int, format string, args ...any) *awsjson.Error {
	return &awsjson.Error{Type: "com.amazonaws.sqs#" + shape, QueryCode: queryCode, Status: status, Message: fmt.Sprintf(format, args...)}
}

func queueDoesNotExist() *awsjson.Error {
	return sqsError("QueueDoesNotExist", CodeNonExistentQueue, http.StatusBadRequest, "The specified queue does not exist.")
}

func queueNameExists(name string) *awsjson.Error {
	return sqsError("QueueNameExists", CodeQueueAlreadyExists, http.StatusBadRequest,
		"A queue already exists with the same name %s and a different value for attribute(s).", name)
}

func receiptHandleIsInvalid(handle string) *awsjson.Error {
	return sqsError("ReceiptHandleIsInvalid", CodeReceiptHandleIsInvalid, http.StatusNotFound,
		"The input receipt handle %q is not a valid receipt handle.", handle)
}

func messageNotInflight() *awsjson.Error {
	return sqsError("MessageNotInflight", CodeMessageNotInflight, http.StatusBadRequest, "The message referred to isn't in flight.")
}

func invalidAttributeValue(format string, args ...any) *awsjson.Error {
	return sqsError("InvalidAttributeValue", CodeInvalidAttributeValue, http.StatusBadRequest, format, args...)
}

// invalidParameter and missingParameter are not modeled shapes, so the SDK surfaces them as a
// smithy.GenericAPIError carrying the query code.
func invalidParameter(format string, args ...any) *awsjson.Error {
	return sqsError("InvalidParameterValue", CodeInvalidParameterValue, http.StatusBadRequest, format, args...)
}

func missingParameter(name string) *awsjson.Error {
	return sqsError("MissingParameter", CodeMissingParameter, http.StatusBadRequest, "The request must contain the parameter %s.", name)
}
