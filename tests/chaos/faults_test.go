//go:build chaos

package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/faultproxy"
)

// R0: the same scale-out and scale-in with no fault, the baseline for the others' figures.
func r0Baseline(t *testing.T) {
	r := newScaleRun(t, "R0", *nodes, oneCPUPerNode)
	r.scaleOut(15 * time.Minute)
	r.scaleIn(15 * time.Minute)
	r.finish()
}

// R3: half the offerings short of capacity, a fifth of EC2 calls throttled and one response in
// twenty lost, through a scale-out and the scale-in after it: every pod placed, nothing leaked,
// nothing launched twice.
func r3EC2Faults(t *testing.T) {
	r := newScaleRun(t, "R3", *nodes, oneCPUPerNode)
	setEC2Chaos(t, ec2sim.Chaos{Seed: 3, InsufficientCapacity: 0.5, Throttle: map[string]float64{ec2sim.AllActions: 0.2}, DropResponses: 0.05})
	fleets := lab.EC2.Calls("CreateFleet")
	r.scaleOut(15 * time.Minute)
	r.scaleIn(15 * time.Minute)
	r.fig.extra = fmt.Sprintf("create-fleet-calls=%d", lab.EC2.Calls("CreateFleet")-fleets)
	r.finish()
}

// R4: a tenth of the worker's API requests fail (500, 429, reset): the system converges.
func r4APIServerFaults(t *testing.T) {
	r := newScaleRun(t, "R4", *nodes, oneCPUPerNode)
	setKubeFaults(t, faultproxy.Faults{Seed: 4, Rate: 0.1})
	before := lab.KubeProxy.Stats()
	r.scaleOut(15 * time.Minute)
	r.scaleIn(15 * time.Minute)
	after := lab.KubeProxy.Stats()
	failed := 0
	for k := range after.Failed {
		failed += after.Failed[k] - before.Failed[k]
	}
	r.fig.extra = fmt.Sprintf("api-requests=%d api-failed=%d", after.Requests-before.Requests, failed)
	r.finish()
}

func setEC2Chaos(t *testing.T, c ec2sim.Chaos) {
	t.Helper()
	if err := lab.EC2.SetChaos(c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.EC2.SetChaos(ec2sim.Chaos{}) })
}

func setKubeFaults(t *testing.T, f faultproxy.Faults) {
	t.Helper()
	if err := lab.KubeProxy.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.KubeProxy.SetFaults(faultproxy.Faults{}) })
}
