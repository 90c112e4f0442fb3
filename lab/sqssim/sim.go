package sqssim

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nodewright/nodewright/lab/awsjson"
	"github.com/nodewright/nodewright/lab/simid"
)

// Options configures a Sim; the zero value of each field picks the default noted beside it.
type Options struct {
	// Clock tells the time for visibility timeouts, retention and long-poll deadlines; default
	// time.Now. With a custom clock the Sim cannot know when time moves, so long polls re-check only
	// when something happens to a queue or when Wake is called after moving the clock.
	Clock     func() time.Time
	AccountID string // default 123456789012; the first path segment of queue URLs
	Region    string // default us-east-1; appears in QueueARN
}

// Sim is a simulated SQS region. It is safe for concurrent use.
type Sim struct {
	clock     func() time.Time
	realClock bool // long polls may then arm timers for the moment a message shows up again
	accountID string
	region    string

	mu       sync.Mutex
	closed   bool
	queues   map[string]*queue
	ids      simid.Source
	requests simid.Source
	// changed is closed and replaced whenever a waiting receive might now succeed.
	changed chan struct{}
}

var _ http.Handler = (*Sim)(nil)

// New builds a Sim with no queues.
func New(o Options) *Sim {
	s := &Sim{
		clock:     o.Clock,
		accountID: o.AccountID,
		region:    o.Region,
		queues:    map[string]*queue{},
		requests:  simid.From(1 << 40),
		changed:   make(chan struct{}),
	}
	if s.clock == nil {
		s.clock, s.realClock = time.Now, true
	}
	if s.accountID == "" {
		s.accountID = "123456789012"
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	return s
}

// Close ends every pending long poll with no messages, and makes later receives return at once.
// The API keeps answering otherwise.
func (s *Sim) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.notify()
}

// Wake makes pending long polls look at the clock again; call it after moving a custom Clock.
func (s *Sim) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notify()
}

// notify must be called with s.mu held.
func (s *Sim) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// CreateQueue creates a queue from Go, as the CreateQueue action would, so a lab can have the queue
// ready before any client asks for its URL.
func (s *Sim) CreateQueue(name string, attributes map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.createQueue(name, attributes); err != nil {
		return fmt.Errorf("create queue %s: %w", name, err)
	}
	return nil
}

// Send puts body on the named queue, as SendMessage would; it suits an EventBridge rule's target.
func (s *Sim) Send(queueName, body string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[queueName]
	if !ok {
		return fmt.Errorf("send to queue %s: %w", queueName, queueDoesNotExist())
	}
	s.send(q, body, 0)
	return nil
}

// Messages counts the queue's messages that are not deleted, in flight or not; 0 for an unknown
// queue.
func (s *Sim) Messages(queueName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[queueName]
	if !ok {
		return 0
	}
	q.dropExpired(s.clock())
	return len(q.messages)
}

// QueueARN is the ARN of the named queue, as an EventBridge rule's target would name it.
func (s *Sim) QueueARN(queueName string) string {
	return "arn:aws:sqs:" + s.region + ":" + s.accountID + ":" + queueName
}

// Waiting counts the receives long-polling the queue right now, so tests can act while one waits.
func (s *Sim) Waiting(queueName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[queueName]; ok {
		return q.waiting
	}
	return 0
}

// createQueue must be called with s.mu held. It is idempotent for the same attributes.
func (s *Sim) createQueue(name string, attributes map[string]string) *awsjson.Error {
	if name == "" {
		return missingParameter("QueueName")
	}
	if q, ok := s.queues[name]; ok {
		if !q.sameAttributes(attributes) {
			return queueNameExists(name)
		}
		return nil
	}
	q, err := newQueue(name, attributes)
	if err != nil {
		return err
	}
	s.queues[name] = q
	return nil
}

// send must be called with s.mu held.
func (s *Sim) send(q *queue, body string, delay time.Duration) *message {
	now := s.clock()
	sum := md5.Sum([]byte(body))
	m := &message{id: s.ids.UUID(), body: body, md5: hex.EncodeToString(sum[:]), sentAt: now, visibleAt: now.Add(delay)}
	q.messages = append(q.messages, m)
	s.notify()
	return m
}
