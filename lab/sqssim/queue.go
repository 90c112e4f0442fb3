package sqssim

import (
	"encoding/base64"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/nodewright/nodewright/lab/awsjson"
)

// Queue attributes the simulator acts on, with SQS's defaults and bounds in seconds.
const (
	AttrVisibilityTimeout      = "VisibilityTimeout"
	AttrMessageRetentionPeriod = "MessageRetentionPeriod"
	AttrReceiveWaitTime        = "ReceiveMessageWaitTimeSeconds"
)

func attributeBounds(name string) (defaultSeconds, lo, hi int) {
	switch name {
	case AttrVisibilityTimeout:
		return 30, 0, 43200
	case AttrMessageRetentionPeriod:
		return 345600, 60, 1209600
	}
	return 0, 0, 20 // AttrReceiveWaitTime
}

// queue is one standard queue. Messages are kept in send order, which is also the order receives
// hand them out; real standard queues only try to keep that order.
type queue struct {
	name       string
	attributes map[string]string // as created, defaults filled in, for CreateQueue's idempotency
	visibility time.Duration
	retention  time.Duration
	wait       time.Duration // default long-poll wait
	messages   []*message
	waiting    int // long polls in progress
}

type message struct {
	id              string
	body            string
	md5             string
	sentAt          time.Time
	visibleAt       time.Time // in flight or delayed while this is after now
	receiveCount    int
	firstReceivedAt time.Time
}

func newQueue(name string, attributes map[string]string) (*queue, *awsjson.Error) {
	q := &queue{name: name, attributes: maps.Clone(attributes)}
	if q.attributes == nil {
		q.attributes = map[string]string{}
	}
	for _, attr := range []struct {
		name string
		to   *time.Duration
	}{{AttrVisibilityTimeout, &q.visibility}, {AttrMessageRetentionPeriod, &q.retention}, {AttrReceiveWaitTime, &q.wait}} {
		seconds, lo, hi := attributeBounds(attr.name)
		if raw, ok := attributes[attr.name]; ok {
			n, err := strconv.Atoi(raw)
			if err != nil || n < lo || n > hi {
				return nil, invalidAttributeValue("Invalid value for the parameter %s: %q is not an integer from %d to %d.", attr.name, raw, lo, hi)
			}
			seconds = n
		}
		q.attributes[attr.name] = strconv.Itoa(seconds)
		*attr.to = time.Duration(seconds) * time.Second
	}
	return q, nil
}

// sameAttributes reports whether a repeated CreateQueue asks for nothing the queue does not have.
func (q *queue) sameAttributes(attributes map[string]string) bool {
	for name, value := range attributes {
		if current, ok := q.attributes[name]; !ok || current != value {
			return false
		}
	}
	return true
}

// dropExpired forgets messages older than the retention period, as SQS does.
func (q *queue) dropExpired(now time.Time) {
	kept := q.messages[:0]
	for _, m := range q.messages {
		if now.Before(m.sentAt.Add(q.retention)) {
			kept = append(kept, m)
		}
	}
	clear(q.messages[len(kept):])
	q.messages = kept
}

// receive hides up to max visible messages for visibility and returns them.
func (q *queue) receive(now time.Time, max int, visibility time.Duration) []*message {
	q.dropExpired(now)
	var out []*message
	for _, m := range q.messages {
		if len(out) == max {
			break
		}
		if m.visibleAt.After(now) {
			continue
		}
		m.receiveCount++
		if m.receiveCount == 1 {
			m.firstReceivedAt = now
		}
		m.visibleAt = now.Add(visibility)
		out = append(out, m)
	}
	return out
}

// nextVisible is the earliest moment after now at which a hidden message shows up again.
func (q *queue) nextVisible(now time.Time) (time.Time, bool) {
	var next time.Time
	for _, m := range q.messages {
		if m.visibleAt.After(now) && (next.IsZero() || m.visibleAt.Before(next)) {
			next = m.visibleAt
		}
	}
	return next, !next.IsZero()
}

func (q *queue) find(id string) (int, *message) {
	for i, m := range q.messages {
		if m.id == id {
			return i, m
		}
	}
	return -1, nil
}

// A receipt handle names the queue, the message and which receive issued it, so a handle from an
// earlier receive can be told apart from the current one.
func receiptHandle(queue, messageID string, receive int) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s\n%s\n%d", queue, messageID, receive))
}

func parseReceiptHandle(handle string) (queue, messageID string, receive int, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(handle)
	if err != nil {
		return "", "", 0, false
	}
	parts := strings.Split(string(raw), "\n")
	if len(parts) != 3 {
		return "", "", 0, false
	}
	receive, err = strconv.Atoi(parts[2])
	return parts[0], parts[1], receive, err == nil && receive > 0
}
