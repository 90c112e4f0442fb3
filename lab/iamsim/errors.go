package iamsim

import (
	"encoding/xml"
	"fmt"
	"net/http"
)

// Error codes as the SDK reports them through smithy.APIError.ErrorCode.
const (
	CodeNoSuchEntity            = "NoSuchEntity"
	CodeEntityAlreadyExists     = "EntityAlreadyExists"
	CodeDeleteConflict          = "DeleteConflict"
	CodeLimitExceeded           = "LimitExceeded"
	CodeInvalidInput            = "InvalidInput"
	CodeMalformedPolicyDocument = "MalformedPolicyDocument"
	// CodeValidationError is not in IAM's model, so the SDK surfaces it as a generic API error;
	// IAM sends it when a parameter breaks its length or pattern constraint.
	CodeValidationError = "ValidationError"
	CodeInvalidAction   = "InvalidAction"
)

// apiError is a failed call; status follows the httpError trait of IAM's modeled errors.
type apiError struct {
	code    string
	status  int
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newAPIError(code string, status int, format string, args ...any) *apiError {
	return &apiError{code: code, status: status, message: fmt.Sprintf(format, args...)}
}

func noSuchRole(name string) *apiError {
	return newAPIError(CodeNoSuchEntity, http.StatusNotFound, "The role with name %s cannot be found.", name)
}

func noSuchInstanceProfile(name string) *apiError {
	return newAPIError(CodeNoSuchEntity, http.StatusNotFound, "Instance Profile %s cannot be found.", name)
}

func alreadyExists(format string, args ...any) *apiError {
	return newAPIError(CodeEntityAlreadyExists, http.StatusConflict, format, args...)
}

func deleteConflict(format string, args ...any) *apiError {
	return newAPIError(CodeDeleteConflict, http.StatusConflict, format, args...)
}

func limitExceeded(format string, args ...any) *apiError {
	return newAPIError(CodeLimitExceeded, http.StatusConflict, format, args...)
}

func invalidInput(format string, args ...any) *apiError {
	return newAPIError(CodeInvalidInput, http.StatusBadRequest, format, args...)
}

func malformedPolicy(format string, args ...any) *apiError {
	return newAPIError(CodeMalformedPolicyDocument, http.StatusBadRequest, format, args...)
}

// validationError words the message as IAM does: "1 validation error detected: Value … at
// 'field' failed to satisfy constraint: …".
func validationError(field, value, constraint string) *apiError {
	return newAPIError(CodeValidationError, http.StatusBadRequest,
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

func missingValue(field string) *apiError {
	return newAPIError(CodeValidationError, http.StatusBadRequest,
		"1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
}

func invalidAction(action, version string) *apiError {
	if version == "" {
		version = "NO_VERSION_SPECIFIED"
	}
	return newAPIError(CodeInvalidAction, http.StatusBadRequest, "Could not find operation %s for version %s", action, version)
}

type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Error     errorXML `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type errorXML struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func writeError(w http.ResponseWriter, e *apiError, requestID string) {
	fault := "Sender"
	if e.status >= 500 {
		fault = "Receiver"
	}
	writeXML(w, e.status, errorResponse{
		Xmlns:     namespace,
		Error:     errorXML{Type: fault, Code: e.code, Message: e.message},
		RequestID: requestID,
	})
}
