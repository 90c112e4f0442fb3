package ssmsim

import (
	"net/http"

	"github.com/nodewright/nodewright/lab/awsjson"
)

// Error codes as the SDK reports them through smithy.APIError.ErrorCode. SSM sends them as bare
// __type names, which the SDK matches to its typed errors (types.ParameterNotFound and so on).
const (
	CodeParameterNotFound        = "ParameterNotFound"
	CodeParameterVersionNotFound = "ParameterVersionNotFound"
	CodeValidationException      = "ValidationException"
)

// parameterNotFound names the parameter, which real SSM leaves out, so a lab log says which one.
func parameterNotFound(name string) *awsjson.Error {
	return awsjson.Errorf(CodeParameterNotFound, http.StatusBadRequest, "Parameter %s not found.", name)
}

func parameterVersionNotFound(name, selector string) *awsjson.Error {
	return awsjson.Errorf(CodeParameterVersionNotFound, http.StatusBadRequest,
		"Systems Manager could not find version %s of %s. Verify the version and try again.", selector, name)
}

func validationError(format string, args ...any) *awsjson.Error {
	return awsjson.Errorf(CodeValidationException, http.StatusBadRequest, format, args...)
}
