package workflows

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

// A compact run makes its short calls local activities (no activity events, no workflow task
// of their own) and writes the search attributes once per change; a run recorded before
// compact-history keeps its activities and writes, so its history still replays.
func TestNodeLifecycleCompactHistory(t *testing.T) {
	tests := []struct {
		name           string
		before         bool
		listed         bool
		wantLocal      []string
		wantActivities []string
		wantSA         []string
	}{
		{
			name:           "compact",
			wantLocal:      []string{"ProjectNodeClaim", "Launch", "ProjectNodeClaim", "ProjectNodeClaim", "SyncNode", "ProjectNodeClaim", "Signal", "ProjectNodeClaim", "TaintOwnNode", "ProjectNodeClaim", "DeleteNode", "ReleaseNodeClaim"},
			wantActivities: []string{"WaitForNode", "WaitNodeInitialized", "DrainNode", "Terminate"},
			wantSA:         []string{"Launching", "Registering", "Initializing", "Ready", "Draining", "Terminating", "Terminated"},
		},
		{
			name:           "compact, started listed as Launching",
			listed:         true,
			wantLocal:      []string{"ProjectNodeClaim", "Launch", "ProjectNodeClaim", "ProjectNodeClaim", "SyncNode", "ProjectNodeClaim", "Signal", "ProjectNodeClaim", "TaintOwnNode", "ProjectNodeClaim", "DeleteNode", "ReleaseNodeClaim"},
			wantActivities: []string{"WaitForNode", "WaitNodeInitialized", "DrainNode", "Terminate"},
			wantSA:         []string{"Registering", "Initializing", "Ready", "Draining", "Terminating", "Terminated"},
		},
		{
			name:   "recorded before",
			before: true,
			wantActivities: []string{"ProjectNodeClaim", "Launch", "ProjectNodeClaim", "WaitForNode", "ProjectNodeClaim", "SyncNode", "WaitNodeInitialized",
				"ProjectNodeClaim", "ProjectNodeClaim", "ProjectNodeClaim", "TaintOwnNode", "DrainNode", "ProjectNodeClaim", "Terminate", "DeleteNode", "ReleaseNodeClaim"},
			// Accepting the drain writes DisruptionReason while the node is still Ready.
			wantSA: []string{"Launching", "Registering", "Initializing", "Ready", "Ready", "Draining", "Terminating", "Terminated"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newNodeRun(t)
			r.happyPath()
			if tt.before {
				r.env.OnGetVersion(changeCompactHistory, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			var local, remote []string
			r.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				remote = append(remote, info.ActivityType.Name)
			})
			r.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
				local = append(local, info.ActivityType.Name)
			})
			r.at(10*time.Minute, func() { r.env.SignalWorkflow(SignalDrain, DrainRequest{Reason: "test"}) })
			r.env.ExecuteWorkflow(NodeLifecycleWorkflow, NodeLifecycleInput{Claim: testNodeClaim(), Listed: tt.listed})

			if err := r.env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow failed: %v", err)
			}
			if !slices.Equal(local, tt.wantLocal) || !slices.Equal(remote, tt.wantActivities) {
				t.Errorf("local activities %v and activities %v, want %v and %v", local, remote, tt.wantLocal, tt.wantActivities)
			}
			if !slices.Equal(r.phasesSA, tt.wantSA) {
				t.Errorf("NodePhase upserts %v, want %v", r.phasesSA, tt.wantSA)
			}
		})
	}
}

// A compact run tells the provisioner and the workflow it was asked to notify (a disruption
// waiting for its replacement) that the node is Ready, in one local activity.
func TestNodeLifecycleTellsReadyToProvisionerAndNotify(t *testing.T) {
	r := newNodeRun(t)
	r.happyPath()
	var told []activities.SignalRequest
	r.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		if req, ok := args[0].(activities.SignalRequest); ok && info.ActivityType.Name == "Signal" {
			told = append(told, req)
		}
	})
	r.at(10*time.Minute, func() { r.env.SignalWorkflow(SignalDrain, DrainRequest{Reason: "test"}) })
	r.env.ExecuteWorkflow(NodeLifecycleWorkflow, NodeLifecycleInput{Claim: testNodeClaim(), Notify: DisruptionID})

	want := []string{ProvisionerID, DisruptionID}
	if len(told) != 1 || !slices.Equal(told[0].WorkflowIDs, want) || told[0].Name != SignalNodeReady ||
		told[0].Payload != (NodeReady{Claim: testClaim, NodeName: testNode}) {
		t.Errorf("told %+v, want once %s to %v about claim %s and node %s", told, SignalNodeReady, want, testClaim, testNode)
	}
}
