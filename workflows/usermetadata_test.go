package workflows

import (
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// currentDetails reads a workflow's current details as the Temporal UI does, through the
// SDK's metadata query.
func currentDetails(t *testing.T, env *testsuite.TestWorkflowEnvironment) string {
	t.Helper()
	v, err := env.QueryWorkflow(QueryWorkflowMetadata)
	if err != nil {
		t.Fatalf("query %s: %v", QueryWorkflowMetadata, err)
	}
	var md sdkpb.WorkflowMetadata
	if err := v.Get(&md); err != nil {
		t.Fatalf("decode workflow metadata: %v", err)
	}
	return md.GetCurrentDetails()
}

// checkText fails for each of want missing from text and each of unwanted in it.
func checkText(t *testing.T, what, text string, want, unwanted []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
	for _, u := range unwanted {
		if strings.Contains(text, u) {
			t.Errorf("%s shows %q:\n%s", what, u, text)
		}
	}
}

func TestNodeLifecycleDetailsFollowItsState(t *testing.T) {
	// happyPath: launched at 1m, registered at 2m, Ready at 3m; the drain signalled at 10m
	// drains until 11m and terminates until 12m.
	tests := []struct {
		at       time.Duration
		want     []string
		unwanted []string
	}{
		{at: 30 * time.Second, want: []string{"**Launching** since 00:00:00", "$0.0350/h", "2 pods: ns/web-1, ns/web-2"},
			unwanted: []string{"m5.large", "spot", "instance i-0abc", "going:"}},
		{at: 90 * time.Second, want: []string{"**Registering** since 00:01:00 · m5.large · us-east-1a · spot · $0.0350/h", "instance i-0abc"},
			unwanted: []string{"node ip-10-0-0-7"}},
		{at: 5 * time.Minute, want: []string{"**Ready** since 00:03:00 · m5.large · us-east-1a · spot", "node ip-10-0-0-7 · instance i-0abc"},
			unwanted: []string{"going:"}},
		{at: 630 * time.Second, want: []string{"**Draining** since 00:10:00", "going: **kernel upgrade** (Manual)"}},
		{at: 690 * time.Second, want: []string{"**Terminating** since 00:11:00", "going: **kernel upgrade** (Manual)"}},
	}
	r := newNodeRun(t)
	r.env.SetStartTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	r.start = r.env.Now()
	r.happyPath()
	details := map[time.Duration]string{}
	states := map[time.Duration]NodeState{}
	for _, tt := range tests {
		r.at(tt.at, func() { details[tt.at], states[tt.at] = currentDetails(t, r.env), r.query(t) })
	}
	r.at(10*time.Minute, func() { r.env.SignalWorkflow(SignalDrain, DrainRequest{Reason: "kernel upgrade"}) })
	r.execute()
	if err := r.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	for _, tt := range tests {
		if got, want := details[tt.at], nodeDetails(states[tt.at]); got != want {
			t.Errorf("details at %s do not show the state:\n%s\nwant\n%s", tt.at, got, want)
		}
		checkText(t, "details at "+tt.at.String(), details[tt.at], tt.want, tt.unwanted)
	}
}

func TestUserMetadataTextsAreShortAndBounded(t *testing.T) {
	many := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + string(rune('a'+i))
		}
		return out
	}
	claim := activities.Claim{Name: "spot-x2k9q", NodePool: "spot", InstanceTypes: many("m5.", 12), Zones: many("zone-", 3),
		CapacityTypes: []string{"spot", "on-demand"}, PricePerHour: 0.0416, Pods: many("ns/web-", 20)}
	going := NodeState{Phase: PhaseDraining, InstanceType: "c5.large", Zone: "zone-b", CapacityType: "spot", PricePerHour: 0.031,
		Pods: many("ns/web-", 20), PodsLeft: map[string]string{"ns/web-c": "PDB", "ns/web-a": "PDB", "ns/web-b": "PDB", "ns/web-d": "PDB"},
		Disruption: &Disruption{Source: SourceDisruption, Reason: disruption.ReasonUnderutilized, Savings: 0.05, Replacement: "spot-q1w2e"},
		LastError:  strings.Repeat("x", 1000)}
	tests := []struct {
		name     string
		text     string
		want     []string
		unwanted []string
	}{
		{name: "a node's summary names the pool, the cheapest type and counts the rest, and the planned price",
			text:     nodeSummary(claim),
			want:     []string{"**spot** · m5.a (+11) · spot/on-demand · zone-a (+2) · $0.0416/h planned · 20 pods"},
			unwanted: []string{"\n", "ns/web-a"}},
		{name: "a node's static details list a few types and pods and count the rest",
			text: nodeStaticDetails(claim, disruption.ReasonUnderutilized),
			want: []string{"NodeClaim **spot-x2k9q** of NodePool **spot**", "m5.a, m5.b, m5.c (+9)", "20 pods: ns/web-a, ns/web-b, ns/web-c (+17)",
				"replacement for a node going: Underutilized"},
			unwanted: []string{"m5.d", "ns/web-d"}},
		{name: "a node on its way out says why, what it saves, and a few of the pods its drain waits for, in order",
			text: nodeDetails(going),
			want: []string{"**Draining** · c5.large · zone-b · spot · $0.0310/h", "going: **Underutilized** (Disruption) · saves $0.0500/h · replacement spot-q1w2e",
				"drain waits for 4 pods: ns/web-a, ns/web-b, ns/web-c (+1)", "last error: xxx"},
			unwanted: []string{strings.Repeat("x", maxFreeText+1), "ns/web-d"}},
		{name: "a node launched with no known price says so",
			text: nodeDetails(NodeState{Phase: PhaseLaunching}), want: []string{"**Launching** · $?/h", "no pods planned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkText(t, "text", tt.text, tt.want, tt.unwanted)
		})
	}
}

// childOptionsRecorder records the options of every child workflow started, and counts the
// timers started.
type childOptionsRecorder struct {
	interceptor.WorkerInterceptorBase
	mu      sync.Mutex
	started []workflow.ChildWorkflowOptions
	timers  int
}

func (w *childOptionsRecorder) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &childOptionsInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, rec: w}
}

func (w *childOptionsRecorder) options() []workflow.ChildWorkflowOptions {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]workflow.ChildWorkflowOptions(nil), w.started...)
}

func (w *childOptionsRecorder) timersStarted() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.timers
}

type childOptionsInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	rec *childOptionsRecorder
}

func (w *childOptionsInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&childOptionsOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, rec: w.rec})
}

type childOptionsOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	rec *childOptionsRecorder
}

func (w *childOptionsOutbound) ExecuteChildWorkflow(ctx workflow.Context, childWorkflowType string, args ...any) workflow.ChildWorkflowFuture {
	w.rec.mu.Lock()
	w.rec.started = append(w.rec.started, workflow.GetChildWorkflowOptions(ctx))
	w.rec.mu.Unlock()
	return w.Next.ExecuteChildWorkflow(ctx, childWorkflowType, args...)
}

func (w *childOptionsOutbound) NewTimer(ctx workflow.Context, d time.Duration) workflow.Future {
	w.rec.mu.Lock()
	w.rec.timers++
	w.rec.mu.Unlock()
	return w.Next.NewTimer(ctx, d)
}

func recordChildOptions(env *testsuite.TestWorkflowEnvironment) *childOptionsRecorder {
	rec := &childOptionsRecorder{}
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{rec}})
	return rec
}

func TestNodeWorkflowsStartWithASummaryOfTheirPlan(t *testing.T) {
	t.Run("the Provisioner's claims", func(t *testing.T) {
		r := newProvisionerRun(t, plan(claimFor("default", "a", "b"), claimFor("gpu", "c")))
		r.signalPods(0, "a", "b", "c")
		r.run(t, time.Minute, ProvisionerInput{})
		if len(r.starts) != 2 {
			t.Fatalf("%d node workflows started, want 2", len(r.starts))
		}
		for i, want := range []string{"**default** · m5.large · on-demand · us-east-1a · $0.0960/h planned · 2 pods",
			"**gpu** · m5.large · on-demand · us-east-1a · $0.0960/h planned · 1 pod"} {
			s := r.starts[i]
			if s.Summary != want {
				t.Errorf("node workflow %s summary %q, want %q", s.ID, s.Summary, want)
			}
			claim := strings.TrimPrefix(s.ID, "node/")
			checkText(t, s.ID+" static details", s.Details, []string{"NodeClaim **" + claim + "**"}, []string{"replacement for"})
			pool := strings.Split(want, "**")[1]
			if wantSA := map[string]string{"NodePool": pool, "NodePhase": string(PhaseLaunching)}; !maps.Equal(s.Keywords, wantSA) {
				t.Errorf("node workflow %s search attributes %v, want %v", s.ID, s.Keywords, wantSA)
			}
		}
	})
	t.Run("the disruption controller's replacement", func(t *testing.T) {
		r := newDisruptionRun(t, withReplacement(decided(disruption.ReasonUnderutilized, 0.3, "default-aaaaa"), "default"))
		rec := recordChildOptions(r.env)
		r.replacementReadyAt(t, 2*time.Minute)
		r.run(t, 3*time.Minute, DisruptionInput{})
		started := rec.options()
		if len(started) != 1 {
			t.Fatalf("%d replacements started, want 1", len(started))
		}
		if want := "**default** · m5.large · on-demand · us-east-1a · $0.0960/h planned · 0 pods"; started[0].StaticSummary != want {
			t.Errorf("replacement summary %q, want %q", started[0].StaticSummary, want)
		}
		checkText(t, "replacement static details", started[0].StaticDetails, []string{"replacement for a node going: Underutilized"}, nil)
	})
}

func TestControllersShowTheirLastDecision(t *testing.T) {
	t.Run("the Provisioner's last plan", func(t *testing.T) {
		res := plan(claimFor("default", "a", "b"), claimFor("default", "c"))
		res.Pods, res.Unschedulable, res.UnschedulableCount = 4, map[string]string{"ns/d": "no NodePool allows 64 CPU"}, 1
		r := newProvisionerRun(t, res)
		var before, after string
		r.at(500*time.Millisecond, func() { before = currentDetails(t, r.env) })
		r.at(30*time.Second, func() { after = currentDetails(t, r.env) })
		r.signalPods(0, "a", "b", "c", "d")
		r.run(t, time.Minute, ProvisionerInput{})
		checkText(t, "details before the first plan", before, []string{"No plan yet"}, nil)
		checkText(t, "details after the plan", after, []string{
			"**Last plan ", ": 4 pods → 2 claims, $0.1920/h; 1 pod unschedulable", "- ns/d: no NodePool allows 64 CPU", "batches planned: 1",
		}, []string{"No plan yet"})
	})
	t.Run("the disruption controller's last pass and decision, and its pause", func(t *testing.T) {
		r := newDisruptionRun(t, decided(disruption.ReasonEmpty, 0.19, "default-aaaaa"))
		var decided, paused string
		r.at(30*time.Second, func() { decided = currentDetails(t, r.env) })
		r.at(40*time.Second, func() {
			r.env.SignalWorkflow(SignalPauseDisruption, PauseDisruption{Reason: "incident 42", By: "alice"})
		})
		r.at(41*time.Second, func() { paused = currentDetails(t, r.env) })
		r.run(t, time.Minute, DisruptionInput{})
		// Pass 1 decided at 10s and carried it out at 25s; pass 2 came a second later.
		checkText(t, "details after the decision", decided, []string{"**Last pass ", "(#2)", "last decision", "**Empty** ip-default-aaaaa, saves $0.1900/h → Disrupted"}, []string{"Paused"})
		checkText(t, "details once paused", paused, []string{"**Paused** since ", "by alice: incident 42", "**Empty** ip-default-aaaaa"}, nil)
	})
}

// An operator's words in a pause are shown as written: markdown in them does not become a
// link, an image or emphasis in the UI.
func TestPauseTextIsShownAsWritten(t *testing.T) {
	s := DisruptionState{Pause: &DisruptionPause{By: "mallory_x", Reason: "see [runbook](http://evil.example) ![x](y) **now**"}}
	got := disruptionDetails(s, time.Time{})
	for _, want := range []string{`by mallory\_x`, `see \[runbook\]\(http://evil.example\) \!\[x\]\(y\) \*\*now\*\*`} {
		if !strings.Contains(got, want) {
			t.Errorf("details %q lack %q", got, want)
		}
	}
}
