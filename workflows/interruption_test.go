package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/activities/interruption"
)

const testQueue = "nodewright-interruptions"

// longPoll is how long each scripted receive takes, as an empty SQS long poll does.
const longPoll = 20 * time.Second

// interruptionRun drives the interruption controller with scripted queue contents and
// records, in order, what it looked up, signalled and deleted.
type interruptionRun struct {
	env   *testsuite.TestWorkflowEnvironment
	start time.Time
	sqs   *activities.Interruptions
	nodes *activities.Nodes
	// owners answers FindNodeWorkflow by instance id; missing ids are not ours.
	owners map[string]activities.NodeWorkflow
	// findErrs fails FindNodeWorkflow for an instance id; deleteErr, when set, every delete.
	findErrs  map[string]error
	deleteErr error
	// findTakes is how long each FindNodeWorkflow takes.
	findTakes time.Duration

	mu sync.Mutex // mocks may run on other goroutines
	// receives are when each poll started.
	receives []time.Duration
	// events are "find <instance>", "signal <name> <workflow id>" and "delete <handle>".
	events  []string
	signals []sentSignal
}

func newInterruptionRun(t *testing.T) *interruptionRun {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	r := &interruptionRun{env: suite.NewTestWorkflowEnvironment(), owners: map[string]activities.NodeWorkflow{}, findErrs: map[string]error{}}
	r.start = r.env.Now()
	r.env.RegisterWorkflow(InterruptionWorkflow)
	// A mock's Return runs at the end of its After; a poll's start is seen here.
	r.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "ReceiveInterruptions" {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.receives = append(r.receives, r.since())
		}
	})
	return r
}

func (r *interruptionRun) since() time.Duration { return r.env.Now().Sub(r.start) }

func (r *interruptionRun) record(event string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event)
}

// delivers scripts the next receive: one long poll that returns msgs.
func (r *interruptionRun) delivers(msgs ...activities.InterruptionMessage) {
	r.env.OnActivity(r.sqs.ReceiveInterruptions, mock.Anything, testQueue).After(longPoll).Return(
		func(context.Context, string) ([]activities.InterruptionMessage, error) {
			return msgs, nil
		}).Once()
}

// deliversAtOnce scripts the next receive to return msgs without waiting, as SQS answers
// when messages are there.
func (r *interruptionRun) deliversAtOnce(msgs ...activities.InterruptionMessage) {
	r.env.OnActivity(r.sqs.ReceiveInterruptions, mock.Anything, testQueue).Return(
		func(context.Context, string) ([]activities.InterruptionMessage, error) {
			return msgs, nil
		}).Once()
}

// receiveFails scripts the next receive to fail at once with err.
func (r *interruptionRun) receiveFails(err error) {
	r.env.OnActivity(r.sqs.ReceiveInterruptions, mock.Anything, testQueue).Return(
		func(context.Context, string) ([]activities.InterruptionMessage, error) {
			return nil, err
		}).Once()
}

// execute mocks the rest (an empty queue once the script is used up) and runs the
// controller to its end.
func (r *interruptionRun) execute(in InterruptionInput) {
	r.env.OnActivity(r.sqs.ReceiveInterruptions, mock.Anything, testQueue).After(longPoll).Return(
		func(context.Context, string) ([]activities.InterruptionMessage, error) {
			return nil, nil
		})
	r.env.OnActivity(r.nodes.FindNodeWorkflow, mock.Anything, mock.Anything).After(r.findTakes).Return(
		func(_ context.Context, instance string) (activities.NodeWorkflow, error) {
			r.record("find " + instance)
			return r.owners[instance], r.findErrs[instance]
		})
	r.env.OnActivity(r.sqs.DeleteInterruption, mock.Anything, testQueue, mock.Anything).Return(
		func(_ context.Context, _, handle string) error {
			r.record("delete " + handle)
			return r.deleteErr
		})
	recordSignals(r.env, r.start, func(s sentSignal) {
		r.record("signal " + s.name + " " + s.workflowID)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.signals = append(r.signals, s)
	})
	r.env.ExecuteWorkflow(InterruptionWorkflow, in)
}

// run executes the controller until it is cancelled at end and returns its state then.
func (r *interruptionRun) run(t *testing.T, end time.Duration) InterruptionState {
	t.Helper()
	var st InterruptionState
	r.env.RegisterDelayedCallback(func() {
		st = queryStateAs[InterruptionState](t, r.env)
		r.env.CancelWorkflow()
	}, end)
	r.execute(InterruptionInput{Queue: testQueue})
	if !r.env.IsWorkflowCompleted() {
		t.Fatal("interruption controller did not finish")
	}
	return st
}

var (
	eventTime    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	spotDeadline = eventTime.Add(interruption.SpotNotice)
)

// ourSpotNode is the node workflow that owns instance i-0abc.
var ourSpotNode = activities.NodeWorkflow{WorkflowID: NodeWorkflowID(testClaim), InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot"}

func spotInterruption(handle, instance string) activities.InterruptionMessage {
	return activities.InterruptionMessage{
		ReceiptHandle: handle, MessageID: "msg-" + handle, Kind: string(interruption.SpotInterruption),
		InstanceIDs: []string{instance}, EventTime: eventTime, Deadline: spotDeadline,
	}
}

func TestInterruptionNeedsAQueue(t *testing.T) {
	r := newInterruptionRun(t)
	r.execute(InterruptionInput{})
	err := r.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "needs a queue name") {
		t.Errorf("workflow ended with %v, want an error asking for a queue name", err)
	}
	if len(r.receives) != 0 {
		t.Errorf("polled %d times without a queue, want never", len(r.receives))
	}
}

func TestInterruptionOfASpotNode(t *testing.T) {
	r := newInterruptionRun(t)
	r.owners["i-0abc"] = ourSpotNode
	r.delivers(spotInterruption("h1", "i-0abc"))
	st := r.run(t, 30*time.Second)

	wantEvents := []string{
		"find i-0abc",
		"signal " + SignalInterrupt + " " + NodeWorkflowID(testClaim),
		"signal " + SignalOfferingUnavailable + " " + ProvisionerID,
		"delete h1",
	}
	if !slices.Equal(r.events, wantEvents) {
		t.Errorf("events %v, want %v", r.events, wantEvents)
	}
	if len(r.signals) != 2 {
		t.Fatalf("signals %+v, want interrupt and offering-unavailable", r.signals)
	}
	if in, ok := r.signals[0].arg.(Interrupt); !ok || in.Kind != string(interruption.SpotInterruption) ||
		!in.EventTime.Equal(eventTime) || !in.Deadline.Equal(spotDeadline) || r.signals[0].at != longPoll {
		t.Errorf("interrupt signal %+v at %s, want kind SpotInterruption, the event's time and deadline, at %s", r.signals[0].arg, r.signals[0].at, longPoll)
	}
	wantOffering := OfferingUnavailable{
		Offering: activities.Offering{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot"},
		Reason:   "spot interruption of i-0abc",
	}
	if got, ok := r.signals[1].arg.(OfferingUnavailable); !ok || got.Offering != wantOffering.Offering || got.Reason != wantOffering.Reason {
		t.Errorf("offering-unavailable %+v, want %+v", r.signals[1].arg, wantOffering)
	}
	if want := (InterruptionState{Received: 1, Signalled: 1}); st != want {
		t.Errorf("state %+v, want %+v", st, want)
	}
}

func TestInterruptionOfAStoppingInstanceCarriesItsState(t *testing.T) {
	r := newInterruptionRun(t)
	r.owners["i-0abc"] = ourSpotNode
	r.delivers(activities.InterruptionMessage{ReceiptHandle: "h1", MessageID: "msg-h1", Kind: string(interruption.StateChange),
		InstanceIDs: []string{"i-0abc"}, EventTime: eventTime, State: "stopping"})
	r.run(t, 30*time.Second)

	// Only a spot interruption tells the provisioner the offering is gone.
	if len(r.signals) != 1 {
		t.Fatalf("signals %+v, want the interrupt alone", r.signals)
	}
	if in, ok := r.signals[0].arg.(Interrupt); !ok || in.Kind != string(interruption.StateChange) || in.State != "stopping" {
		t.Errorf("interrupt signal %+v, want kind StateChange with state stopping", r.signals[0].arg)
	}
}

func TestInterruptionMessagesThatNeedNoSignal(t *testing.T) {
	tests := []struct {
		name       string
		msg        activities.InterruptionMessage
		wantEvents []string
		want       InterruptionState
	}{
		{
			name:       "an instance that is not ours is counted and its message deleted",
			msg:        spotInterruption("h1", "i-0other"),
			wantEvents: []string{"find i-0other", "delete h1"},
			want:       InterruptionState{Received: 1, NotOurs: 1},
		},
		{
			name:       "a malformed message is counted and deleted",
			msg:        activities.InterruptionMessage{ReceiptHandle: "h1", MessageID: "m1", Error: "malformed: invalid character 'x'"},
			wantEvents: []string{"delete h1"},
			want:       InterruptionState{Received: 1, Malformed: 1},
		},
		{
			name:       "an unsupported message is counted and deleted",
			msg:        activities.InterruptionMessage{ReceiptHandle: "h1", MessageID: "m1", Error: "unsupported: detail-type EC2 AMI State Change"},
			wantEvents: []string{"delete h1"},
			want:       InterruptionState{Received: 1, Unsupported: 1},
		},
		{
			name: "a rebalance recommendation is recorded and deleted",
			msg: activities.InterruptionMessage{ReceiptHandle: "h1", MessageID: "m1", Kind: string(interruption.RebalanceRecommendation),
				InstanceIDs: []string{"i-0abc"}, EventTime: eventTime},
			wantEvents: []string{"delete h1"},
			want:       InterruptionState{Received: 1, Recorded: 1},
		},
		{
			name:       "a message that needs nothing is recorded and deleted",
			msg:        activities.InterruptionMessage{ReceiptHandle: "h1", MessageID: "m1", Kind: string(interruption.NoOp), EventTime: eventTime},
			wantEvents: []string{"delete h1"},
			want:       InterruptionState{Received: 1, Recorded: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newInterruptionRun(t)
			r.owners["i-0abc"] = ourSpotNode
			r.delivers(tt.msg)
			st := r.run(t, 30*time.Second)
			if !slices.Equal(r.events, tt.wantEvents) {
				t.Errorf("events %v, want %v", r.events, tt.wantEvents)
			}
			if st != tt.want {
				t.Errorf("state %+v, want %+v", st, tt.want)
			}
		})
	}
}

func TestInterruptionOfAScheduledChangeSignalsEveryNode(t *testing.T) {
	r := newInterruptionRun(t)
	r.owners["i-0abc"] = ourSpotNode
	r.owners["i-0def"] = activities.NodeWorkflow{WorkflowID: NodeWorkflowID("default-fghij"), InstanceType: "m5.large", Zone: "us-east-1b", CapacityType: "on-demand"}
	start := eventTime.Add(72 * time.Hour)
	r.delivers(activities.InterruptionMessage{
		ReceiptHandle: "h1", MessageID: "m1", Kind: string(interruption.ScheduledChange),
		InstanceIDs: []string{"i-0abc", "i-0def"}, EventTime: eventTime, Deadline: start,
	})
	st := r.run(t, 30*time.Second)

	wantEvents := []string{
		"find i-0abc", "signal " + SignalInterrupt + " " + NodeWorkflowID(testClaim),
		"find i-0def", "signal " + SignalInterrupt + " " + NodeWorkflowID("default-fghij"),
		"delete h1",
	}
	if !slices.Equal(r.events, wantEvents) {
		t.Errorf("events %v, want %v: no offering-unavailable for a scheduled change", r.events, wantEvents)
	}
	for _, s := range r.signals {
		if in, ok := s.arg.(Interrupt); !ok || in.Kind != string(interruption.ScheduledChange) || !in.EventTime.Equal(eventTime) || !in.Deadline.Equal(start) {
			t.Errorf("signal to %s: %+v, want a ScheduledChange interrupt with the change's start as deadline", s.workflowID, s.arg)
		}
	}
	if want := (InterruptionState{Received: 1, Signalled: 2}); st != want {
		t.Errorf("state %+v, want %+v", st, want)
	}
}

func TestInterruptionKeepsAMessageWithOneNodeUnreached(t *testing.T) {
	r := newInterruptionRun(t)
	r.owners["i-0abc"] = ourSpotNode
	r.findErrs["i-0def"] = temporal.NewNonRetryableApplicationError("list workflows: unavailable", "TemporalError", nil)
	r.delivers(activities.InterruptionMessage{
		ReceiptHandle: "h1", MessageID: "m1", Kind: string(interruption.ScheduledChange),
		InstanceIDs: []string{"i-0def", "i-0abc"}, EventTime: eventTime,
	})
	st := r.run(t, 30*time.Second)

	// The node reached is signalled now; the message comes back for the other one.
	wantEvents := []string{"find i-0def", "find i-0abc", "signal " + SignalInterrupt + " " + NodeWorkflowID(testClaim)}
	if !slices.Equal(r.events, wantEvents) {
		t.Errorf("events %v, want %v", r.events, wantEvents)
	}
	if st.Signalled != 1 || !strings.Contains(st.LastError, "list workflows: unavailable") {
		t.Errorf("state %+v, want one signalled and the lookup error", st)
	}
}

func TestInterruptionFailuresAreRecorded(t *testing.T) {
	tests := []struct {
		name       string
		owner      activities.NodeWorkflow
		findErr    error
		deleteErr  error
		signalErr  error
		wantEvents []string
		wantState  InterruptionState
		wantError  string // LastError contains
	}{
		{
			name:       "a failed lookup is recorded and the message kept for another try",
			owner:      ourSpotNode,
			findErr:    temporal.NewNonRetryableApplicationError("list workflows: unavailable", "TemporalError", nil),
			wantEvents: []string{"find i-0abc"},
			wantState:  InterruptionState{Received: 1},
			wantError:  "list workflows: unavailable",
		},
		{
			name:       "a failed interrupt signal is recorded, the provisioner not told and the message kept",
			owner:      ourSpotNode,
			signalErr:  errors.New("workflow not found"),
			wantEvents: []string{"find i-0abc"},
			wantState:  InterruptionState{Received: 1},
			wantError:  "signal " + NodeWorkflowID(testClaim),
		},
		{
			name:       "a failed delete is recorded",
			owner:      ourSpotNode,
			deleteErr:  temporal.NewNonRetryableApplicationError("queue gone", "SQSError", nil),
			wantEvents: []string{"find i-0abc", "signal " + SignalInterrupt + " " + NodeWorkflowID(testClaim), "signal " + SignalOfferingUnavailable + " " + ProvisionerID, "delete h1"},
			wantState:  InterruptionState{Received: 1, Signalled: 1},
			wantError:  "delete message msg-h1",
		},
		{
			name:       "a spot node whose instance type is unknown is signalled without telling the provisioner",
			owner:      activities.NodeWorkflow{WorkflowID: NodeWorkflowID(testClaim)},
			wantEvents: []string{"find i-0abc", "signal " + SignalInterrupt + " " + NodeWorkflowID(testClaim), "delete h1"},
			wantState:  InterruptionState{Received: 1, Signalled: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newInterruptionRun(t)
			r.owners["i-0abc"] = tt.owner
			r.findErrs["i-0abc"], r.deleteErr = tt.findErr, tt.deleteErr
			if tt.signalErr != nil {
				r.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", SignalInterrupt, mock.Anything).Return(tt.signalErr)
			}
			r.delivers(spotInterruption("h1", "i-0abc"))
			st := r.run(t, 30*time.Second)

			if !slices.Equal(r.events, tt.wantEvents) {
				t.Errorf("events %v, want %v", r.events, tt.wantEvents)
			}
			if !strings.Contains(st.LastError, tt.wantError) || (tt.wantError == "") != (st.LastError == "") {
				t.Errorf("LastError %q, want it to contain %q", st.LastError, tt.wantError)
			}
			st.LastError = ""
			if st != tt.wantState {
				t.Errorf("state %+v, want %+v", st, tt.wantState)
			}
		})
	}
}

func TestInterruptionRetriesAFailedReceive(t *testing.T) {
	r := newInterruptionRun(t)
	r.receiveFails(temporal.NewNonRetryableApplicationError("receive from queue: connection refused", "SQSError", nil))
	var during InterruptionState
	r.env.RegisterDelayedCallback(func() { during = queryStateAs[InterruptionState](t, r.env) }, 5*time.Second)
	r.run(t, 35*time.Second)

	// The failed receive returns at once, the next poll starts 10s later and takes 20s.
	if want := []time.Duration{0, 10 * time.Second, 30 * time.Second}; !slices.Equal(r.receives, want) {
		t.Errorf("received at %v, want %v", r.receives, want)
	}
	if !strings.Contains(during.LastError, "connection refused") {
		t.Errorf("LastError while waiting %q, want the receive error", during.LastError)
	}
}

func TestInterruptionContinuesAsNew(t *testing.T) {
	t.Run("when suggested, it carries its counters and queue into the next run", func(t *testing.T) {
		r := newInterruptionRun(t)
		r.owners["i-0abc"] = ourSpotNode
		r.delivers(spotInterruption("h1", "i-0abc"), activities.InterruptionMessage{ReceiptHandle: "h2", Error: "malformed: empty body"})
		r.env.RegisterDelayedCallback(func() { r.env.SetContinueAsNewSuggested(true) }, 30*time.Second)
		r.execute(InterruptionInput{Queue: testQueue, State: InterruptionState{Received: 10, NotOurs: 4}})

		next := continuedAs[InterruptionInput](t, r.env)
		want := InterruptionInput{Queue: testQueue, State: InterruptionState{Received: 12, Signalled: 1, Malformed: 1, NotOurs: 4}}
		if next != want {
			t.Errorf("continued as new with %+v, want %+v", next, want)
		}
		// Polls end at 20s and 40s; the suggestion at 30s takes effect after the second.
		if r.since() != 40*time.Second {
			t.Errorf("continued as new at %s, want 40s, after the poll under way", r.since())
		}
	})

	t.Run("after 500 polls in one run", func(t *testing.T) {
		r := newInterruptionRun(t)
		r.execute(InterruptionInput{Queue: testQueue})

		next := continuedAs[InterruptionInput](t, r.env)
		if next.Queue != testQueue || len(r.receives) != 500 {
			t.Errorf("continued as new on queue %q after %d polls, want %s after 500", next.Queue, len(r.receives), testQueue)
		}
	})
}

// 500 spot interruptions arriving together, ten per receive as SQS hands them out, are all
// signalled well inside their two minutes even when each lookup takes a second.
func TestInterruptionHandlesAFloodWithinTheNotice(t *testing.T) {
	r := newInterruptionRun(t)
	r.findTakes = time.Second
	const total, perReceive = 500, 10
	for batch := 0; batch < total/perReceive; batch++ {
		var msgs []activities.InterruptionMessage
		for i := range perReceive {
			id := fmt.Sprintf("i-%04d", batch*perReceive+i)
			r.owners[id] = activities.NodeWorkflow{WorkflowID: "node/" + id}
			msgs = append(msgs, spotInterruption("h-"+id, id))
		}
		r.deliversAtOnce(msgs...)
	}
	st := r.run(t, 2*time.Minute)

	var last time.Duration
	interrupted := 0
	for _, sig := range r.signals {
		if sig.name == SignalInterrupt {
			interrupted++
			last = max(last, sig.at)
		}
	}
	if interrupted != total || st.Signalled != total {
		t.Fatalf("%d interrupt signals sent (state says %d), want %d", interrupted, st.Signalled, total)
	}
	if last > 30*time.Second {
		t.Errorf("the last interrupt was signalled %s after the flood arrived, want well inside the 2-minute notice", last)
	}
	deleted := 0
	for _, e := range r.events {
		if strings.HasPrefix(e, "delete ") {
			deleted++
		}
	}
	if deleted != total {
		t.Errorf("%d messages deleted, want all %d", deleted, total)
	}
}
