package sqssim

import (
	"net/http"
	"strings"

	"github.com/nodewright/nodewright/lab/awsjson"
)

// service is SQS's endpoint. Its body limit leaves room around SQS's 256 KiB message limit for
// the JSON envelope.
var service = awsjson.Service{
	Responder:           awsjson.Responder{ContentType: "application/x-amz-json-1.0", InternalError: `{"__type":"InternalError"}`},
	Name:                "sqssim",
	TargetPrefix:        "AmazonSQS.",
	ProtocolErrorPrefix: "com.amazon.coral.service#",
	MaxRequestBytes:     1 << 20,
}

// ServeHTTP answers one AWS JSON 1.0 request: a POST naming the operation in X-Amz-Target.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	requestID := s.requests.UUID()
	s.mu.Unlock()
	service.Serve(w, r, requestID, func(name string) awsjson.Operation { return s.operation(name, r) })
}

// operation is the action named, nil for one sqssim does not simulate.
func (s *Sim) operation(name string, r *http.Request) awsjson.Operation {
	urlBase := "http://" + r.Host
	switch name {
	case "CreateQueue":
		return awsjson.Call(func(in createQueueInput) (any, *awsjson.Error) { return s.createQueueAction(urlBase, in) })
	case "GetQueueUrl":
		return awsjson.Call(func(in getQueueURLInput) (any, *awsjson.Error) { return s.getQueueURL(urlBase, in) })
	case "PurgeQueue":
		return awsjson.Call(s.purgeQueue)
	case "SendMessage":
		return awsjson.Call(s.sendMessage)
	case "ReceiveMessage":
		return awsjson.Call(func(in receiveMessageInput) (any, *awsjson.Error) { return s.receiveMessage(r.Context(), in) })
	case "DeleteMessage":
		return awsjson.Call(s.deleteMessage)
	case "ChangeMessageVisibility":
		return awsjson.Call(s.changeMessageVisibility)
	}
	return nil
}

// queueURL is the URL of a queue as this server names it. The SDK sends every JSON request to its
// endpoint whatever the URL says, so only the path matters when reading it back.
func (s *Sim) queueURL(urlBase, name string) string {
	return urlBase + "/" + s.accountID + "/" + name
}

// queueAt resolves a queue URL (…/account/name) and must be called with s.mu held.
func (s *Sim) queueAt(url string) (*queue, *awsjson.Error) {
	if url == "" {
		return nil, missingParameter("QueueUrl")
	}
	parts := strings.Split(strings.TrimRight(url, "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] != s.accountID {
		return nil, queueDoesNotExist()
	}
	q, ok := s.queues[parts[len(parts)-1]]
	if !ok {
		return nil, queueDoesNotExist()
	}
	return q, nil
}

// withQueue runs f on the queue at url with s.mu held.
func (s *Sim) withQueue(url string, f func(q *queue) (any, *awsjson.Error)) (any, *awsjson.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueAt(url)
	if err != nil {
		return nil, err
	}
	return f(q)
}
