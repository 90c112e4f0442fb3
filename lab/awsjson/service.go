package awsjson

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Service is one simulated service's awsJson1_0 or awsJson1_1 endpoint.
type Service struct {
	Responder
	Name         string // the simulator, named when an operation is refused, e.g. sqssim
	TargetPrefix string // what X-Amz-Target starts with before the operation, e.g. AmazonSQS.
	// ProtocolErrorPrefix goes before UnknownOperationException and SerializationException:
	// com.amazon.coral.service# as SQS sends them, or empty for the bare names SSM sends.
	ProtocolErrorPrefix string
	MaxRequestBytes     int // a larger body is refused with SerializationException
}

// Operation runs one request: decode fills the operation's input from the body, refusing a body
// that does not fit it. Call builds an Operation from a typed function.
type Operation func(decode func(in any) *Error) (any, *Error)

// Call is the Operation that decodes the body into In and runs op on it.
func Call[In, Out any](op func(In) (Out, *Error)) Operation {
	return func(decode func(in any) *Error) (any, *Error) {
		var in In
		if err := decode(&in); err != nil {
			return nil, err
		}
		out, err := op(in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// Serve answers one request with the result of the operation that operation(name) returns for
// the name in X-Amz-Target, or refuses it: UnknownOperationException for a request that is not a
// POST to this service or names an operation it does not serve (operation returns nil), and
// SerializationException for a body over MaxRequestBytes or one that does not decode.
func (s Service) Serve(w http.ResponseWriter, r *http.Request, requestID string, operation func(name string) Operation) {
	out, err := s.handle(r, operation)
	if err != nil {
		s.writeError(w, err, requestID)
		return
	}
	s.Write(w, http.StatusOK, out, requestID)
}

func (s Service) handle(r *http.Request, operation func(name string) Operation) (any, *Error) {
	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, s.TargetPrefix)
	if r.Method != http.MethodPost || !ok {
		return nil, s.unknownOperation(target)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.MaxRequestBytes)+1))
	if err != nil {
		return nil, s.serializationError(fmt.Errorf("read request body: %w", err))
	}
	if len(body) > s.MaxRequestBytes {
		return nil, s.serializationError(fmt.Errorf("request body is over %d bytes", s.MaxRequestBytes))
	}
	op := operation(name)
	if op == nil {
		return nil, s.unknownOperation(target)
	}
	return op(func(in any) *Error {
		if err := json.Unmarshal(body, in); err != nil {
			return s.serializationError(err)
		}
		return nil
	})
}
