//go:build benche2e

package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/nodewright/nodewright/lab/history"
	"github.com/nodewright/nodewright/workflows"
)

// histories are the Temporal figures of one row.
type histories struct {
	// events and bytes are per node workflow of the pool, runs summed, sorted; closedEvents
	// are those of the closed ones alone (a whole life, launch to terminated).
	events, bytes, closedEvents []int
	largest                     payloadSize
	// steps are when the node workflows reached each step of a launch (see steps).
	steps map[string][]time.Time
	// provisioner counts the Provisioner's events by type and activity or signal name, to
	// tell how many plans, starts and failed claims the scale-out took.
	provisioner map[string]int
	// rounds are the Provisioner's plans and starts, in the order it made them: what it did
	// and when (see readHistory).
	rounds []round
	// longest is the closed node workflow with the most events, and its events by kind: what
	// makes a life longer than the median one.
	longest      string
	longestKinds map[string]int
	// leaving are, for each node workflow told to go by the disruption controller, how long
	// after the signal it reached each step of leaving (see leavingSteps).
	leaving map[string][]time.Duration
}

// round is one of the Provisioner's plans or start calls: scheduled at, done at.
type round struct {
	what       string
	from, done time.Time
	// picked is when a worker took a Plan from the task queue (zero for starts).
	picked time.Time
}

// steps of a node workflow's launch, in order, whose times show where a scale-out waits:
// started is when the server created the workflow (the Provisioner's start); task when the
// worker first ran it; launched when the Launch call returned; waiting when a worker took
// the activity that waits for the Node; registered when its Node was seen and synced;
// initialized when the Node was seen Ready and initialized.
var steps = []string{"started", "task", "launched", "waiting", "registered", "initialized"}

// leavingSteps of a disrupted node workflow: told when the disrupt signal came, drained when
// DrainNode returned, terminated when Terminate did, closed when the workflow completed.
// They show how long a decision's nodes hold their budget.
var leavingSteps = []string{"drained", "terminated", "closed"}

// nodeHistory is one node workflow's history, its runs summed.
type nodeHistory struct {
	events, bytes int
	open          bool
	kinds         map[string]int
}

// payloadSize is a payload's encoded size and where it was.
type payloadSize struct {
	bytes int
	where string // workflow type and event type
}

// measureHistories reads the history of every workflow open since from: the pool's node
// workflows give the per-node figures, all of them the largest payload.
func measureHistories(ctx context.Context, tc client.Client, pool string, from time.Time) (histories, error) {
	execs, err := listWorkflows(ctx, tc)
	if err != nil {
		return histories{}, err
	}
	var (
		mu       sync.Mutex
		h        histories
		perNode  = map[string]nodeHistory{} // by workflow id
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, 4) // a few at a time: Temporal shares the 2 cores
	)
	for _, e := range execs {
		if ct := e.GetCloseTime(); ct != nil && ct.AsTime().Before(from) {
			continue
		}
		node := e.GetType().GetName() == "NodeLifecycleWorkflow" && nodePoolOf(e) == pool
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			events, size, largest, reached, kinds, rounds, err := readHistory(ctx, tc, e)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			if largest.bytes > h.largest.bytes {
				h.largest = largest
			}
			if e.GetType().GetName() == "ProvisionerWorkflow" {
				if h.provisioner == nil {
					h.provisioner = map[string]int{}
				}
				for k, n := range kinds {
					h.provisioner[k] += n
				}
				h.rounds = append(h.rounds, rounds...)
			}
			if node {
				if h.steps == nil {
					h.steps = map[string][]time.Time{}
				}
				for step, at := range reached {
					h.steps[step] = append(h.steps[step], at)
				}
				if told, ok := reached["told"]; ok {
					if h.leaving == nil {
						h.leaving = map[string][]time.Duration{}
					}
					for _, step := range leavingSteps {
						if at, ok := reached[step]; ok {
							h.leaving[step] = append(h.leaving[step], at.Sub(told))
						}
					}
				}
				n := perNode[e.GetExecution().GetWorkflowId()]
				n.events, n.bytes, n.open = n.events+events, n.bytes+size, n.open || e.GetCloseTime() == nil
				if n.kinds == nil {
					n.kinds = map[string]int{}
				}
				for k, c := range kinds {
					n.kinds[k] += c
				}
				perNode[e.GetExecution().GetWorkflowId()] = n
			}
		})
	}
	wg.Wait()
	most := 0
	for id, n := range perNode {
		h.events = append(h.events, n.events)
		h.bytes = append(h.bytes, n.bytes)
		if !n.open {
			h.closedEvents = append(h.closedEvents, n.events)
			if n.events > most {
				most, h.longest, h.longestKinds = n.events, id, n.kinds
			}
		}
	}
	slices.Sort(h.events)
	slices.Sort(h.bytes)
	slices.Sort(h.closedEvents)
	return h, firstErr
}

// listWorkflows lists every workflow run the namespace has, open or closed.
func listWorkflows(ctx context.Context, tc client.Client) ([]*workflowpb.WorkflowExecutionInfo, error) {
	var out []*workflowpb.WorkflowExecutionInfo
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list workflows: %w", err)
		}
		out = append(out, resp.Executions...)
		if token = resp.NextPageToken; len(token) == 0 {
			return out, nil
		}
	}
}

func nodePoolOf(e *workflowpb.WorkflowExecutionInfo) string {
	var pool string
	if p, ok := e.GetSearchAttributes().GetIndexedFields()[workflows.SearchAttrNodePool.GetName()]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &pool)
	}
	return pool
}

// readHistory counts one run's events and their encoded bytes, finds its largest payload,
// says when it reached each of the steps, and lists its Plan activities and StartWorkflows
// local activities with when each was scheduled and done (a local activity's marker is
// recorded when the task that ran it completes; its start is the task's start).
func readHistory(ctx context.Context, tc client.Client, e *workflowpb.WorkflowExecutionInfo) (events, bytes int, largest payloadSize, reached map[string]time.Time, kinds map[string]int, rounds []round, err error) {
	reached, kinds = map[string]time.Time{}, map[string]int{}
	reach := func(step string, ev *historypb.HistoryEvent) {
		if _, ok := reached[step]; !ok {
			reached[step] = ev.GetEventTime().AsTime()
		}
	}
	id, run := e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()
	activities := map[int64]string{}    // scheduled event id: activity type, to name a result
	planFrom := map[int64]time.Time{}   // a Plan's scheduled event id: when
	planPicked := map[int64]time.Time{} // a Plan's scheduled event id: when a worker took it
	var taskStarted time.Time
	it := tc.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, 0, payloadSize{}, nil, nil, nil, fmt.Errorf("history of %s run %s: %w", id, run, err)
		}
		events++
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			reach("started", ev)
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			reach("task", ev)
			taskStarted = ev.GetEventTime().AsTime()
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			reach("closed", ev)
		}
		bytes += proto.Size(ev)
		what := strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")
		started, err := history.StartedActivity(ev)
		if err != nil {
			return 0, 0, payloadSize{}, nil, nil, nil, fmt.Errorf("history of %s run %s: %w", id, run, err)
		}
		if started == "Launch" && ev.GetMarkerRecordedEventAttributes() != nil {
			reach("launched", ev) // a local activity's marker is recorded once it returned
		}
		switch {
		case started == "Plan":
			planFrom[ev.GetEventId()] = ev.GetEventTime().AsTime()
		case started == "StartWorkflows" && ev.GetMarkerRecordedEventAttributes() != nil:
			rounds = append(rounds, round{what: "start", from: taskStarted, done: ev.GetEventTime().AsTime()})
		}
		if started != "" {
			activities[ev.GetEventId()] = started
			what += " " + started
		} else if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			what += " " + activities[a.GetScheduledEventId()]
			planPicked[a.GetScheduledEventId()] = ev.GetEventTime().AsTime()
			if name := activities[a.GetScheduledEventId()]; name == "WaitForNode" || name == "RegisterNode" {
				reach("waiting", ev)
			}
		} else if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
			what += " " + activities[a.GetScheduledEventId()]
			switch activities[a.GetScheduledEventId()] {
			case "Plan":
				id := a.GetScheduledEventId()
				rounds = append(rounds, round{what: "plan", from: planFrom[id], picked: planPicked[id], done: ev.GetEventTime().AsTime()})
			case "Launch":
				reach("launched", ev)
			case "WaitForNode", "RegisterNode":
				reach("registered", ev)
			case "WaitNodeInitialized":
				reach("initialized", ev)
			case "DrainNode":
				reach("drained", ev)
			case "Terminate":
				reach("terminated", ev)
			}
		} else if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			what += " " + a.GetSignalName()
			if a.GetSignalName() == workflows.SignalDisrupt {
				reach("told", ev)
			}
		}
		kinds[what]++
		if n := largestPayload(ev.ProtoReflect()); n > largest.bytes {
			largest = payloadSize{bytes: n, where: e.GetType().GetName() + " " + what}
		}
	}
	return events, bytes, largest, reached, kinds, rounds, nil
}

// provisionerRounds lists the Provisioner's rounds, in seconds after from.
func (h histories) provisionerRounds(from time.Time) string {
	rounds := slices.SortedFunc(slices.Values(h.rounds), func(a, b round) int { return a.done.Compare(b.done) })
	var parts []string
	for _, r := range rounds {
		if r.picked.IsZero() {
			parts = append(parts, fmt.Sprintf("%s %.1f–%.1f", r.what, r.from.Sub(from).Seconds(), r.done.Sub(from).Seconds()))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.1f–(%.1f)–%.1f", r.what, r.from.Sub(from).Seconds(), r.picked.Sub(from).Seconds(), r.done.Sub(from).Seconds()))
	}
	return strings.Join(parts, ", ")
}

// timeline says when the node workflows reached each step, in seconds after from: first,
// median, 90th and 99th percentiles, and last.
func (h histories) timeline(from time.Time) string {
	var parts []string
	for _, step := range steps {
		at := slices.SortedFunc(slices.Values(h.steps[step]), time.Time.Compare)
		if len(at) == 0 {
			continue
		}
		s := func(q float64) float64 { return at[int(q*float64(len(at)-1)+0.5)].Sub(from).Seconds() }
		parts = append(parts, fmt.Sprintf("%s %.1f / %.1f / %.1f / %.1f / %.1f", step, s(0), s(0.5), s(0.9), s(0.99), s(1)))
	}
	return strings.Join(parts, ", ")
}

// leavingTimes says how long after the disrupt signal the told node workflows reached each
// step of leaving: how many, median, 90th percentile and longest, in seconds.
func (h histories) leavingTimes() string {
	var parts []string
	for _, step := range leavingSteps {
		d := slices.Sorted(slices.Values(h.leaving[step]))
		if len(d) == 0 {
			continue
		}
		s := func(q float64) float64 { return d[int(q*float64(len(d)-1)+0.5)].Seconds() }
		parts = append(parts, fmt.Sprintf("%s %d: %.1f / %.1f / %.1f", step, len(d), s(0.5), s(0.9), s(1)))
	}
	return strings.Join(parts, ", ")
}

// The messages that hold payloads, as Temporal's size limits count them.
const (
	payloadsName protoreflect.FullName = "temporal.api.common.v1.Payloads"
	payloadName  protoreflect.FullName = "temporal.api.common.v1.Payload"
)

// largestPayload is the encoded size of the largest Payloads, or Payload outside one, in m.
func largestPayload(m protoreflect.Message) int {
	if name := m.Descriptor().FullName(); name == payloadsName || name == payloadName {
		return proto.Size(m.Interface())
	}
	largest := 0
	visit := func(v protoreflect.Value) { largest = max(largest, largestPayload(v.Message())) }
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool { visit(mv); return true })
			}
		case fd.IsList():
			if fd.Message() != nil {
				for i := range v.List().Len() {
					visit(v.List().Get(i))
				}
			}
		case fd.Message() != nil:
			visit(v)
		}
		return true
	})
	return largest
}

// perTenSeconds counts the node workflows that reached a step in each 10 s after from.
func (h histories) perTenSeconds(step string, from time.Time) string {
	var counts []int
	for _, at := range h.steps[step] {
		i := max(0, int(at.Sub(from)/(10*time.Second)))
		for len(counts) <= i {
			counts = append(counts, 0)
		}
		counts[i]++
	}
	var parts []string
	for i, n := range counts {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d–%ds %d", 10*i, 10*i+10, n))
		}
	}
	return strings.Join(parts, ", ")
}
