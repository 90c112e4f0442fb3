package activities

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// startedHistories is a Temporal client that knows the first event of some workflows.
type startedHistories struct {
	client.Client
	inputs map[string]any   // workflow id to the input it was started with
	fail   map[string]error // workflow ids whose history cannot be read
	mu     sync.Mutex
	reads  []string
}

func (h *startedHistories) GetWorkflowHistory(_ context.Context, id, _ string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads = append(h.reads, id)
	if err := h.fail[id]; err != nil {
		return &oneEvent{err: err}
	}
	in, ok := h.inputs[id]
	if !ok {
		return &oneEvent{err: serviceerror.NewNotFound("workflow not found")}
	}
	payloads, err := converter.GetDefaultDataConverter().ToPayloads(in)
	if err != nil {
		return &oneEvent{err: err}
	}
	return &oneEvent{event: &historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: payloads},
	}}}
}

type oneEvent struct {
	event *historypb.HistoryEvent
	err   error
	done  bool
}

func (o *oneEvent) HasNext() bool { return !o.done }
func (o *oneEvent) Next() (*historypb.HistoryEvent, error) {
	o.done = true
	return o.event, o.err
}

func TestNodeWorkflowPodsReadsEachClaimsPodsFromItsWorkflowOnce(t *testing.T) {
	type nodeInput struct {
		Claim Claim `json:"claim"`
	}
	h := &startedHistories{inputs: map[string]any{
		"node/a": nodeInput{Claim: Claim{Name: "a", Pods: []string{"ns/1", "ns/2"}}},
		"node/b": nodeInput{Claim: Claim{Name: "b", Pods: []string{"ns/3"}}},
	}}
	n := &NodeWorkflowPods{Client: h, WorkflowID: func(c string) string { return "node/" + c }}
	for range 2 {
		got, err := n.PodsOf(context.Background(), []string{"a", "b", "gone"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{"a": {"ns/1", "ns/2"}, "b": {"ns/3"}, "gone": nil}
		if !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("pods %v, want %v", got, want)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(h.reads)), []string{"node/a", "node/b", "node/gone"}) {
		t.Errorf("read histories %v, want each once (a started workflow's input never changes)", h.reads)
	}
	if _, err := n.PodsOf(context.Background(), []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if _, cached := n.pods["a"]; cached {
		t.Error("claim a is still cached after a request without it, want only the claims asked about kept")
	}
}

// A node workflow this worker started is known from its start: the next plan reads no
// history for it. A start that is not a claim's own workflow teaches nothing.
func TestNodeWorkflowPodsRemembersTheClaimsItStarted(t *testing.T) {
	for _, tc := range []struct {
		name      string
		start     WorkflowStart
		wantReads []string
		want      []string
	}{
		{name: "a claim's node workflow", start: WorkflowStart{ID: "node/a", Input: []byte(`{"claim":{"name":"a","pods":["ns/new"]}}`)},
			want: []string{"ns/new"}},
		{name: "another claim's input under this ID", start: WorkflowStart{ID: "node/a", Input: []byte(`{"claim":{"name":"b","pods":["ns/new"]}}`)},
			wantReads: []string{"node/a"}, want: []string{"ns/1"}},
		{name: "not a node workflow's input", start: WorkflowStart{ID: "node/a", Input: []byte(`"provisioner"`)},
			wantReads: []string{"node/a"}, want: []string{"ns/1"}},
		{name: "no claim name", start: WorkflowStart{ID: "node/", Input: []byte(`{"claim":{"pods":["ns/new"]}}`)},
			wantReads: []string{"node/a"}, want: []string{"ns/1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &startedHistories{inputs: map[string]any{"node/a": map[string]any{"claim": Claim{Name: "a", Pods: []string{"ns/1"}}}}}
			n := &NodeWorkflowPods{Client: h, WorkflowID: func(c string) string { return "node/" + c }}
			n.Started(tc.start)
			got, err := n.PodsOf(context.Background(), []string{"a"})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got["a"], tc.want) || !slices.Equal(h.reads, tc.wantReads) {
				t.Errorf("pods of a %v after reading %v, want %v after reading %v", got["a"], h.reads, tc.want, tc.wantReads)
			}
		})
	}
}

func TestNodeWorkflowPodsFailsWhenAHistoryCannotBeRead(t *testing.T) {
	h := &failingHistory{err: errors.New("unavailable")}
	n := &NodeWorkflowPods{Client: h, WorkflowID: func(c string) string { return "node/" + c }}
	if _, err := n.PodsOf(context.Background(), []string{"a"}); err == nil {
		t.Error("no error, want one: planning without knowing a claim's pods could launch them a second node")
	}
}

// A history whose start holds no node workflow's input holds no pods and does not stop the
// plan; one that cannot be read fails the call, and the retry reads only that one again.
func TestNodeWorkflowPodsSkipsOnlyWhatCanNeverBeRead(t *testing.T) {
	type nodeInput struct {
		Claim Claim `json:"claim"`
	}
	h := &startedHistories{
		inputs: map[string]any{
			"node/a":     nodeInput{Claim: Claim{Name: "a", Pods: []string{"ns/1"}}},
			"node/other": "not a node workflow's input",
		},
		fail: map[string]error{"node/down": serviceerror.NewUnavailable("history shard moving")},
	}
	n := &NodeWorkflowPods{Client: h, WorkflowID: func(c string) string { return "node/" + c }}
	got, err := n.PodsOf(context.Background(), []string{"a", "other"})
	if want := map[string][]string{"a": {"ns/1"}, "other": nil}; err != nil || !maps.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("pods %v, %v; want %v", got, err, want)
	}
	if _, err := n.PodsOf(context.Background(), []string{"a", "other", "down"}); err == nil {
		t.Fatal("no error with a history that could not be read, want one: the plan would launch its pods a second node")
	}
	h.reads = nil
	delete(h.fail, "node/down")
	if _, err := n.PodsOf(context.Background(), []string{"a", "other", "down"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.reads, []string{"node/down"}) {
		t.Errorf("the retry read %v, want only node/down: the others were cached", h.reads)
	}
}

type failingHistory struct {
	client.Client
	err error
}

func (f *failingHistory) GetWorkflowHistory(context.Context, string, string, bool, enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	return &oneEvent{err: f.err}
}

// A restarted worker (a new planner, its cache empty) still leaves out the pods of a claim in
// flight: they are read from the claim's node workflow, not remembered by the process.
func TestPlanAfterARestartLeavesOutThePodsOfClaimsInFlight(t *testing.T) {
	type nodeInput struct {
		Claim Claim `json:"claim"`
	}
	api := &fakeEC2{typePages: [][]string{{"m5.large", "m5.xlarge", "c5.large"}}}
	web := pod("web-1", pending(), requesting("1", "1Gi"))
	before := newTestPlanner(t, api, web)
	first, err := before.Plan(context.Background(), PlanRequest{})
	if err != nil || len(first.Claims) != 1 {
		t.Fatalf("first plan %+v, %v; want one claim", first, err)
	}
	claim := first.Claims[0]
	claim.Name = "default-abcde" // the Provisioner names it and starts its node workflow
	histories := &startedHistories{inputs: map[string]any{"node/default-abcde": nodeInput{Claim: claim}}}

	after := newTestPlanner(t, api, web)
	after.ClaimPods = &NodeWorkflowPods{Client: histories, WorkflowID: func(c string) string { return "node/" + c }}
	inFlight := []InFlightClaim{{Name: "default-abcde", NodePool: "default", Capacity: claim.Capacity, Nominates: true}}
	got, err := after.Plan(context.Background(), PlanRequest{InFlight: inFlight})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Claims) != 0 || got.Nominated != 1 {
		t.Errorf("after the restart: %d claims, %d pods nominated; want no second claim for ns/web-1", len(got.Claims), got.Nominated)
	}
}
