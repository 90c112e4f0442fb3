package workflows

import (
	"testing"
	"time"
)

// A signal whose payload does not decode is dropped and the node goes on: a later drain is
// still acted on. Receive inside the handler waited for the next good drain instead, and
// with it every timer and signal of the node, so a node wedged by one bad signal ignored
// expiry, interruption and drains.
func TestABadSignalDoesNotWedgeTheNode(t *testing.T) {
	drain := DrainRequest{Reason: "after the bad signal"}
	spot := Interrupt{Kind: "SpotInterruption"}
	tests := []struct {
		name     string
		signal   string
		payload  any
		next     string // a good signal on another channel, which a wedged node would never see
		nextArg  any
		nextTime time.Duration
	}{
		{"a drain with a grace period that is no duration", SignalDrain, map[string]string{"gracePeriod": "1d"}, SignalInterrupt, spot, 20 * time.Minute},
		{"an interruption with a field of the wrong type", SignalInterrupt, map[string]any{"kind": 42}, SignalDrain, drain, 20 * time.Minute},
		{"a disruption with a field of the wrong type", SignalDisrupt, map[string]any{"reason": []int{1}}, SignalDrain, drain, 20 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newControlsRun(t)
			r.happyPath()
			r.signalAt(10*time.Minute, tt.signal, tt.payload)
			var after NodeState
			r.queryAt(t, 11*time.Minute, &after)
			next := tt.nextArg
			if in, ok := next.(Interrupt); ok {
				in.Deadline = r.start.Add(tt.nextTime + 2*time.Minute) // EC2's two minutes' notice
				next = in
			}
			r.signalAt(tt.nextTime, tt.next, next)
			r.executeClaim(testNodeClaim())

			if after.Phase != PhaseReady {
				t.Errorf("phase after the bad signal %s, want Ready", after.Phase)
			}
			if got := r.onlyDrain(t); got.at.Sub(r.start) != tt.nextTime {
				t.Errorf("drained at %s for %q, want at %s, on the good %s signal", got.at.Sub(r.start), got.req.Reason, tt.nextTime, tt.next)
			}
		})
	}
}

// A node-ready signal with a field of the wrong type is dropped and the Provisioner goes on
// planning: before, it waited in the handler for the next good node-ready, and pods
// signalled meanwhile were never planned.
func TestABadSignalDoesNotWedgeTheProvisioner(t *testing.T) {
	r := newProvisionerRun(t)
	r.at(0, func() { r.env.SignalWorkflow(SignalNodeReady, map[string]any{"claim": 42}) })
	r.signalPods(time.Second, "a")
	r.run(t, time.Minute, ProvisionerInput{})
	if len(r.plans) != 1 || r.plans[0].at != 2*time.Second {
		t.Fatalf("plans %+v, want pod a planned after the bad signal", r.plans)
	}
}
