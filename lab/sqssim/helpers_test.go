package sqssim_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/nodewright/nodewright/lab/localhttp"
	"github.com/nodewright/nodewright/lab/sqssim"
)

// fakeClock is a settable clock; the Sim reads it, the test moves it and then calls Wake.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// lab is a Sim on a frozen fake clock, its HTTP server and a real SDK client aimed at it.
type lab struct {
	sim    *sqssim.Sim
	clock  *fakeClock
	client *sqs.Client
}

func newLab(t *testing.T) *lab {
	t.Helper()
	clock := newFakeClock()
	sim := sqssim.New(sqssim.Options{Clock: clock.Now})
	server := httptest.NewServer(sim)
	// Cleanups run last-in first-out: Close ends any stuck long poll before the server waits for it.
	t.Cleanup(server.Close)
	t.Cleanup(sim.Close)
	return &lab{sim: sim, clock: clock, client: clientFor(server.URL)}
}

// clientFor is the real SDK client, without retries so every error reaches the test.
func clientFor(url string) *sqs.Client {
	return sqs.NewFromConfig(localhttp.SDKConfig("us-east-1", url))
}

// createQueue creates a queue through the SDK and returns its URL.
func (l *lab) createQueue(t *testing.T, name string, attributes map[string]string) string {
	t.Helper()
	out, err := l.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attributes})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

func (l *lab) send(t *testing.T, url, body string) string {
	t.Helper()
	out, err := l.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("send %q to %s: %v", body, url, err)
	}
	return aws.ToString(out.MessageId)
}

// receive asks for up to 10 messages without waiting, with every system attribute.
func (l *lab) receive(t *testing.T, url string, visibility int32) []types.Message {
	t.Helper()
	out, err := l.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         10,
		WaitTimeSeconds:             0,
		VisibilityTimeout:           visibility,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("receive from %s: %v", url, err)
	}
	return out.Messages
}

// receiveOne fails unless exactly one message came back.
func (l *lab) receiveOne(t *testing.T, url string, visibility int32) types.Message {
	t.Helper()
	got := l.receive(t, url, visibility)
	if len(got) != 1 {
		t.Fatalf("receive from %s returned %d messages, want 1", url, len(got))
	}
	return got[0]
}

type pollResult struct {
	out *sqs.ReceiveMessageOutput
	err error
}

// startLongPoll starts a 20-second receive and returns once the Sim reports it waiting.
func (l *lab) startLongPoll(t *testing.T, ctx context.Context, queue, url string) <-chan pollResult {
	t.Helper()
	done := make(chan pollResult, 1)
	go func() {
		out, err := l.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             20,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		done <- pollResult{out, err}
	}()
	eventually(t, "the long poll on "+queue+" to start waiting", func() bool { return l.sim.Waiting(queue) == 1 })
	return done
}

// pollOutcome waits for a long poll to finish; the deadline only stops a broken sim hanging the test.
func pollOutcome(t *testing.T, done <-chan pollResult) pollResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the long poll never returned")
	}
	return pollResult{}
}

// eventually waits for cond; the deadline only stops a broken sim hanging the test.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// errorCode is the code the SDK surfaced, failing if err is not an API error.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an SQS API error, got %v", err)
	}
	return apiErr.ErrorCode()
}
