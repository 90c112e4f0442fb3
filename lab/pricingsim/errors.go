package pricingsim

import (
	"fmt"
	"net/http"

	"github.com/nodewright/nodewright/lab/awsjson"
)

// Error codes as the SDK reports them through smithy.APIError.ErrorCode; the SDK turns them
// into types.InvalidParameterException and types.InvalidNextTokenException.
const (
	CodeInvalidParameter = "InvalidParameterException"
	CodeInvalidNextToken = "InvalidNextTokenException"
)

// invalidParameter words a refusal as the Price List API does ("Input Parameters are
// invalid. serviceCode cannot be null or empty"), naming the request member to fix.
func invalidParameter(format string, args ...any) *awsjson.Error {
	return awsjson.Errorf(CodeInvalidParameter, http.StatusBadRequest, "Input Parameters are invalid. %s", fmt.Sprintf(format, args...))
}

// invalidNextToken is GetProducts' refusal of a token it did not hand out for this query.
func invalidNextToken(why string) *awsjson.Error {
	return awsjson.Errorf(CodeInvalidNextToken, http.StatusBadRequest,
		"The pagination token is invalid: nextToken %s. Try again without a pagination token.", why)
}
