package workflows

import (
	"slices"
	"testing"
	"time"
)

// Tests of the NodeClaim side of a node's life: the drain a `kubectl delete` sends, and the
// rewrite after a NodeClaim is deleted from under the node. happyPath makes the node Ready
// at 3m.

// A drain that starts sooner (a NodeClaim deleted) replaces a manual drain still waiting for
// its grace period; one that starts later does not.
func TestNodeLifecycleSoonerDrainReplacesAWaitingManualDrain(t *testing.T) {
	tests := []struct {
		name        string
		second      DrainRequest
		wantDrainAt time.Duration
		wantReason  string
	}{
		{name: "a deletion drains now", second: DrainRequest{Reason: "nodeclaim deleted"}, wantDrainAt: 5 * time.Minute, wantReason: "nodeclaim deleted"},
		{name: "a later drain leaves the first", second: DrainRequest{Reason: "later", GracePeriod: Duration(time.Hour)}, wantDrainAt: 34 * time.Minute, wantReason: "kernel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newControlsRun(t)
			r.happyPath()
			r.signalAt(4*time.Minute, SignalDrain, DrainRequest{Reason: "kernel", GracePeriod: Duration(30 * time.Minute)})
			r.signalAt(5*time.Minute, SignalDrain, tt.second)
			r.executeClaim(claimWith(0, 0))

			drain := r.onlyDrain(t)
			if at := drain.at.Sub(r.start); at != tt.wantDrainAt || drain.req.Reason != tt.wantReason {
				t.Errorf("drained at %s for %q, want at %s for %q", at, drain.req.Reason, tt.wantDrainAt, tt.wantReason)
			}
		})
	}
}

// A resync signal, sent when the NodeClaim was deleted from under a live node, writes it again;
// the signal carries no payload the workflow has to trust.
func TestNodeLifecycleResyncRewritesTheNodeClaim(t *testing.T) {
	r := newControlsRun(t)
	r.happyPath()
	r.signalAt(10*time.Minute, SignalResyncNodeClaim, nil)
	r.signalAt(20*time.Minute, SignalResyncNodeClaim, "ignored payload")
	r.signalAt(30*time.Minute, SignalDrain, DrainRequest{Reason: "done"})
	r.executeClaim(claimWith(0, 0))

	want := []string{"Launching", "Registering", "Initializing", "Ready", "Ready", "Ready", "Draining", "Terminating"}
	if !slices.Equal(r.projections, want) {
		t.Errorf("NodeClaim written at %v, want %v: once per phase and once per resync (a drain that starts at once is written with its phase)", r.projections, want)
	}
	if st := r.finalState(t); st.Phase != PhaseTerminated {
		t.Errorf("final phase %s", st.Phase)
	}
}

// A manual drain withdrawn before it begins is withdrawn from the NodeClaim too.
func TestNodeLifecycleCancelledDrainLeavesTheNodeClaim(t *testing.T) {
	r := newControlsRun(t)
	r.happyPath()
	r.signalAt(4*time.Minute, SignalDrain, DrainRequest{Reason: "kernel", GracePeriod: Duration(time.Hour)})
	r.signalAt(5*time.Minute, SignalCancelDrain, nil)
	r.signalAt(10*time.Minute, SignalDrain, DrainRequest{Reason: "done"})
	r.executeClaim(claimWith(0, 0))

	wantPhases := []string{"Launching", "Registering", "Initializing", "Ready", "Ready", "Ready", "Draining", "Terminating"}
	wantDisrupting := []bool{false, false, false, false, true, false, true, true}
	if !slices.Equal(r.projections, wantPhases) || !slices.Equal(r.disrupting, wantDisrupting) {
		t.Errorf("NodeClaim written at %v disrupting %v, want %v and %v", r.projections, r.disrupting, wantPhases, wantDisrupting)
	}
}
