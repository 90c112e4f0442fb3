package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.temporal.io/sdk/activity"

	"github.com/nodewright/nodewright/activities/interruption"
)

// SQSAPI is the part of *sqs.Client the interruption activities use.
type SQSAPI interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, opts ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// Long-poll settings, as Karpenter's interruption controller uses them.
const (
	sqsWaitSeconds = 20
	sqsMaxMessages = 10
	// sqsVisibility hides a received message while the workflow handles it; an unhandled
	// one comes back.
	sqsVisibility = 60
)

// Interruptions reads EC2 interruption events from the SQS queue EventBridge feeds.
type Interruptions struct {
	API SQSAPI
	// Metrics counts the messages received and deleted; nil records nothing.
	Metrics *Metrics
}

// InterruptionMessage is one received message, parsed. Error is set (and the rest empty)
// for messages that cannot be used; those are deleted too.
type InterruptionMessage struct {
	ReceiptHandle string    `json:"receiptHandle"`
	MessageID     string    `json:"messageId"`
	Kind          string    `json:"kind,omitempty"`
	InstanceIDs   []string  `json:"instanceIds,omitempty"`
	EventTime     time.Time `json:"eventTime,omitzero"`
	Deadline      time.Time `json:"deadline,omitzero"`
	// State is the instance state a StateChange reports (stopping, shutting-down, ...).
	State string `json:"state,omitempty"`
	// Error is "malformed: …" or "unsupported: …".
	Error string `json:"error,omitempty"`
}

// ReceiveInterruptions long-polls the queue once (20 s, up to 10 messages).
func (s *Interruptions) ReceiveInterruptions(ctx context.Context, queue string) ([]InterruptionMessage, error) {
	url, err := s.queueURL(ctx, queue)
	if err != nil {
		return nil, err
	}
	activity.RecordHeartbeat(ctx, "polling "+queue)
	out, err := s.API.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: sqsMaxMessages,
		WaitTimeSeconds: sqsWaitSeconds, VisibilityTimeout: sqsVisibility,
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", queue, err)
	}
	msgs := make([]InterruptionMessage, 0, len(out.Messages))
	for _, m := range out.Messages {
		msg, msgType := parseSQSMessage(aws.ToString(m.ReceiptHandle), aws.ToString(m.MessageId), aws.ToString(m.Body))
		s.Metrics.received(msgType, msg.EventTime)
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

// parseSQSMessage also returns Karpenter's message type for the received-messages metric:
// an unsupported event is a no-op to Karpenter, a malformed one is not counted.
func parseSQSMessage(handle, id, body string) (InterruptionMessage, string) {
	msg := InterruptionMessage{ReceiptHandle: handle, MessageID: id}
	parsed, err := interruption.Parse(body)
	switch {
	case interruption.IsMalformed(err):
		msg.Error = "malformed: " + err.Error()
	case interruption.IsUnsupported(err):
		msg.Error = "unsupported: " + err.Error()
		return msg, messageType(interruption.Message{Kind: interruption.NoOp})
	case err != nil:
		msg.Error = err.Error()
	default:
		msg.Kind, msg.InstanceIDs = string(parsed.Kind), parsed.InstanceIDs
		msg.EventTime, msg.Deadline, msg.State = parsed.EventTime, parsed.Deadline, parsed.State
		return msg, messageType(parsed)
	}
	return msg, ""
}

// DeleteInterruption removes a handled message from the queue.
func (s *Interruptions) DeleteInterruption(ctx context.Context, queue, receiptHandle string) error {
	url, err := s.queueURL(ctx, queue)
	if err != nil {
		return err
	}
	if _, err := s.API.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String(receiptHandle)}); err != nil {
		return fmt.Errorf("delete message from %s: %w", queue, err)
	}
	s.Metrics.deleted()
	return nil
}

func (s *Interruptions) queueURL(ctx context.Context, queue string) (string, error) {
	if strings.HasPrefix(queue, "http://") || strings.HasPrefix(queue, "https://") {
		return queue, nil
	}
	out, err := s.API.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
	if err != nil {
		return "", fmt.Errorf("interruption queue %q: %w (check --interruption-queue)", queue, err)
	}
	if out.QueueUrl == nil {
		return "", errors.New("interruption queue " + queue + ": no URL returned")
	}
	return *out.QueueUrl, nil
}
