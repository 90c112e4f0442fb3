package ssmsim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error codes as the SDK reports them through smithy.APIError.ErrorCode.
const (
	CodeParameterNotFound        = "ParameterNotFound"
	CodeParameterVersionNotFound = "ParameterVersionNotFound"
	CodeValidationException      = "ValidationException"
)

// apiError is a failed call in the AWS JSON 1.1 shape: __type carries the bare shape name, as
// SSM sends it, and the SDK matches it to its typed error (types.ParameterNotFound and so on).
type apiError struct {
	typ     string
	status  int
	message string
}

func (e *apiError) Error() string { return e.typ + ": " + e.message }

func newAPIError(typ string, status int, format string, args ...any) *apiError {
	return &apiError{typ: typ, status: status, message: fmt.Sprintf(format, args...)}
}

// parameterNotFound names the parameter, which real SSM leaves out, so a lab log says which one.
func parameterNotFound(name string) *apiError {
	return newAPIError(CodeParameterNotFound, http.StatusBadRequest, "Parameter %s not found.", name)
}

func parameterVersionNotFound(name, selector string) *apiError {
	return newAPIError(CodeParameterVersionNotFound, http.StatusBadRequest,
		"Systems Manager could not find version %s of %s. Verify the version and try again.", selector, name)
}

func validationError(format string, args ...any) *apiError {
	return newAPIError(CodeValidationException, http.StatusBadRequest, format, args...)
}

func unknownOperation(target string) *apiError {
	return newAPIError("UnknownOperationException", http.StatusBadRequest, "Operation %q is not supported by ssmsim.", target)
}

func serializationError(err error) *apiError {
	return newAPIError("SerializationException", http.StatusBadRequest, "%s", err.Error())
}

func writeError(w http.ResponseWriter, e *apiError, requestID string) {
	writeJSON(w, e.status, map[string]string{"__type": e.typ, "message": e.message}, requestID)
}

func writeJSON(w http.ResponseWriter, status int, body any, requestID string) {
	payload, err := json.Marshal(body)
	if err != nil { // only our own response structs get here, and they always marshal
		status, payload = http.StatusInternalServerError, []byte(`{"__type":"InternalServerError"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(payload)
}
