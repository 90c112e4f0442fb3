package ec2sim

import (
	"fmt"
	"net/http"
)

// Error codes the simulator returns, spelled as EC2 spells them.
const (
	CodeInvalidAction                = "InvalidAction"
	CodeMissingAction                = "MissingAction"
	CodeMissingParameter             = "MissingParameter"
	CodeInvalidParameterValue        = "InvalidParameterValue"
	CodeInvalidParameterCombination  = "InvalidParameterCombination"
	CodeIdempotentParameterMismatch  = "IdempotentParameterMismatch"
	CodeInvalidInstanceIDNotFound    = "InvalidInstanceID.NotFound"
	CodeInvalidInstanceIDMalformed   = "InvalidInstanceID.Malformed"
	CodeInvalidSubnetIDNotFound      = "InvalidSubnetID.NotFound"
	CodeInvalidGroupNotFound         = "InvalidGroup.NotFound"
	CodeInvalidAMIIDNotFound         = "InvalidAMIID.NotFound"
	CodeInvalidUserDataMalformed     = "InvalidUserData.Malformed"
	CodeInvalidInstanceType          = "InvalidInstanceType"
	CodeInvalidPaginationToken       = "InvalidPaginationToken"
	CodeInsufficientInstanceCapacity = "InsufficientInstanceCapacity"
	CodeUnsupported                  = "Unsupported"
	CodeRequestLimitExceeded         = "RequestLimitExceeded"
	CodeUnauthorizedOperation        = "UnauthorizedOperation"
)

// Launch template error codes. EC2 spells the name codes with an Exception suffix and the id
// codes without one; both are copied as EC2 returns them.
const (
	CodeInvalidLaunchTemplateNameMalformed     = "InvalidLaunchTemplateName.MalformedException"
	CodeInvalidLaunchTemplateNameAlreadyExists = "InvalidLaunchTemplateName.AlreadyExistsException"
	CodeInvalidLaunchTemplateNameNotFound      = "InvalidLaunchTemplateName.NotFoundException"
	CodeInvalidLaunchTemplateIDNotFound        = "InvalidLaunchTemplateId.NotFound"
	CodeInvalidLaunchTemplateIDVersionNotFound = "InvalidLaunchTemplateId.VersionNotFound"
)

// apiError is a failed call, rendered in EC2's <Response><Errors> envelope.
type apiError struct {
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// status follows EC2: throttling and outages are 503, internal faults 500, a denial by IAM 403,
// everything else the caller's fault (400). The SDK retries 500s and 503s, and throttling codes
// whatever the status.
func (e *apiError) status() int {
	switch e.Code {
	case CodeRequestLimitExceeded, "Unavailable", "ServiceUnavailable":
		return http.StatusServiceUnavailable
	case "InternalError":
		return http.StatusInternalServerError
	case CodeUnauthorizedOperation:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

func newAPIError(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalidParameterValue(format string, args ...any) *apiError {
	return newAPIError(CodeInvalidParameterValue, format, args...)
}

func missingParameter(name string) *apiError {
	return newAPIError(CodeMissingParameter, "The request must contain the parameter %s", name)
}

type errorResponse struct {
	XMLName   struct{}   `xml:"Response"`
	Errors    []errorXML `xml:"Errors>Error"`
	RequestID string     `xml:"RequestID"`
}

type errorXML struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func writeError(w http.ResponseWriter, e *apiError, requestID string) {
	writeXML(w, e.status(), errorResponse{
		Errors:    []errorXML{{Code: e.Code, Message: e.Message}},
		RequestID: requestID,
	})
}
