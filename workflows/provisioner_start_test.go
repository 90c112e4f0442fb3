package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/nodewright/nodewright/activities"
)

// startWorkflows stands in for the activity that starts node workflows: it records each
// start as running, unless its ID is taken or its start is refused.
func (r *provisionerRun) startWorkflows(_ context.Context, starts []activities.WorkflowStart) ([]activities.StartOutcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startCalls++
	var ids []string
	for _, s := range starts {
		ids = append(ids, s.RequestID)
	}
	r.requestIDs = append(r.requestIDs, ids)
	if r.startsFail {
		return nil, temporal.NewNonRetryableApplicationError("frontend unreachable", "Test", nil)
	}
	if r.startsFailFirst > 0 {
		r.startsFailFirst--
		return nil, errors.New("frontend unavailable for now")
	}
	out := make([]activities.StartOutcome, len(starts))
	for i, s := range starts {
		if s.Type != "NodeLifecycleWorkflow" || s.TaskQueue != TaskQueue || s.RequestID == "" || s.TaskTimeout != nodeWorkflowTaskTimeout {
			out[i].Error = fmt.Sprintf("bad start %+v", s)
			continue
		}
		pool := s.ID[len("node/") : len(s.ID)-len("-xxxxx")]
		if r.taken[pool] > 0 {
			r.taken[pool]--
			out[i].Taken = true
			continue
		}
		if r.refused[pool] {
			out[i].Error = "refused"
			continue
		}
		var in NodeLifecycleInput
		if err := json.Unmarshal(s.Input, &in); err != nil || !in.Listed {
			out[i].Error = fmt.Sprintf("input %s: %v", s.Input, err)
			continue
		}
		r.started = append(r.started, startedNode{id: s.ID, claim: in.Claim})
		r.starts = append(r.starts, s)
	}
	return out, nil
}

func TestProvisionerStartsOneNodeWorkflowPerClaim(t *testing.T) {
	r := newProvisionerRun(t, plan(claimFor("default", "a", "b"), claimFor("gpu", "c")))
	r.signalPods(0, "a", "b", "c")
	var st ProvisionerState
	r.at(30*time.Second, func() { st = r.state(t) })
	r.run(t, time.Minute, ProvisionerInput{})

	byPool := r.startedByPool()
	if len(r.started) != 2 || len(byPool["default"]) != 1 || len(byPool["gpu"]) != 1 {
		t.Fatalf("node workflows started per pool: %v, want one default and one gpu", byPool)
	}
	for _, s := range r.started {
		if !claimNamePattern.MatchString(s.claim.Name) || !strings.HasPrefix(s.claim.Name, s.claim.NodePool+"-") {
			t.Errorf("claim name %q is not %s-<5 lowercase alphanumerics>", s.claim.Name, s.claim.NodePool)
		}
		if s.id != "node/"+s.claim.Name {
			t.Errorf("workflow id %q, want node/%s", s.id, s.claim.Name)
		}
	}
	want := []string{byPool["default"][0], byPool["gpu"][0]}
	slices.Sort(want)
	if got := slices.Sorted(maps.Keys(st.InFlight)); !slices.Equal(got, want) {
		t.Errorf("claims in flight %v, want %v", got, want)
	}
	if len(st.Pending) > 0 || len(st.Nominations) > 0 {
		t.Errorf("state keeps pods %v and nominations %v, want nothing per pod", st.Pending, st.Nominations)
	}
}

func TestClaimNamesAreStableForASeed(t *testing.T) {
	a, b := ClaimName("default", "run-1/1"), ClaimName("default", "run-1/2")
	if a != ClaimName("default", "run-1/1") {
		t.Errorf("the same seed gave %s and then %s", a, ClaimName("default", "run-1/1"))
	}
	if a == b {
		t.Errorf("seeds run-1/1 and run-1/2 both gave %s", a)
	}
	if !claimNamePattern.MatchString(a) {
		t.Errorf("claim name %q is not <nodepool>-<5 lowercase alphanumerics>", a)
	}
}

// Node workflows start from one local activity per plan: a claim whose generated name is
// taken is renamed, up to claimNameAttempts names; a claim whose start is refused, or all
// of a plan's claims when the activity fails for good, have their pods planned again.
func TestProvisionerStartsNodeWorkflows(t *testing.T) {
	tests := []struct {
		name        string
		takenGPU    int // starts of the gpu claim whose name is taken
		refusedPool string
		startsFail  bool
		failFirst   int
		wantStarted []string // pools whose claims run
		// wantInFlight are the pools whose claims count in flight when not wantStarted.
		wantInFlight []string
		wantCalls    int // StartWorkflows calls in the first batch
		wantReplan   bool
	}{
		{name: "both claims start in one call", wantStarted: []string{"default", "gpu"}, wantCalls: 1},
		{name: "a taken name is renamed and started", takenGPU: 1, wantStarted: []string{"default", "gpu"}, wantCalls: 2},
		{name: "a claim whose names are all taken fails and its pods are planned again",
			takenGPU: claimNameAttempts, wantStarted: []string{"default"}, wantCalls: claimNameAttempts, wantReplan: true},
		{name: "a refused start fails its claim and its pods are planned again",
			refusedPool: "gpu", wantStarted: []string{"default"}, wantCalls: 1, wantReplan: true},
		{name: "a call that fails for now is retried with the same request ids",
			failFirst: 2, wantStarted: []string{"default", "gpu"}, wantCalls: 3},
		{name: "when the starts stay unknown, every claim counts in flight and nothing is planned again",
			startsFail: true, wantInFlight: []string{"default", "gpu"}, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newProvisionerRun(t, plan(claimFor("default", "a"), claimFor("gpu", "b")))
			r.taken, r.refused, r.startsFail = map[string]int{"gpu": tt.takenGPU}, map[string]bool{tt.refusedPool: true}, tt.startsFail
			r.startsFailFirst = tt.failFirst
			r.signalPods(0, "a", "b")
			var st ProvisionerState
			var calls int
			r.at(5*time.Second, func() {
				st = r.state(t)
				r.mu.Lock()
				calls = r.startCalls
				r.mu.Unlock()
			})
			r.run(t, time.Minute, ProvisionerInput{})

			// The claims of the first batch; a second batch re-plans with no claims.
			var pools, names []string
			for _, s := range r.started {
				pools, names = append(pools, s.claim.NodePool), append(names, s.claim.Name)
			}
			slices.Sort(pools)
			if !slices.Equal(pools, tt.wantStarted) {
				t.Fatalf("node workflows started for pools %v, want %v", pools, tt.wantStarted)
			}
			if calls != tt.wantCalls {
				t.Errorf("%d StartWorkflows calls, want %d", calls, tt.wantCalls)
			}
			slices.Sort(names)
			if tt.wantInFlight != nil {
				var inFlight []string
				for _, c := range st.InFlight {
					inFlight = append(inFlight, c.NodePool)
				}
				if slices.Sort(inFlight); !slices.Equal(inFlight, tt.wantInFlight) {
					t.Errorf("claims in flight for pools %v, want %v", inFlight, tt.wantInFlight)
				}
			} else if got := slices.Sorted(maps.Keys(st.InFlight)); !slices.Equal(got, names) {
				t.Errorf("claims in flight %v, want the started ones %v", got, names)
			}
			if tt.failFirst > 0 {
				for i, ids := range r.requestIDs[1:] {
					if !slices.Equal(ids, r.requestIDs[0]) {
						t.Errorf("call %d sent request ids %v, want the first call's %v", i+2, ids, r.requestIDs[0])
					}
				}
			}
			if replanned := len(r.plans) > 1; replanned != tt.wantReplan {
				t.Errorf("%d plans, want a second one for failed claims: %v", len(r.plans), tt.wantReplan)
			}
			seen := map[string]bool{}
			for _, s := range r.starts {
				if seen[s.RequestID] || !strings.HasSuffix(s.RequestID, "/"+strings.TrimPrefix(s.ID, "node/")) {
					t.Errorf("start %s has request id %q, want one per claim ending in its name", s.ID, s.RequestID)
				}
				seen[s.RequestID] = true
			}
		})
	}
}

// A plan of more claims than one call takes starts them in calls of startsPerCall, together.
func TestProvisionerStartsALargePlanInSeveralCalls(t *testing.T) {
	var claims []activities.Claim
	for i := range startsPerCall + 2 {
		claims = append(claims, claimFor("default", fmt.Sprintf("p%d", i)))
	}
	r := newProvisionerRun(t, plan(claims...))
	r.signalPods(0, "p0")
	r.run(t, time.Minute, ProvisionerInput{})
	if len(r.started) != len(claims) || r.startCalls != 2 {
		t.Errorf("%d of %d claims started in %d calls, want all in 2", len(r.started), len(claims), r.startCalls)
	}
	if got := len(r.state(t).InFlight); got != len(claims) {
		t.Errorf("%d claims in flight, want %d", got, len(claims))
	}
}
