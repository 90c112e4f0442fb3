package workflows

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/nodewright/nodewright/activities"
)

// mockAllButDrains mocks a node's life at once, from launch to the drain's taint and from
// termination on; each test mocks DrainNode as its case needs.
func (r *controlsRun) mockAllButDrains() {
	r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(testInstance(), nil)
	r.env.OnActivity(r.kube.RegisterNode, mock.Anything, mock.Anything).Return(testNode, nil)
	r.env.OnActivity(r.kube.SyncNode, mock.Anything, mock.Anything).Return(nil)
	r.env.OnActivity(r.kube.WaitNodeInitialized, mock.Anything, activities.InitializeRequest{NodeName: testNode}).Return(nil)
	r.env.OnActivity(r.kube.TaintOwnNode, mock.Anything, mock.MatchedBy(func(req activities.TaintRequest) bool { return req.NodeName == testNode })).Return(nil)
	r.env.OnActivity(r.ec2.Terminate, mock.Anything, mock.Anything).Return(nil)
	r.env.OnActivity(r.kube.DeleteNode, mock.Anything, mock.Anything).Return(nil)
}

// A voluntary drain that do-not-disrupt pods keep from finishing is tried again; the node
// is terminated only once it completes, and the pods left show meanwhile.
func TestBlockedDrainIsRetriedBeforeTermination(t *testing.T) {
	r := newControlsRun(t)
	r.mockAllButDrains()
	blocked := activities.DrainResult{Blocked: map[string]string{"ns/batch": activities.BlockedByDoNotDisrupt}}
	r.env.OnActivity(r.kube.DrainNode, mock.Anything, mock.Anything).Return(blocked, nil).Twice()
	r.env.OnActivity(r.kube.DrainNode, mock.Anything, mock.Anything).Return(activities.DrainResult{Completed: true}, nil).Once()

	var during NodeState
	r.signalAt(time.Minute, SignalDrain, DrainRequest{Reason: "maintenance"})
	r.queryAt(t, time.Minute+45*time.Second, &during)
	r.executeClaim(testNodeClaim())

	if got := r.drainTimes(); !slices.Equal(got, []time.Duration{time.Minute, time.Minute + drainRetryDelay, time.Minute + 2*drainRetryDelay}) {
		t.Errorf("drain attempts at %v, want every %s until one completes", got, drainRetryDelay)
	}
	if during.Phase != PhaseDraining || during.PodsLeft["ns/batch"] != activities.BlockedByDoNotDisrupt {
		t.Errorf("while blocked: phase %s, pods left %v; want Draining with ns/batch blocked by do-not-disrupt", during.Phase, during.PodsLeft)
	}
	if i, j := slices.Index(r.activities, "Terminate"), len(r.activities); i < 0 || i < j-3 {
		t.Errorf("activities %v: Terminate must follow the completed drain", r.activities)
	}
	if r.drains[0].req.Forceful {
		t.Error("a manual drain was forceful; only expiration and interruption are")
	}
}

// An interruption that arrives while the node drains makes the drain forceful and brings its
// deadline forward to the instance's end, at once: during a drain attempt or between two.
func TestInterruptionDuringDrainSetsItsDeadline(t *testing.T) {
	tests := []struct {
		name string
		// firstTakes is how long the first, blocked drain attempt runs.
		firstTakes  time.Duration
		interruptAt time.Duration
	}{
		{name: "during a drain attempt", firstTakes: drainRound, interruptAt: 2 * time.Minute},
		{name: "between two attempts", firstTakes: 0, interruptAt: time.Minute + 10*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newControlsRun(t)
			r.mockAllButDrains()
			blocked := activities.DrainResult{Blocked: map[string]string{"ns/web": "PodDisruptionBudget ns/web"}}
			r.env.OnActivity(r.kube.DrainNode, mock.Anything, mock.Anything).After(tt.firstTakes).Return(blocked, nil).Once()
			r.env.OnActivity(r.kube.DrainNode, mock.Anything, mock.Anything).Return(activities.DrainResult{Completed: true}, nil)

			end := r.start.Add(4 * time.Minute)
			r.signalAt(time.Minute, SignalDrain, DrainRequest{Reason: "maintenance"})
			r.signalAt(tt.interruptAt, SignalInterrupt, Interrupt{Kind: "SpotInterruption", Deadline: end})
			r.executeClaim(testNodeClaim())

			if len(r.drains) < 2 {
				t.Fatalf("drain attempts at %v, want a second one for the interruption", r.drainTimes())
			}
			second := r.drains[1]
			if got := second.at.Sub(r.start); got != tt.interruptAt {
				t.Errorf("second drain attempt at %s, want at the interruption, %s", got, tt.interruptAt)
			}
			if !second.req.Forceful || !second.req.Deadline.Equal(end) {
				t.Errorf("second drain forceful %v deadline %s; want forceful with the instance's end %s",
					second.req.Forceful, second.req.Deadline, end)
			}
			if st := r.finalState(t); st.Disruption == nil || st.Disruption.Deadline == nil || !st.Disruption.Deadline.Equal(end) {
				t.Errorf("final disruption %+v, want its deadline at the instance's end", st.Disruption)
			}
		})
	}
}

// A NotOwned answer means the Node under the workflow's node name now stands for another
// instance: the workflow's own Node is gone. The drain stops at once rather than retry for
// ever, the clean-up counts the Node gone rather than fail, and the instance is terminated.
func TestNotOwnedNodeCountsAsGone(t *testing.T) {
	notOwned := temporal.NewNonRetryableApplicationError("node has another providerID", activities.ErrTypeNotOwned, nil)
	completed := activities.DrainResult{Completed: true}
	tests := []struct {
		name       string
		taint      error
		drain      error
		deleteNode error
		wantDrains int
	}{
		{name: "the taint is refused", taint: notOwned, wantDrains: 0},
		{name: "the drain is refused", drain: notOwned, wantDrains: 1},
		{name: "the delete is refused", deleteNode: notOwned, wantDrains: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newControlsRun(t)
			// Registered first, so they answer before mockAllButDrains' defaults.
			if tt.taint != nil {
				r.env.OnActivity(r.kube.TaintOwnNode, mock.Anything, mock.Anything).Return(tt.taint).Once()
			}
			if tt.deleteNode != nil {
				r.env.OnActivity(r.kube.DeleteNode, mock.Anything, mock.Anything).Return(tt.deleteNode)
			}
			r.mockAllButDrains()
			r.env.OnActivity(r.kube.DrainNode, mock.Anything, mock.Anything).Return(completed, tt.drain)
			r.signalAt(time.Minute, SignalDrain, DrainRequest{Reason: "maintenance"})
			r.executeClaim(testNodeClaim())

			if err := r.env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow failed: %v, want it to end with the instance terminated", err)
			}
			if len(r.drains) != tt.wantDrains {
				t.Errorf("%d drain attempts (%v), want %d", len(r.drains), r.drainTimes(), tt.wantDrains)
			}
			if !slices.Contains(r.activities, "Terminate") {
				t.Errorf("activities %v, want the instance terminated", r.activities)
			}
			deletes := 0
			for _, a := range r.activities {
				if a == "DeleteNode" {
					deletes++
				}
			}
			if deletes != 1 {
				t.Errorf("DeleteNode called %d times, want once: a refusal is not retried", deletes)
			}
		})
	}
}
