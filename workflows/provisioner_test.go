package workflows

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nodewright/nodewright/activities"
)

// planCall is what the Provisioner asked the planner, and when (seconds after start).
type planCall struct {
	at  time.Duration
	req activities.PlanRequest
}

// provisionerRun drives a Provisioner in the test environment with a scripted planner and
// records what it planned and which node workflows it started.
type provisionerRun struct {
	env     *testsuite.TestWorkflowEnvironment
	start   time.Time
	results []activities.PlanResult // answered in order; empty plans once used up
	// failing says which Plan calls (counted from 0) fail, for good.
	failing map[int]bool
	// planTakes is how long each Plan call takes, in workflow time.
	planTakes time.Duration

	// taken counts, by pool, the next starts whose ID another run holds; refused are the
	// pools whose starts the server refuses; startsFail fails every StartWorkflows call.
	// startsFailFirst fails that many first calls for a reason that may pass.
	taken           map[string]int
	refused         map[string]bool
	startsFail      bool
	startsFailFirst int

	plans      []planCall
	mu         sync.Mutex // node workflow mocks may run concurrently
	started    []startedNode
	starts     []activities.WorkflowStart // the started ones, as asked
	startCalls int
	requestIDs [][]string // of each call's starts
}

// startedNode is a NodeLifecycle the Provisioner started: its workflow id and input.
type startedNode struct {
	id    string
	claim activities.Claim
}

// startedByPool returns the claim names started per node pool.
func (r *provisionerRun) startedByPool() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	for _, s := range r.started {
		out[s.claim.NodePool] = append(out[s.claim.NodePool], s.claim.Name)
	}
	return out
}

func newProvisionerRun(t *testing.T, results ...activities.PlanResult) *provisionerRun {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	r := &provisionerRun{env: suite.NewTestWorkflowEnvironment(), results: results}
	r.start = r.env.Now()
	r.env.RegisterWorkflow(ProvisionerWorkflow)
	r.env.RegisterWorkflow(NodeLifecycleWorkflow)
	return r
}

// execute sets up the planner and node workflow mocks and runs the workflow to its end.
func (r *provisionerRun) execute(in ProvisionerInput) {
	planner := &activities.Planner{}
	r.env.OnActivity(planner.Plan, mock.Anything, mock.Anything).After(r.planTakes).Return(
		func(_ context.Context, req activities.PlanRequest) (activities.PlanResult, error) {
			r.plans = append(r.plans, planCall{at: r.env.Now().Sub(r.start), req: req})
			if r.failing[len(r.plans)-1] {
				return activities.PlanResult{}, temporal.NewNonRetryableApplicationError("planner down", "Test", nil)
			}
			if len(r.results) == 0 {
				return activities.PlanResult{}, nil
			}
			res := r.results[0]
			r.results = r.results[1:]
			return res, nil
		})
	r.env.OnWorkflow(NodeLifecycleWorkflow, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in NodeLifecycleInput) (NodeLifecycleResult, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.started = append(r.started, startedNode{id: workflow.GetInfo(ctx).WorkflowExecution.ID, claim: in.Claim})
			return NodeLifecycleResult{}, nil
		})
	r.env.OnActivity(signalActs.StartWorkflows, mock.Anything, mock.Anything).Return(r.startWorkflows)
	r.env.ExecuteWorkflow(ProvisionerWorkflow, in)
}

// at schedules fn at a time after start.
func (r *provisionerRun) at(d time.Duration, fn func()) { r.env.RegisterDelayedCallback(fn, d) }

func (r *provisionerRun) signalPods(d time.Duration, names ...string) {
	r.at(d, func() { r.env.SignalWorkflow(SignalPendingPods, PendingPods{Pods: refs(names...)}) })
}

// run executes the workflow until it is cancelled at end.
func (r *provisionerRun) run(t *testing.T, end time.Duration, in ProvisionerInput) {
	t.Helper()
	r.at(end, r.env.CancelWorkflow)
	r.execute(in)
	if !r.env.IsWorkflowCompleted() {
		t.Fatal("provisioner did not finish")
	}
}

func (r *provisionerRun) state(t *testing.T) ProvisionerState {
	t.Helper()
	v, err := r.env.QueryWorkflow(QueryState)
	if err != nil {
		t.Fatalf("query state: %v", err)
	}
	var s ProvisionerState
	if err := v.Get(&s); err != nil {
		t.Fatalf("decode state: %v", err)
	}
	return s
}

func refs(names ...string) []PodRef {
	out := make([]PodRef, len(names))
	for i, n := range names {
		out[i] = PodRef{Namespace: "ns", Name: n}
	}
	return out
}

func keys(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "ns/" + n
	}
	return out
}

func claimFor(pool string, pods ...string) activities.Claim {
	return activities.Claim{
		NodePool: pool, Pods: keys(pods...), InstanceTypes: []string{"m5.large"},
		Zones: []string{"us-east-1a"}, CapacityTypes: []string{"on-demand"}, PricePerHour: 0.096,
	}
}

func plan(claims ...activities.Claim) activities.PlanResult {
	return activities.PlanResult{Claims: claims}
}

var claimNamePattern = regexp.MustCompile(`^(default|gpu)-[a-z0-9]{5}$`)

func TestProvisionerStateSaysWhatThePlanCosts(t *testing.T) {
	priced := func(c activities.Claim, price float64) activities.Claim { c.PricePerHour = price; return c }
	more := func(r activities.PlanResult) activities.PlanResult { r.More = true; return r }
	tests := []struct {
		name    string
		results []activities.PlanResult
		want    float64
	}{
		{name: "a plan costs what its claims cost together",
			results: []activities.PlanResult{plan(priced(claimFor("default", "a"), 0.096), priced(claimFor("gpu", "b"), 0.526))},
			want:    0.622},
		{name: "the last plan of a batch costs what its own claims cost",
			results: []activities.PlanResult{more(plan(priced(claimFor("default", "a"), 0.096))), plan(priced(claimFor("default", "b"), 0.0423))},
			want:    0.0423},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newProvisionerRun(t, tt.results...)
			r.signalPods(0, "a", "b")
			var st ProvisionerState
			r.at(30*time.Second, func() { st = r.state(t) })
			r.run(t, time.Minute, ProvisionerInput{})
			if st.LastPlan == nil {
				t.Fatal("the state shows no plan")
			}
			if got := st.LastPlan.PricePerHour; math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("last plan costs %v/h, want %v (claims %v)", got, tt.want, st.LastPlan.Claims)
			}
		})
	}
}

func TestNodeWorkflowsOutliveTheProvisioner(t *testing.T) {
	opts := nodeWorkflowOptions(activities.Claim{Name: "default-abcde", NodePool: "default"}, "")
	if opts.ParentClosePolicy != enumspb.PARENT_CLOSE_POLICY_ABANDON {
		t.Errorf("parent close policy %s, want ABANDON", opts.ParentClosePolicy)
	}
	if opts.WorkflowID != "node/default-abcde" || opts.TaskQueue != TaskQueue {
		t.Errorf("child id %q on queue %q, want node/default-abcde on %s", opts.WorkflowID, opts.TaskQueue, TaskQueue)
	}
}

func TestProvisionerNominations(t *testing.T) {
	// Every case plans pod a onto a claim in the first batch (closing at 1s), then does
	// something, and looks at the next Plan request.
	tests := []struct {
		name        string
		then        func(r *provisionerRun)
		wantPlans   int
		wantAvoided []activities.Offering
		// wantInFlight: the second Plan request still counts the first claim against its
		// pool's limits; wantNominates: and says the claim holds its pods.
		wantInFlight, wantNominates bool
		// wantHolding: the claim's node is Ready and the second Plan request says its pods
		// are still being bound to it.
		wantHolding bool
	}{
		{
			name:          "a batch of pods on their way to a claim is planned, the claim nominating them",
			then:          func(r *provisionerRun) { r.signalPods(5*time.Second, "a", "b") },
			wantPlans:     2,
			wantInFlight:  true,
			wantNominates: true,
		},
		{
			name: "a failed claim's pods are planned again, no longer nominated, avoiding the offerings that ran out",
			then: func(r *provisionerRun) {
				r.at(5*time.Second, func() {
					r.env.SignalWorkflow(SignalClaimFailed, ClaimFailed{
						Claim: r.started[0].claim.Name, Pods: keys("a"), Reason: "no capacity",
						Unavailable: []activities.Offering{{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "on-demand"}},
					})
				})
			},
			wantPlans:   2,
			wantAvoided: []activities.Offering{{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "on-demand"}},
		},
		{
			name: "a Ready node's pods are no longer nominated, but held while the kube-scheduler binds them",
			then: func(r *provisionerRun) {
				r.at(5*time.Second, func() { r.env.SignalWorkflow(SignalNodeReady, NodeReady{Claim: r.started[0].claim.Name}) })
				r.signalPods(6*time.Second, "a")
			},
			wantPlans:   2,
			wantHolding: true,
		},
		{
			name: "a Ready node's pods still pending after the hold are planned again",
			then: func(r *provisionerRun) {
				r.at(5*time.Second, func() { r.env.SignalWorkflow(SignalNodeReady, NodeReady{Claim: r.started[0].claim.Name}) })
				r.signalPods(5*time.Second+readyHold, "a")
			},
			wantPlans: 2,
		},
		{
			name:          "a claim still booting after 16 minutes still holds its pods",
			then:          func(r *provisionerRun) { r.signalPods(16*time.Minute, "a") },
			wantPlans:     2,
			wantInFlight:  true,
			wantNominates: true,
		},
		{
			name:         "a claim silent past launch and registration lets its pods go but still counts against limits",
			then:         func(r *provisionerRun) { r.signalPods(nominationWindow+time.Minute, "a") },
			wantPlans:    2,
			wantInFlight: true,
		},
		{
			name:      "a claim that never reported back is let go once its node workflow would have given up",
			then:      func(r *provisionerRun) { r.signalPods(inFlightTTL+time.Minute, "a") },
			wantPlans: 2,
		},
		{
			name: "a failed claim without pods plans nothing",
			then: func(r *provisionerRun) {
				r.at(5*time.Second, func() {
					r.env.SignalWorkflow(SignalClaimFailed, ClaimFailed{Claim: r.started[0].claim.Name, Reason: "no capacity"})
				})
			},
			wantPlans: 1,
		},
		{
			name: "offerings that ran out are avoided for three minutes only",
			then: func(r *provisionerRun) {
				r.at(5*time.Second, func() {
					r.env.SignalWorkflow(SignalClaimFailed, ClaimFailed{
						Claim: r.started[0].claim.Name, Reason: "no capacity",
						Unavailable: []activities.Offering{{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "on-demand"}},
					})
				})
				r.signalPods(4*time.Minute, "b")
			},
			wantPlans: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newProvisionerRun(t, plan(claimFor("default", "a")))
			r.signalPods(0, "a")
			tt.then(r)
			r.run(t, inFlightTTL+5*time.Minute, ProvisionerInput{})
			if len(r.plans) != tt.wantPlans {
				t.Fatalf("%d Plan calls, want %d", len(r.plans), tt.wantPlans)
			}
			if tt.wantPlans < 2 {
				return
			}
			req := r.plans[1].req
			if !slices.Equal(req.Unavailable, tt.wantAvoided) {
				t.Errorf("second plan avoided %v, want %v", req.Unavailable, tt.wantAvoided)
			}
			var wantInFlight []activities.InFlightClaim
			if tt.wantInFlight {
				wantInFlight = []activities.InFlightClaim{{Name: r.started[0].claim.Name, NodePool: "default", Nominates: tt.wantNominates}}
			}
			if !slices.EqualFunc(req.InFlight, wantInFlight, func(a, b activities.InFlightClaim) bool {
				return a.Name == b.Name && a.NodePool == b.NodePool && a.Nominates == b.Nominates
			}) {
				t.Errorf("second plan counted in flight %+v, want %+v", req.InFlight, wantInFlight)
			}
			var wantHolding []string
			if tt.wantHolding {
				wantHolding = []string{r.started[0].claim.Name}
			}
			if !slices.Equal(req.Holding, wantHolding) {
				t.Errorf("second plan held the pods of %v, want %v", req.Holding, wantHolding)
			}
		})
	}
}

// A disruption's replacement counts against its pool's limits while it boots, and no longer
// once its node is Ready; a claim-started naming no pool is ignored.
func TestProvisionerCountsAReplacementInFlightUntilItsNodeIsReady(t *testing.T) {
	r := newProvisionerRun(t, plan(claimFor("default", "a")))
	replacement := ClaimStarted{Name: "default-rplc1", NodePool: "default", Nominates: true,
		Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}}
	r.at(time.Second, func() {
		r.env.SignalWorkflow(SignalClaimStarted, replacement)
		r.env.SignalWorkflow(SignalClaimStarted, ClaimStarted{Name: "default-nopool"})
	})
	r.signalPods(2*time.Second, "a")
	r.at(time.Minute, func() { r.env.SignalWorkflow(SignalNodeReady, NodeReady{Claim: replacement.Name}) })
	r.signalPods(2*time.Minute, "b")
	r.run(t, 5*time.Minute, ProvisionerInput{})

	if len(r.plans) != 2 {
		t.Fatalf("%d Plan calls, want 2", len(r.plans))
	}
	first := r.plans[0].req.InFlight
	if len(first) != 1 || first[0].Name != replacement.Name || first[0].Nominates || !first[0].Capacity.Cpu().Equal(resource.MustParse("8")) {
		t.Errorf("first plan counted in flight %+v, want only the replacement with its 8 CPU, holding no pods", first)
	}
	for _, c := range r.plans[1].req.InFlight {
		if c.Name == replacement.Name {
			t.Errorf("second plan still counts the replacement whose node is Ready: %+v", r.plans[1].req.InFlight)
		}
	}
}

// Signals anyone may send cannot grow the Provisioner's state without bound nor hold a
// pool's room: a replacement that settled before its claim-started arrived is not counted,
// replacements in flight and offerings avoided are capped, negative capacity is dropped.
func TestProvisionerBoundsWhatSignalsCarry(t *testing.T) {
	offering := activities.Offering{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot"}
	tests := []struct {
		name  string
		send  func(r *provisionerRun)
		check func(t *testing.T, req activities.PlanRequest, st ProvisionerState)
	}{
		{
			name: "a claim-started arriving after its claim failed is ignored",
			send: func(r *provisionerRun) {
				r.env.SignalWorkflow(SignalClaimFailed, ClaimFailed{Claim: "default-late1", Reason: "no capacity"})
				r.env.SignalWorkflow(SignalClaimStarted, ClaimStarted{Name: "default-late1", NodePool: "default"})
				r.env.SignalWorkflow(SignalNodeReady, NodeReady{Claim: "default-late2"})
				r.env.SignalWorkflow(SignalClaimStarted, ClaimStarted{Name: "default-late2", NodePool: "default"})
			},
			check: func(t *testing.T, req activities.PlanRequest, st ProvisionerState) {
				if len(req.InFlight) != 0 {
					t.Errorf("plan counted in flight %+v, want nothing: both claims had settled", req.InFlight)
				}
				if len(st.Settled) != 2 {
					t.Errorf("settled %v, want the two claims", st.Settled)
				}
			},
		},
		{
			name: "replacements in flight are capped",
			send: func(r *provisionerRun) {
				for i := range maxReplacementsInFlight + 20 {
					r.env.SignalWorkflow(SignalClaimStarted, ClaimStarted{Name: fmt.Sprintf("default-r%d", i), NodePool: "default"})
				}
			},
			check: func(t *testing.T, req activities.PlanRequest, _ ProvisionerState) {
				if len(req.InFlight) != maxReplacementsInFlight {
					t.Errorf("plan counted %d replacements in flight, want the cap %d", len(req.InFlight), maxReplacementsInFlight)
				}
			},
		},
		{
			name: "a claim-started with a name no claim can have, or a capacity of many resources, is ignored",
			send: func(r *provisionerRun) {
				r.env.SignalWorkflow(SignalClaimStarted, ClaimStarted{Name: strings.Repeat("x", 64), NodePool: "default"})
				many := corev1.ResourceList{}
				for i := range maxCapacityEntries + 1 {
					many[corev1.ResourceName(fmt.Sprintf("example.com/r%d", i))] = resource.MustParse("1")
				}
				r.env.SignalWorkflow(SignalClaimStarted, ClaimStarted{Name: "default-many", NodePool: "default", Capacity: many})
				r.env.SignalWorkflow(SignalNodeReady, NodeReady{Claim: strings.Repeat("y", 64)})
			},
			check: func(t *testing.T, req activities.PlanRequest, st ProvisionerState) {
				if len(req.InFlight) != 0 || len(st.Settled) != 0 {
					t.Errorf("in flight %+v, settled %v; want neither to keep anything", req.InFlight, st.Settled)
				}
			},
		},
		{
			name: "negative capacity in a claim-started is dropped",
			send: func(r *provisionerRun) {
				r.env.SignalWorkflow(SignalClaimStarted, ClaimStarted{Name: "default-neg", NodePool: "default", Capacity: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("-1000"), corev1.ResourceMemory: resource.MustParse("1Gi")}})
			},
			check: func(t *testing.T, req activities.PlanRequest, _ ProvisionerState) {
				if len(req.InFlight) != 1 || req.InFlight[0].Capacity.Cpu().Sign() != 0 || !req.InFlight[0].Capacity.Memory().Equal(resource.MustParse("1Gi")) {
					t.Errorf("plan counted in flight %+v, want default-neg with its memory and no cpu", req.InFlight)
				}
			},
		},
		{
			name: "an offering reported twice is avoided once",
			send: func(r *provisionerRun) {
				r.env.SignalWorkflow(SignalOfferingUnavailable, OfferingUnavailable{Offering: offering})
				r.env.SignalWorkflow(SignalOfferingUnavailable, OfferingUnavailable{Offering: offering})
			},
			check: func(t *testing.T, req activities.PlanRequest, _ ProvisionerState) {
				if !slices.Equal(req.Unavailable, []activities.Offering{offering}) {
					t.Errorf("plan avoided %v, want %v once", req.Unavailable, offering)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newProvisionerRun(t)
			r.at(time.Second, func() { tt.send(r) })
			r.signalPods(2*time.Second, "a")
			var st ProvisionerState
			r.at(time.Minute, func() { st = r.state(t) })
			r.run(t, 2*time.Minute, ProvisionerInput{})
			if len(r.plans) != 1 {
				t.Fatalf("%d Plan calls, want 1", len(r.plans))
			}
			tt.check(t, r.plans[0].req, st)
		})
	}
}

// Past maxUnavailable distinct offerings, the one due back soonest makes room.
func TestProvisionerAvoidsAtMostMaxUnavailableOfferings(t *testing.T) {
	p := &provisioner{}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxUnavailable + 5 {
		p.avoid(start.Add(time.Duration(i)*time.Second), activities.Offering{InstanceType: fmt.Sprintf("x%d.large", i), Zone: "z", CapacityType: "spot"})
	}
	if len(p.state.Unavailable) != maxUnavailable {
		t.Fatalf("%d offerings avoided, want the cap %d", len(p.state.Unavailable), maxUnavailable)
	}
	for _, u := range p.state.Unavailable {
		if u.InstanceType == "x4.large" {
			t.Error("x4.large, among the five due back soonest, is still avoided")
		}
	}
	if last := p.state.Unavailable[len(p.state.Unavailable)-1]; last.InstanceType != fmt.Sprintf("x%d.large", maxUnavailable+4) {
		t.Errorf("last avoided %s, want the one reported last", last.InstanceType)
	}
}

// A batch of many plans continues as new between two of them when the server suggests it,
// and the next run plans the rest at once.
func TestProvisionerContinuesAsNewBetweenThePlansOfABatch(t *testing.T) {
	more := func(r activities.PlanResult) activities.PlanResult { r.More = true; return r }
	r := newProvisionerRun(t, more(plan(claimFor("default", "a"))), more(plan(claimFor("default", "b"))), plan(claimFor("default", "c")))
	r.planTakes = time.Second
	r.signalPods(0, "a", "b", "c")
	r.at(1500*time.Millisecond, func() { r.env.SetContinueAsNewSuggested(true) }) // during the first plan
	r.execute(ProvisionerInput{})

	var can *workflow.ContinueAsNewError
	if err := r.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	if len(r.plans) != 1 {
		t.Errorf("%d Plan calls before continuing as new, want 1", len(r.plans))
	}
	var next ProvisionerInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatalf("decode continue-as-new input: %v", err)
	}
	if next.State.Signalled == 0 || len(next.State.InFlight) != 1 {
		t.Errorf("carried %d due and %d in flight, want the batch still due and the claim started", next.State.Signalled, len(next.State.InFlight))
	}
}

// A plan that leaves claims for later is followed at once by another, while claims start.
func TestProvisionerPlansAgainWhileClaimsAreLeftForLater(t *testing.T) {
	more := func(r activities.PlanResult) activities.PlanResult { r.More = true; return r }
	tests := []struct {
		name      string
		results   []activities.PlanResult
		failing   map[int]bool
		wantPlans int
		wantNodes int
	}{
		{name: "claims left for later are planned after a plan fails, with no new signal", results: []activities.PlanResult{
			more(plan(claimFor("default", "a"))), plan(claimFor("default", "b"))}, failing: map[int]bool{1: true},
			wantPlans: 3, wantNodes: 2},
		{name: "claims left for later are planned at once", results: []activities.PlanResult{
			more(plan(claimFor("default", "a"))), more(plan(claimFor("default", "b"))), plan(claimFor("default", "c"))},
			wantPlans: 3, wantNodes: 3},
		{name: "a plan that starts no claim ends the batch", results: []activities.PlanResult{
			more(plan(claimFor("default", "a"))), more(plan())},
			wantPlans: 2, wantNodes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newProvisionerRun(t, tt.results...)
			r.failing = tt.failing
			r.signalPods(0, "a", "b", "c")
			r.run(t, time.Minute, ProvisionerInput{})
			if len(r.plans) != tt.wantPlans || len(r.started) != tt.wantNodes {
				t.Fatalf("%d Plan calls starting %d nodes, want %d and %d", len(r.plans), len(r.started), tt.wantPlans, tt.wantNodes)
			}
			if tt.failing != nil {
				return
			}
			for i, p := range r.plans[1:] {
				if p.at != r.plans[0].at {
					t.Errorf("plan %d at %s, want at once, at %s", i+2, p.at, r.plans[0].at)
				}
				if len(p.req.InFlight) != i+1 {
					t.Errorf("plan %d saw %d claims in flight, want the %d started before it", i+2, len(p.req.InFlight), i+1)
				}
			}
		})
	}
}

func TestProvisionerContinuesAsNewWithoutLosingASignal(t *testing.T) {
	r := newProvisionerRun(t, plan(claimFor("default", "a")))
	r.planTakes = 2 * time.Second
	r.signalPods(0, "a")
	// The batch closes at 1s and Plan runs until 3s. Pod b is signalled at 2s, while Plan
	// runs, so it is still buffered in the channel when the Provisioner continues as new.
	r.at(2*time.Second, func() {
		r.env.SetContinueAsNewSuggested(true)
		r.env.SignalWorkflow(SignalPendingPods, PendingPods{Pods: refs("b")})
	})
	r.execute(ProvisionerInput{})

	var can *workflow.ContinueAsNewError
	if err := r.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next ProvisionerInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatalf("decode continue-as-new input: %v", err)
	}
	if next.State.Signalled != 1 || len(next.State.Pending) > 0 || len(next.State.Nominations) > 0 {
		t.Errorf("carried %d pods due (pods %v, nominations %v), want pod b counted and nothing per pod",
			next.State.Signalled, next.State.Pending, next.State.Nominations)
	}
	if _, ok := next.State.InFlight[r.started[0].claim.Name]; len(r.started) != 1 || !ok {
		t.Errorf("carried claims in flight %v, want the started claim", slices.Collect(maps.Keys(next.State.InFlight)))
	}
	if next.State.ClaimsStarted != 1 || next.State.Batches != 1 {
		t.Errorf("carried counters claims=%d batches=%d, want 1 and 1", next.State.ClaimsStarted, next.State.Batches)
	}
}

// State carried from a run that kept pods and nominations per pod still loads: its pods
// are planned, its claims nominate theirs, and nothing per pod is kept.
func TestProvisionerResumesFromCarriedState(t *testing.T) {
	r := newProvisionerRun(t)
	carried := ProvisionerState{
		Pending:     map[string]PodRef{"ns/a": {Namespace: "ns", Name: "a"}, "ns/b": {Namespace: "ns", Name: "b"}},
		Nominations: map[string]Nomination{"ns/a": {Claim: "default-old01", At: r.env.Now()}},
		InFlight:    map[string]InFlightClaim{"default-old01": {InFlightClaim: activities.InFlightClaim{Name: "default-old01", NodePool: "default"}, At: r.env.Now()}},
	}
	var st ProvisionerState
	r.at(30*time.Second, func() { st = r.state(t) })
	r.run(t, time.Minute, ProvisionerInput{State: carried})
	if len(r.plans) != 1 {
		t.Fatalf("%d Plan calls, want 1 for the carried pending pods", len(r.plans))
	}
	req := r.plans[0].req
	if len(req.InFlight) != 1 || req.InFlight[0].Name != "default-old01" || !req.InFlight[0].Nominates {
		t.Errorf("in flight %+v, want the carried claim default-old01 nominating its pods", req.InFlight)
	}
	if len(st.Pending) > 0 || len(st.Nominations) > 0 || st.Signalled != 0 {
		t.Errorf("state after the plan keeps pods %v, nominations %v, %d due; want none", st.Pending, st.Nominations, st.Signalled)
	}
}

// Runs recorded before changePlanFromCluster keep pods and nominations per pod and skip a
// batch whose pods are all nominated, as they did when recorded; a batch with a pod not
// nominated, or only counted, is planned.
func TestProvisionerRecordedBeforePlanningFromTheClusterSkipsNominatedBatches(t *testing.T) {
	tests := []struct {
		name      string
		then      func(r *provisionerRun)
		wantPlans int
	}{
		{name: "only nominated pods", then: func(r *provisionerRun) { r.signalPods(5*time.Second, "a") }, wantPlans: 1},
		{name: "a pod not nominated", then: func(r *provisionerRun) { r.signalPods(5*time.Second, "a", "b") }, wantPlans: 2},
		{name: "pods only counted", then: func(r *provisionerRun) {
			r.at(5*time.Second, func() { r.env.SignalWorkflow(SignalPendingPods, PendingPods{Count: 3}) })
		}, wantPlans: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newProvisionerRun(t, plan(claimFor("default", "a")))
			r.env.OnGetVersion(changePlanFromCluster, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			r.signalPods(0, "a")
			tt.then(r)
			r.run(t, time.Minute, ProvisionerInput{})
			if len(r.plans) != tt.wantPlans {
				t.Errorf("%d Plan calls, want %d", len(r.plans), tt.wantPlans)
			}
		})
	}
}
