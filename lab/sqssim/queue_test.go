package sqssim_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/nodewright/nodewright/lab/sqssim"
)

func TestCreatingAQueueTwiceGivesTheSameURLThatGetQueueUrlFinds(t *testing.T) {
	l := newLab(t)
	attrs := map[string]string{sqssim.AttrVisibilityTimeout: "20", sqssim.AttrMessageRetentionPeriod: "300"}
	first := l.createQueue(t, "interruption", attrs)
	second := l.createQueue(t, "interruption", attrs)
	if first != second {
		t.Errorf("creating the queue again gave URL %s, want the first one %s", second, first)
	}
	if !strings.HasSuffix(first, "/123456789012/interruption") {
		t.Errorf("queue URL %s does not end in /<account>/<name>", first)
	}
	out, err := l.client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("interruption")})
	if err != nil {
		t.Fatalf("get queue URL: %v", err)
	}
	if got := aws.ToString(out.QueueUrl); got != first {
		t.Errorf("GetQueueUrl answered %s, want %s", got, first)
	}
}

func TestCreatingAQueueAgainWithOtherAttributesFails(t *testing.T) {
	l := newLab(t)
	l.createQueue(t, "interruption", map[string]string{sqssim.AttrVisibilityTimeout: "20"})
	_, err := l.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{
		QueueName:  aws.String("interruption"),
		Attributes: map[string]string{sqssim.AttrVisibilityTimeout: "45"},
	})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) {
		t.Fatalf("re-creating with another visibility timeout returned %v, want QueueNameExists", err)
	}
	if code := errorCode(t, err); code != sqssim.CodeQueueAlreadyExists {
		t.Errorf("error code is %s, want %s", code, sqssim.CodeQueueAlreadyExists)
	}
}

func TestUnknownQueuesSurfaceAsTheSDKsQueueDoesNotExist(t *testing.T) {
	l := newLab(t)
	real := l.createQueue(t, "interruption", nil)
	calls := []struct {
		name string
		call func() error
	}{
		{"GetQueueUrl for a name never created", func() error {
			_, err := l.client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
			return err
		}},
		{"GetQueueUrl for another account's queue", func() error {
			_, err := l.client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("interruption"), QueueOwnerAWSAccountId: aws.String("999999999999")})
			return err
		}},
		{"SendMessage to an unknown URL", func() error {
			_, err := l.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(strings.Replace(real, "interruption", "missing", 1)), MessageBody: aws.String("x")})
			return err
		}},
		{"ReceiveMessage from an unknown URL", func() error {
			_, err := l.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(strings.Replace(real, "123456789012", "999999999999", 1))})
			return err
		}},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var missing *types.QueueDoesNotExist
			if !errors.As(err, &missing) {
				t.Fatalf("got %v (%T), want *types.QueueDoesNotExist", err, err)
			}
			if code := errorCode(t, err); code != sqssim.CodeNonExistentQueue {
				t.Errorf("error code is %s, want %s as real SQS reports it", code, sqssim.CodeNonExistentQueue)
			}
		})
	}
}

func TestASentMessageIsReceivedWithItsAttributesAndThenDeleted(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)
	out, err := l.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"detail-type":"x"}`)})
	if err != nil {
		t.Fatalf("send: %v", err) // the SDK also checks MD5OfMessageBody here
	}
	sum := md5.Sum([]byte(`{"detail-type":"x"}`))
	if aws.ToString(out.MessageId) == "" || aws.ToString(out.MD5OfMessageBody) != hex.EncodeToString(sum[:]) {
		t.Errorf("send answered id %q and MD5 %q, want an id and the body's hex MD5", aws.ToString(out.MessageId), aws.ToString(out.MD5OfMessageBody))
	}

	m := l.receiveOne(t, url, 0)
	if aws.ToString(m.Body) != `{"detail-type":"x"}` || aws.ToString(m.MessageId) != aws.ToString(out.MessageId) {
		t.Errorf("received %s %q, want %s with the sent body", aws.ToString(m.MessageId), aws.ToString(m.Body), aws.ToString(out.MessageId))
	}
	if aws.ToString(m.MD5OfBody) != aws.ToString(out.MD5OfMessageBody) {
		t.Errorf("MD5OfBody %s differs from the send's MD5OfMessageBody %s", aws.ToString(m.MD5OfBody), aws.ToString(out.MD5OfMessageBody))
	}
	wantSent := "1772600767000" // the fake clock's reading in epoch milliseconds
	if got := m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)]; got != wantSent {
		t.Errorf("SentTimestamp is %q, want %q", got, wantSent)
	}
	if got := m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]; got != "1" {
		t.Errorf("ApproximateReceiveCount is %q on the first receive, want 1", got)
	}

	if _, err := l.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if n := l.sim.Messages("interruption"); n != 0 {
		t.Errorf("queue holds %d messages after the delete, want 0", n)
	}
	l.clock.advance(time.Hour)
	if got := l.receive(t, url, 0); len(got) != 0 {
		t.Errorf("a deleted message came back: %v", aws.ToString(got[0].Body))
	}
}

func TestReceiveHandsOutAtMostMaxNumberOfMessages(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)
	for i := range 12 {
		l.send(t, url, strings.Repeat("m", i+1))
	}
	out, err := l.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 3})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if len(out.Messages) != 3 {
		t.Errorf("asked for 3 messages, got %d", len(out.Messages))
	}
	if got := l.receive(t, url, 0); len(got) != 9 {
		t.Errorf("asked for 10 with 9 left visible, got %d", len(got))
	}
}

func TestAnUnansweredMessageComesBackAfterItsVisibilityTimeout(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)
	id := l.send(t, url, "spot")

	first := l.receiveOne(t, url, 30)
	if got := l.receive(t, url, 0); len(got) != 0 {
		t.Fatalf("an in-flight message was handed out again")
	}
	l.clock.advance(29 * time.Second)
	if got := l.receive(t, url, 0); len(got) != 0 {
		t.Fatalf("the message came back before its visibility timeout ran out")
	}
	l.clock.advance(time.Second)
	second := l.receiveOne(t, url, 30)

	if aws.ToString(second.MessageId) != id {
		t.Errorf("redelivered %s, want %s", aws.ToString(second.MessageId), id)
	}
	if got := second.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]; got != "2" {
		t.Errorf("ApproximateReceiveCount is %q on redelivery, want 2", got)
	}
	if aws.ToString(second.ReceiptHandle) == aws.ToString(first.ReceiptHandle) {
		t.Errorf("redelivery reused the first receipt handle")
	}

	_, err := l.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first.ReceiptHandle})
	var invalid *types.ReceiptHandleIsInvalid
	if !errors.As(err, &invalid) {
		t.Fatalf("deleting with the stale handle returned %v, want *types.ReceiptHandleIsInvalid", err)
	}
	if l.sim.Messages("interruption") != 1 {
		t.Fatalf("the stale handle deleted the message")
	}
	if _, err := l.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: second.ReceiptHandle}); err != nil {
		t.Fatalf("delete with the current handle: %v", err)
	}
	if n := l.sim.Messages("interruption"); n != 0 {
		t.Errorf("queue holds %d messages, want 0", n)
	}
}

func TestTheQueuesVisibilityTimeoutAppliesWhenTheReceiveNamesNone(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", map[string]string{sqssim.AttrVisibilityTimeout: "5"})
	l.send(t, url, "spot")
	l.receiveOne(t, url, 0)
	l.clock.advance(5 * time.Second)
	if got := l.receive(t, url, 0); len(got) != 1 {
		t.Errorf("after the queue's 5 s visibility timeout %d messages came back, want 1", len(got))
	}
}

func TestChangingVisibilityToZeroReleasesTheMessageAtOnce(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)
	l.send(t, url, "spot")
	m := l.receiveOne(t, url, 300)
	if _, err := l.client.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatalf("change visibility: %v", err)
	}
	again := l.receiveOne(t, url, 300)

	// The first handle is stale now, and the message is in flight under the second one.
	_, err := l.client.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 10})
	if code := errorCode(t, err); code != sqssim.CodeReceiptHandleIsInvalid {
		t.Errorf("changing visibility with a stale handle gave %s, want %s", code, sqssim.CodeReceiptHandleIsInvalid)
	}
	l.clock.advance(300 * time.Second)
	_, err = l.client.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: again.ReceiptHandle, VisibilityTimeout: 10})
	var notInFlight *types.MessageNotInflight
	if !errors.As(err, &notInFlight) {
		t.Errorf("changing visibility of a visible message returned %v, want *types.MessageNotInflight", err)
	}
}

func TestMessagesOlderThanTheRetentionPeriodAreDropped(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", map[string]string{sqssim.AttrMessageRetentionPeriod: "60"})
	l.send(t, url, "old")
	l.clock.advance(30 * time.Second)
	l.send(t, url, "new")
	l.clock.advance(30 * time.Second)
	got := l.receive(t, url, 0)
	if len(got) != 1 || aws.ToString(got[0].Body) != "new" {
		t.Errorf("after 60 s the queue handed out %d messages, want only the newer one", len(got))
	}
}

func TestBadRequestsAreRejectedWithSQSCodes(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"more than 10 messages asked for", func() error {
			_, err := l.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 11})
			return err
		}, sqssim.CodeInvalidParameterValue},
		{"a wait over 20 seconds", func() error {
			_, err := l.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 21})
			return err
		}, sqssim.CodeInvalidParameterValue},
		{"a visibility timeout that is not a number", func() error {
			_, err := l.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("other"), Attributes: map[string]string{sqssim.AttrVisibilityTimeout: "soon"}})
			return err
		}, sqssim.CodeInvalidAttributeValue},
		{"a receipt handle that was never issued", func() error {
			_, err := l.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("made-up")})
			return err
		}, sqssim.CodeReceiptHandleIsInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code := errorCode(t, tc.call()); code != tc.want {
				t.Errorf("error code is %s, want %s", code, tc.want)
			}
		})
	}
}

func TestPurgeDeletesVisibleAndInFlightMessages(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)
	for range 3 {
		l.send(t, url, "m")
	}
	if _, err := l.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatalf("receive one message: %v", err)
	}
	if n := l.sim.Messages("interruption"); n != 3 {
		t.Fatalf("queue holds %d messages, want 3 with one in flight", n)
	}
	if _, err := l.client.PurgeQueue(context.Background(), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatalf("purge: %v", err)
	}
	if n := l.sim.Messages("interruption"); n != 0 {
		t.Errorf("queue holds %d messages after the purge, want 0", n)
	}
}

func TestGoHelpersCreateAndFeedQueues(t *testing.T) {
	l := newLab(t)
	if err := l.sim.Send("missing", "x"); err == nil {
		t.Errorf("sending to a queue that does not exist succeeded")
	}
	if err := l.sim.CreateQueue("interruption", map[string]string{sqssim.AttrVisibilityTimeout: "20"}); err != nil {
		t.Fatalf("create queue: %v", err)
	}
	if err := l.sim.Send("interruption", "from go"); err != nil {
		t.Fatalf("send: %v", err)
	}
	url := l.createQueue(t, "interruption", map[string]string{sqssim.AttrVisibilityTimeout: "20"})
	if m := l.receiveOne(t, url, 0); aws.ToString(m.Body) != "from go" {
		t.Errorf("received %q, want the message sent from Go", aws.ToString(m.Body))
	}
}
