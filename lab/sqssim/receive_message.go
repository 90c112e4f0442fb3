package sqssim

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/nodewright/nodewright/lab/awsjson"
)

type receiveMessageInput struct {
	QueueUrl                    string
	MaxNumberOfMessages         *int
	WaitTimeSeconds             *int
	VisibilityTimeout           *int
	AttributeNames              []string // the deprecated spelling of MessageSystemAttributeNames
	MessageSystemAttributeNames []string
}

type receiveMessageOutput struct {
	Messages []receivedMessage `json:",omitempty"`
}

type receivedMessage struct {
	MessageId     string
	ReceiptHandle string
	MD5OfBody     string
	Body          string
	Attributes    map[string]string `json:",omitempty"`
}

// receiveRequest is a validated ReceiveMessage.
type receiveRequest struct {
	max        int
	wait       *time.Duration // nil: the queue's ReceiveMessageWaitTimeSeconds
	visibility *time.Duration // nil: the queue's VisibilityTimeout
	attributes []string
}

func parseReceive(in receiveMessageInput) (receiveRequest, *awsjson.Error) {
	req := receiveRequest{max: 1, attributes: append(slices.Clone(in.AttributeNames), in.MessageSystemAttributeNames...)}
	if n := in.MaxNumberOfMessages; n != nil {
		if *n < 1 || *n > 10 {
			return req, invalidParameter("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", *n)
		}
		req.max = *n
	}
	var err *awsjson.Error
	if req.wait, err = optionalSeconds("WaitTimeSeconds", in.WaitTimeSeconds, 20); err != nil {
		return req, err
	}
	req.visibility, err = optionalSeconds("VisibilityTimeout", in.VisibilityTimeout, 43200)
	return req, err
}

// optionalSeconds checks a parameter that may be left out against 0..max seconds.
func optionalSeconds(name string, seconds *int, max int) (*time.Duration, *awsjson.Error) {
	if seconds == nil {
		return nil, nil
	}
	if *seconds < 0 || *seconds > max {
		return nil, invalidParameter("Value %d for parameter %s is invalid. Reason: must be from 0 to %d.", *seconds, name, max)
	}
	d := time.Duration(*seconds) * time.Second
	return &d, nil
}

// receiveMessage long-polls: it returns as soon as at least one message is visible, when the wait
// runs out, when the caller goes away or when the Sim closes.
func (s *Sim) receiveMessage(ctx context.Context, in receiveMessageInput) (any, *awsjson.Error) {
	req, apiErr := parseReceive(in)
	if apiErr != nil {
		return nil, apiErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, apiErr := s.queueAt(in.QueueUrl)
	if apiErr != nil {
		return nil, apiErr
	}
	wait, visibility := q.wait, q.visibility
	if req.wait != nil {
		wait = *req.wait
	}
	if req.visibility != nil {
		visibility = *req.visibility
	}
	deadline := s.clock().Add(wait)
	for {
		now := s.clock()
		// A caller that has gone must not take messages: they would stay hidden for nothing.
		if ctx.Err() != nil {
			return receiveMessageOutput{}, nil
		}
		if got := q.receive(now, req.max, visibility); len(got) > 0 || !now.Before(deadline) || s.closed {
			return s.received(q, got, req.attributes), nil
		}
		if !s.await(ctx, q, now, deadline) {
			return receiveMessageOutput{}, nil
		}
	}
}

// await releases s.mu until something may have changed and reports whether the caller is still
// there. With the real clock it also wakes for the wait's end and for the next message to show
// up again; with a custom clock those moments come through Wake.
func (s *Sim) await(ctx context.Context, q *queue, now, deadline time.Time) bool {
	changed := s.changed
	var timeout <-chan time.Time
	if s.realClock {
		next := deadline
		if visible, ok := q.nextVisible(now); ok && visible.Before(next) {
			next = visible
		}
		timer := time.NewTimer(next.Sub(now))
		defer timer.Stop()
		timeout = timer.C
	}
	q.waiting++
	s.mu.Unlock()
	present := true
	select {
	case <-changed:
	case <-timeout:
	case <-ctx.Done():
		present = false
	}
	s.mu.Lock()
	q.waiting--
	return present
}

// received renders messages with the system attributes asked for. It must be called with s.mu held.
func (s *Sim) received(q *queue, got []*message, attributes []string) receiveMessageOutput {
	out := receiveMessageOutput{}
	for _, m := range got {
		rm := receivedMessage{
			MessageId:     m.id,
			ReceiptHandle: receiptHandle(q.name, m.id, m.receiveCount),
			MD5OfBody:     m.md5,
			Body:          m.body,
		}
		all := map[string]string{
			"SenderId":                         s.accountID,
			"SentTimestamp":                    millis(m.sentAt),
			"ApproximateReceiveCount":          strconv.Itoa(m.receiveCount),
			"ApproximateFirstReceiveTimestamp": millis(m.firstReceivedAt),
		}
		for _, name := range attributes {
			if name == "All" {
				rm.Attributes = all
				break
			}
			if value, ok := all[name]; ok {
				if rm.Attributes == nil {
					rm.Attributes = map[string]string{}
				}
				rm.Attributes[name] = value
			}
		}
		out.Messages = append(out.Messages, rm)
	}
	return out
}

func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
