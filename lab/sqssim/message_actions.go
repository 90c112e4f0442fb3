package sqssim

import (
	"time"

	"github.com/nodewright/nodewright/lab/awsjson"
)

type sendMessageInput struct {
	QueueUrl          string
	MessageBody       string
	DelaySeconds      int
	MessageAttributes map[string]any
}

type sendMessageOutput struct {
	MD5OfMessageBody string
	MessageId        string
}

// sendMessage rejects message attributes rather than drop them: they are not simulated.
func (s *Sim) sendMessage(in sendMessageInput) (any, *awsjson.Error) {
	if in.MessageBody == "" {
		return nil, missingParameter("MessageBody")
	}
	if in.DelaySeconds < 0 || in.DelaySeconds > 900 {
		return nil, invalidParameter("Value %d for parameter DelaySeconds is invalid. Reason: must be from 0 to 900.", in.DelaySeconds)
	}
	if len(in.MessageAttributes) > 0 {
		return nil, invalidParameter("sqssim does not simulate message attributes.")
	}
	return s.withQueue(in.QueueUrl, func(q *queue) (any, *awsjson.Error) {
		m := s.send(q, in.MessageBody, time.Duration(in.DelaySeconds)*time.Second)
		return sendMessageOutput{MD5OfMessageBody: m.md5, MessageId: m.id}, nil
	})
}

type deleteMessageInput struct {
	QueueUrl      string
	ReceiptHandle string
}

// deleteMessage needs the handle of the message's latest receive. Deleting a message that is
// already gone succeeds, as in SQS.
func (s *Sim) deleteMessage(in deleteMessageInput) (any, *awsjson.Error) {
	return s.withQueue(in.QueueUrl, func(q *queue) (any, *awsjson.Error) {
		i, m, err := s.heldMessage(q, in.ReceiptHandle)
		if err != nil {
			return nil, err
		}
		if m != nil {
			q.messages = append(q.messages[:i], q.messages[i+1:]...)
		}
		return struct{}{}, nil
	})
}

type changeVisibilityInput struct {
	QueueUrl          string
	ReceiptHandle     string
	VisibilityTimeout *int
}

// changeMessageVisibility restarts the message's hidden time from now; 0 releases it at once.
func (s *Sim) changeMessageVisibility(in changeVisibilityInput) (any, *awsjson.Error) {
	visibility, apiErr := optionalSeconds("VisibilityTimeout", in.VisibilityTimeout, 43200)
	if apiErr != nil {
		return nil, apiErr
	}
	if visibility == nil {
		return nil, missingParameter("VisibilityTimeout")
	}
	return s.withQueue(in.QueueUrl, func(q *queue) (any, *awsjson.Error) {
		_, m, err := s.heldMessage(q, in.ReceiptHandle)
		if err != nil {
			return nil, err
		}
		now := s.clock()
		if m == nil || !m.visibleAt.After(now) {
			return nil, messageNotInflight()
		}
		m.visibleAt = now.Add(*visibility)
		s.notify()
		return struct{}{}, nil
	})
}

// heldMessage finds the message a receipt handle refers to, nil if it was deleted or expired. A
// handle from an earlier receive of a message received again since is invalid. It must be called
// with s.mu held.
func (s *Sim) heldMessage(q *queue, handle string) (int, *message, *awsjson.Error) {
	if handle == "" {
		return -1, nil, missingParameter("ReceiptHandle")
	}
	queueName, id, receive, ok := parseReceiptHandle(handle)
	if !ok || queueName != q.name {
		return -1, nil, receiptHandleIsInvalid(handle)
	}
	q.dropExpired(s.clock())
	i, m := q.find(id)
	if m != nil && m.receiveCount != receive {
		return -1, nil, receiptHandleIsInvalid(handle)
	}
	return i, m, nil
}
