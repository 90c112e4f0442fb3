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

	"github.com/nodewright/nodewright/lab/sqssim"
)

// The lab's clock is frozen, so a long poll can only end through what each test does.

func TestALongPollReturnsTheMessageSentDuringTheWait(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)
	done := l.startLongPoll(t, context.Background(), "interruption", url)

	id := l.send(t, url, "spot")

	r := pollOutcome(t, done)
	if r.err != nil {
		t.Fatalf("long poll: %v", r.err)
	}
	if len(r.out.Messages) != 1 || aws.ToString(r.out.Messages[0].MessageId) != id {
		t.Errorf("long poll returned %d messages, want the one sent while it waited (%s)", len(r.out.Messages), id)
	}
}

func TestALongPollWaitsItsFullTimeAndThenEndsEmpty(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)

	// One second short of the wait, the poll is still there to take a message.
	done := l.startLongPoll(t, context.Background(), "interruption", url)
	l.clock.advance(19 * time.Second)
	l.sim.Wake()
	l.send(t, url, "late")
	if r := pollOutcome(t, done); r.err != nil || len(r.out.Messages) != 1 {
		t.Fatalf("after 19 s the poll ended with %v and %d messages, want the late message", r.err, len(r.out.Messages))
	}

	// At twenty seconds it gives up with nothing.
	done = l.startLongPoll(t, context.Background(), "interruption", url)
	l.clock.advance(20 * time.Second)
	l.sim.Wake()
	if r := pollOutcome(t, done); r.err != nil || len(r.out.Messages) != 0 {
		t.Errorf("after 20 s the poll ended with %v and %d messages, want no error and none", r.err, len(r.out.Messages))
	}
}

func TestALongPollPicksUpAMessageWhoseVisibilityTimeoutRunsOutDuringTheWait(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)
	l.send(t, url, "spot")
	l.receiveOne(t, url, 10)
	done := l.startLongPoll(t, context.Background(), "interruption", url)

	l.clock.advance(10 * time.Second)
	l.sim.Wake()

	r := pollOutcome(t, done)
	if r.err != nil || len(r.out.Messages) != 1 {
		t.Fatalf("long poll ended with %v and %d messages, want the redelivered one", r.err, len(r.out.Messages))
	}
	if got := r.out.Messages[0].Attributes["ApproximateReceiveCount"]; got != "2" {
		t.Errorf("ApproximateReceiveCount is %q, want 2", got)
	}
}

func TestACancelledLongPollLeavesLaterMessagesForOthers(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := l.startLongPoll(t, ctx, "interruption", url)

	cancel()
	if r := pollOutcome(t, done); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled long poll returned %v, want context.Canceled", r.err)
	}
	eventually(t, "the cancelled poll to stop waiting", func() bool { return l.sim.Waiting("interruption") == 0 })

	l.send(t, url, "spot")
	m := l.receiveOne(t, url, 0)
	if got := m.Attributes["ApproximateReceiveCount"]; got != "1" {
		t.Errorf("the cancelled poll took the message (receive count %q, want 1)", got)
	}
}

func TestTheQueuesReceiveWaitTimeMakesPlainReceivesLongPoll(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", map[string]string{sqssim.AttrReceiveWaitTime: "20"})
	done := make(chan error, 1)
	go func() {
		_, err := l.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
		done <- err
	}()
	eventually(t, "the plain receive to wait", func() bool { return l.sim.Waiting("interruption") == 1 })
	l.send(t, url, "spot")
	if err := <-done; err != nil {
		t.Errorf("receive: %v", err)
	}
}

func TestClosingTheSimEndsPendingLongPolls(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", nil)
	done := l.startLongPoll(t, context.Background(), "interruption", url)
	l.sim.Close()
	if r := pollOutcome(t, done); r.err != nil || len(r.out.Messages) != 0 {
		t.Errorf("long poll ended with %v and %d messages, want no error and none", r.err, len(r.out.Messages))
	}
}

func TestServeEndsLongPollsWhenItsContextEnds(t *testing.T) {
	sim := sqssim.New(sqssim.Options{Clock: newFakeClock().Now})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	endpoint, err := sim.Serve(ctx, "")
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	l := &lab{sim: sim, client: clientFor(endpoint)}
	url := l.createQueue(t, "interruption", nil)
	done := l.startLongPoll(t, context.Background(), "interruption", url)
	stop()
	pollOutcome(t, done) // any outcome will do, as long as the poll does not outlive the server
}

// Many senders and pollers at once: under -race this checks the locking, and every message must be
// delivered exactly once while the visibility timeout is longer than the test.
func TestConcurrentSendersAndPollersDeliverEveryMessageOnce(t *testing.T) {
	l := newLab(t)
	url := l.createQueue(t, "interruption", map[string]string{sqssim.AttrVisibilityTimeout: "3600"})
	const senders, perSender, pollers = 4, 25, 4
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	for range pollers {
		wg.Go(func() {
			for ctx.Err() == nil {
				out, err := l.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 20})
				if err != nil {
					return
				}
				mu.Lock()
				for _, m := range out.Messages {
					seen[aws.ToString(m.MessageId)]++
				}
				mu.Unlock()
			}
		})
	}
	var sent sync.WaitGroup
	for range senders {
		sent.Go(func() {
			for range perSender {
				if _, err := l.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m")}); err != nil {
					t.Errorf("send: %v", err)
				}
			}
		})
	}
	sent.Wait()
	eventually(t, "every message to be received", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == senders*perSender
	})
	cancel()
	wg.Wait()
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s was delivered %d times", id, n)
		}
	}
}

// With the real clock nobody calls Wake: the poll must time its own re-check for the moment the
// hidden message shows up again (one second here).
func TestWithTheRealClockALongPollWakesForARedelivery(t *testing.T) {
	sim := sqssim.New(sqssim.Options{})
	t.Cleanup(sim.Close)
	server := httptest.NewServer(sim)
	t.Cleanup(server.Close)
	l := &lab{sim: sim, client: clientFor(server.URL)}
	url := l.createQueue(t, "interruption", nil)
	l.send(t, url, "spot")
	l.receiveOne(t, url, 1)

	out, err := l.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20, MaxNumberOfMessages: 10})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("long poll ended with %v and %d messages, want the redelivered message", err, len(out.Messages))
	}
}
