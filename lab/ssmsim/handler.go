package ssmsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxRequestBytes is far above ten 2 KiB names; anything larger is not a request this serves.
const maxRequestBytes = 1 << 20

// ServeHTTP answers one AWS JSON 1.1 request: a POST naming the operation in X-Amz-Target.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	requestID := s.requests.UUID()
	s.mu.Unlock()
	out, apiErr := s.handle(r)
	if apiErr != nil {
		writeError(w, apiErr, requestID)
		return
	}
	writeJSON(w, http.StatusOK, out, requestID)
}

func (s *Sim) handle(r *http.Request) (any, *apiError) {
	target := r.Header.Get("X-Amz-Target")
	operation, ok := strings.CutPrefix(target, "AmazonSSM.")
	if r.Method != http.MethodPost || !ok {
		return nil, unknownOperation(target)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return nil, serializationError(fmt.Errorf("read request body: %w", err))
	}
	if len(body) > maxRequestBytes {
		return nil, serializationError(fmt.Errorf("request body is over %d bytes", maxRequestBytes))
	}
	switch operation {
	case "GetParameter":
		return call(body, s.getParameter)
	case "GetParameters":
		return call(body, s.getParameters)
	}
	return nil, unknownOperation(target)
}

// call decodes the request into the operation's input and runs it.
func call[In, Out any](body []byte, op func(In) (Out, *apiError)) (any, *apiError) {
	var in In
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, serializationError(err)
	}
	out, err := op(in)
	if err != nil {
		return nil, err
	}
	return out, nil
}
