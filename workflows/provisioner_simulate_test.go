package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

// simulateOutcome is one simulate update's answer, or why it was refused or failed.
type simulateOutcome struct {
	sim      activities.Simulation
	rejected error
	failed   error
}

// The simulate update answers with the planner's dry run, made with the Provisioner's
// in-flight claims and avoided offerings; it plans nothing, starts no node, and refuses a
// third dry run while two are under way.
func TestSimulateAnswersTheDryRunAndLaunchesNothing(t *testing.T) {
	r := newProvisionerRun(t)
	planned := activities.Simulation{Pods: 2, Nodes: []activities.Claim{{NodePool: "general", InstanceTypes: []string{"m5.large"}, PricePerHour: 0.096, Pods: []string{"ns/a", "ns/b"}}}, CostPerHour: 0.096, CostLowerBound: 0.09}
	var (
		mu    sync.Mutex // the two dry runs run at once
		asked []activities.PlanRequest
	)
	planner := &activities.Planner{}
	r.env.OnActivity(planner.Simulate, mock.Anything, mock.Anything).After(time.Minute).Return(
		func(_ context.Context, req activities.PlanRequest) (activities.Simulation, error) {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, req)
			return planned, nil
		})
	inFlight := InFlightClaim{InFlightClaim: activities.InFlightClaim{Name: "general-abcde", NodePool: "general"}, At: r.env.Now()}
	outcomes := make([]*simulateOutcome, 3)
	for i := range outcomes {
		out := &simulateOutcome{}
		outcomes[i] = out
		r.at(time.Second, func() {
			r.env.UpdateWorkflow(UpdateSimulate, "simulate-"+string(rune('a'+i)), &testsuite.TestUpdateCallback{
				OnAccept:   func() {},
				OnReject:   func(err error) { out.rejected = err },
				OnComplete: func(v any, err error) { out.sim, _ = v.(activities.Simulation); out.failed = err },
			}, SimulateRequest{})
		})
	}
	r.run(t, 5*time.Minute, ProvisionerInput{State: ProvisionerState{InFlight: map[string]InFlightClaim{inFlight.Name: inFlight}}})

	for i, out := range outcomes[:2] {
		if out.rejected != nil || out.failed != nil {
			t.Fatalf("simulate %d: rejected %v, failed %v; want the dry run", i, out.rejected, out.failed)
		}
		if out.sim.CostPerHour != planned.CostPerHour || len(out.sim.Nodes) != 1 || out.sim.Nodes[0].NodePool != "general" {
			t.Errorf("simulate %d answered %+v, want the planner's %+v", i, out.sim, planned)
		}
	}
	if outcomes[2].rejected == nil {
		t.Errorf("a third simulate while two were under way was accepted; want it refused")
	}
	if len(asked) != 2 || len(asked[0].InFlight) != 1 || asked[0].InFlight[0].Name != inFlight.Name || !asked[0].InFlight[0].Nominates {
		t.Errorf("the planner was asked %+v, want two dry runs with the in-flight claim %s nominating its pods", asked, inFlight.Name)
	}
	if len(r.plans) != 0 || len(r.started) != 0 {
		t.Errorf("simulate planned %d batches and started %d nodes, want none", len(r.plans), len(r.started))
	}
}

// A run that waits to continue as new refuses new simulations: otherwise simulations asked
// one after another, each overlapping the last, would hold it open for good, and no pending
// pod would be planned meanwhile.
func TestSimulationsDoNotHoldTheProvisionerOpen(t *testing.T) {
	r := newProvisionerRun(t)
	planner := &activities.Planner{}
	r.env.OnActivity(planner.Simulate, mock.Anything, mock.Anything).After(time.Minute).Return(activities.Simulation{}, nil)
	var accepted, rejected int
	var refusal error
	for i := range 30 {
		r.at(time.Duration(i)*40*time.Second+500*time.Millisecond, func() {
			r.env.UpdateWorkflow(UpdateSimulate, fmt.Sprintf("simulate-%d", i), &testsuite.TestUpdateCallback{
				OnAccept:   func() { accepted++ },
				OnReject:   func(err error) { rejected++; refusal = err },
				OnComplete: func(any, error) {},
			}, SimulateRequest{})
		})
	}
	r.signalPods(2*time.Second, "a")
	r.at(2500*time.Millisecond, func() { r.env.SetContinueAsNewSuggested(true) })
	r.at(20*time.Minute, r.env.CancelWorkflow)
	r.execute(ProvisionerInput{})

	var can *workflow.ContinueAsNewError
	if err := r.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("the Provisioner ended with %v, want to continue as new", err)
	}
	if accepted > 2 || rejected == 0 || !strings.Contains(refusal.Error(), "continuing as new") {
		t.Errorf("%d simulations accepted and %d refused (last: %v); want at most the 2 under way when the run closed, the rest refused", accepted, rejected, refusal)
	}
}
