package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

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
