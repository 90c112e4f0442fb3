package sqssim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxRequestBytes leaves room around SQS's 256 KiB message limit for the JSON envelope.
const maxRequestBytes = 1 << 20

// ServeHTTP answers one AWS JSON 1.0 request: a POST naming the operation in X-Amz-Target.
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
	operation, ok := strings.CutPrefix(target, "AmazonSQS.")
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
	urlBase := "http://" + r.Host
	switch operation {
	case "CreateQueue":
		return call(body, func(in createQueueInput) (any, *apiError) { return s.createQueueAction(urlBase, in) })
	case "GetQueueUrl":
		return call(body, func(in getQueueURLInput) (any, *apiError) { return s.getQueueURL(urlBase, in) })
	case "PurgeQueue":
		return call(body, s.purgeQueue)
	case "SendMessage":
		return call(body, s.sendMessage)
	case "ReceiveMessage":
		return call(body, func(in receiveMessageInput) (any, *apiError) { return s.receiveMessage(r.Context(), in) })
	case "DeleteMessage":
		return call(body, s.deleteMessage)
	case "ChangeMessageVisibility":
		return call(body, s.changeMessageVisibility)
	}
	return nil, unknownOperation(target)
}

// call decodes the request into the operation's input and runs it.
func call[In any](body []byte, op func(In) (any, *apiError)) (any, *apiError) {
	var in In
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, serializationError(err)
	}
	return op(in)
}

// queueURL is the URL of a queue as this server names it. The SDK sends every JSON request to its
// endpoint whatever the URL says, so only the path matters when reading it back.
func (s *Sim) queueURL(urlBase, name string) string {
	return urlBase + "/" + s.accountID + "/" + name
}

// queueAt resolves a queue URL (…/account/name) and must be called with s.mu held.
func (s *Sim) queueAt(url string) (*queue, *apiError) {
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
func (s *Sim) withQueue(url string, f func(q *queue) (any, *apiError)) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.queueAt(url)
	if err != nil {
		return nil, err
	}
	return f(q)
}
