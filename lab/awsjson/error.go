package awsjson

import (
	"fmt"
	"net/http"
)

// Error is a refused call in the awsJson shape. The SDK matches Type, after any "namespace#", to
// its typed errors; a query-compatible service also sends QueryCode, which the SDK then reports
// as the error code.
type Error struct {
	Type      string // the error shape, bare (SSM) or namespace-qualified (SQS)
	QueryCode string // x-amzn-query-error's code; empty sends no header
	Status    int
	Message   string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Errorf is an Error without a query code.
func Errorf(typ string, status int, format string, args ...any) *Error {
	return &Error{Type: typ, Status: status, Message: fmt.Sprintf(format, args...)}
}

// writeError sends e as {"__type", "message"}, and its query code as "Code;Sender" (or
// ";Receiver" for a 5xx), as query-compatible services do.
func (s Service) writeError(w http.ResponseWriter, e *Error, requestID string) {
	if e.QueryCode != "" {
		fault := "Sender"
		if e.Status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("x-amzn-query-error", e.QueryCode+";"+fault)
	}
	s.Write(w, e.Status, map[string]string{"__type": e.Type, "message": e.Message}, requestID)
}

// unknownOperation and serializationError are the protocol's own refusals, raised before an
// operation runs.
func (s Service) unknownOperation(target string) *Error {
	return Errorf(s.ProtocolErrorPrefix+"UnknownOperationException", http.StatusBadRequest,
		"Operation %q is not supported by %s.", target, s.Name)
}

func (s Service) serializationError(err error) *Error {
	return Errorf(s.ProtocolErrorPrefix+"SerializationException", http.StatusBadRequest, "%s", err.Error())
}
