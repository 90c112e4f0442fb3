package ekssim

import (
	"fmt"
	"net/http"

	"github.com/nodewright/nodewright/lab/awsjson"
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

// restJSON writes EKS's responses; restJson1 uses plain application/json.
var restJSON = awsjson.Responder{ContentType: "application/json", InternalError: `{"message":"internal error"}`}

func writeError(w http.ResponseWriter, e *apiError, requestID string) {
	w.Header().Set("x-amzn-ErrorType", e.typ+":http://internal.amazon.com/coral/com.amazonaws.eks/")
	restJSON.Write(w, e.status, map[string]string{"message": e.message}, requestID)
}
