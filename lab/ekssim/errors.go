package ekssim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// CodeResourceNotFound is the code the SDK reports for an unknown cluster.
const CodeResourceNotFound = "ResourceNotFoundException"

// apiError is a failed call in the REST-JSON shape: the type in the x-amzn-ErrorType header, as
// EKS sends it with its namespace suffix, and the message in the body.
type apiError struct {
	typ     string
	status  int
	message string
}

func (e *apiError) Error() string { return e.typ + ": " + e.message }

func clusterNotFound(name string) *apiError {
	return &apiError{typ: CodeResourceNotFound, status: http.StatusNotFound, message: fmt.Sprintf("No cluster found for name: %s.", name)}
}

func unknownOperation(method, path string) *apiError {
	return &apiError{typ: "UnknownOperationException", status: http.StatusNotFound,
		message: fmt.Sprintf("%s %s is not an operation ekssim simulates.", method, path)}
}

func writeError(w http.ResponseWriter, e *apiError, requestID string) {
	w.Header().Set("x-amzn-ErrorType", e.typ+":http://internal.amazon.com/coral/com.amazonaws.eks/")
	writeJSON(w, e.status, map[string]string{"message": e.message}, requestID)
}

func writeJSON(w http.ResponseWriter, status int, body any, requestID string) {
	payload, err := json.Marshal(body)
	if err != nil { // only our own response structs get here, and they always marshal
		status, payload = http.StatusInternalServerError, []byte(`{"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(payload)
}
