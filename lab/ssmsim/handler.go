package ssmsim

import (
	"net/http"

	"github.com/nodewright/nodewright/lab/awsjson"
)

// service is SSM's endpoint. Its body limit is far above ten 2 KiB names; anything larger is not
// a request this serves.
var service = awsjson.Service{
	Responder:       awsjson.Responder{ContentType: "application/x-amz-json-1.1", InternalError: `{"__type":"InternalServerError"}`},
	Name:            "ssmsim",
	TargetPrefix:    "AmazonSSM.",
	MaxRequestBytes: 1 << 20,
}

// ServeHTTP answers one AWS JSON 1.1 request: a POST naming the operation in X-Amz-Target.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	requestID := s.requests.UUID()
	s.mu.Unlock()
	service.Serve(w, r, requestID, s.operation)
}

// operation is the action named, nil for one ssmsim does not simulate.
func (s *Sim) operation(name string) awsjson.Operation {
	switch name {
	case "GetParameter":
		return awsjson.Call(s.getParameter)
	case "GetParameters":
		return awsjson.Call(s.getParameters)
	}
	return nil
}
