package awsjson

import (
	"encoding/json"
	"net/http"
)

// Responder writes one protocol's JSON responses.
type Responder struct {
	ContentType string // application/x-amz-json-1.0 or -1.1; application/json for restJson1
	// InternalError is the body of the 500 sent instead of a response that does not marshal,
	// which only a bug in the simulator's response structs can cause.
	InternalError string
}

// Write sends body as JSON with the status, the content type and the request id in
// x-amzn-RequestId.
func (r Responder) Write(w http.ResponseWriter, status int, body any, requestID string) {
	payload, err := json.Marshal(body)
	if err != nil {
		status, payload = http.StatusInternalServerError, []byte(r.InternalError)
	}
	w.Header().Set("Content-Type", r.ContentType)
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(payload)
}
