package workflows

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestProvisionerBatchesPods(t *testing.T) {
	t.Run("pods signalled half a second apart form one batch that closes after a second of quiet", func(t *testing.T) {
		r := newProvisionerRun(t)
		r.signalPods(0, "a")
		r.signalPods(500*time.Millisecond, "b")
		r.signalPods(time.Second, "c")
		r.run(t, time.Minute, ProvisionerInput{})
		if len(r.plans) != 1 {
			t.Fatalf("%d Plan calls, want 1", len(r.plans))
		}
		if got := r.plans[0].at; got != 2*time.Second {
			t.Errorf("batch closed at %s, want 2s (1s after the last pod)", got)
		}
	})

	t.Run("a steady stream of pods closes the batch after ten seconds", func(t *testing.T) {
		r := newProvisionerRun(t)
		r.signalPods(0, "p0")
		// One pod every 0.5s, offset so that none lands exactly on the 10s boundary.
		for i := 1; i < 30; i++ {
			r.signalPods(100*time.Millisecond+time.Duration(i)*500*time.Millisecond, fmt.Sprintf("p%d", i))
		}
		var signalled []int // pods due, just before each batch closes
		for _, at := range []time.Duration{9900 * time.Millisecond, 15500 * time.Millisecond} {
			r.at(at, func() { signalled = append(signalled, r.state(t).Signalled) })
		}
		r.run(t, time.Minute, ProvisionerInput{})
		if len(r.plans) != 2 {
			t.Fatalf("%d Plan calls, want 2", len(r.plans))
		}
		if got := r.plans[0].at; got != 10*time.Second {
			t.Errorf("first batch closed at %s, want 10s", got)
		}
		if got, want := r.plans[1].at, 15600*time.Millisecond; got != want {
			t.Errorf("second batch closed at %s, want %s (1s after the last pod at 14.6s)", got, want)
		}
		if !slices.Equal(signalled, []int{20, 10}) {
			t.Errorf("pods due before each batch closed %v, want [20 10]", signalled)
		}
	})
}

func TestProvisionerBatchesWithTheWorkersWindow(t *testing.T) {
	window := func(idle, max time.Duration) *BatchWindow {
		return &BatchWindow{Idle: Duration(idle), Max: Duration(max)}
	}
	tests := []struct {
		name   string
		window *BatchWindow
		// pods are signalled every 2s, 0s to 8s
		wantPlanAt time.Duration
	}{
		{name: "a 3s idle window keeps the batch open across 2s gaps until its 5s maximum", window: window(3*time.Second, 5*time.Second), wantPlanAt: 5 * time.Second},
		{name: "a 3s idle window with a long maximum closes 3s after the last pod", window: window(3*time.Second, time.Minute), wantPlanAt: 11 * time.Second},
		{name: "a window whose idle time exceeds its maximum is ignored for the defaults", window: window(time.Minute, time.Second), wantPlanAt: 1 * time.Second},
		{name: "a window over the longest allowed is ignored for the defaults", window: window(time.Second, time.Hour), wantPlanAt: 1 * time.Second},
		{name: "a window with no idle time is ignored for the defaults", window: window(0, 5*time.Second), wantPlanAt: 1 * time.Second},
		{name: "a window with negative times is ignored for the defaults", window: window(-time.Second, -time.Second), wantPlanAt: 1 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newProvisionerRun(t)
			for i := range 5 {
				at := time.Duration(i) * 2 * time.Second
				r.at(at, func() {
					r.env.SignalWorkflow(SignalPendingPods, PendingPods{Count: 1, Batch: tt.window})
				})
			}
			r.run(t, time.Minute, ProvisionerInput{})
			if len(r.plans) == 0 || r.plans[0].at != tt.wantPlanAt {
				t.Fatalf("plans %v, want the first at %s", r.plans, tt.wantPlanAt)
			}
		})
	}
}

// The batch timer stands while other signals arrive: a node becoming Ready does not move
// the batch's deadline, so it neither restarts the timer nor delays the plan.
func TestProvisionerKeepsTheBatchTimerWhileItsDeadlineStands(t *testing.T) {
	r := newProvisionerRun(t)
	timers := recordChildOptions(r.env)
	r.signalPods(0, "a")
	for i := 1; i <= 8; i++ {
		r.at(time.Duration(i)*100*time.Millisecond, func() {
			r.env.SignalWorkflow(SignalNodeReady, NodeReady{Claim: fmt.Sprintf("default-%05d", i)})
		})
	}
	r.run(t, time.Minute, ProvisionerInput{})
	if len(r.plans) != 1 || r.plans[0].at != time.Second {
		t.Fatalf("plans at %v, want one at 1s", r.plans)
	}
	if got := timers.timersStarted(); got != 1 {
		t.Errorf("%d timers started for one batch with 8 other signals in it, want 1", got)
	}
}
