package workflows

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

// A compact run makes its short calls local activities (no activity events, no workflow task
// of their own) and writes the search attributes once per change; a run recorded before
// compact-history keeps its activities and writes, so its history still replays.
func TestNodeLifecycleCompactHistory(t *testing.T) {
	tests := []struct {
		name string
		// recorded is the compact-history version the run was recorded with; zero means
		// the newest.
		recorded       workflow.Version
		listed         bool
		wantLocal      []string
		wantActivities []string
		wantSA         []string
	}{
		{
			name:           "compact",
			wantLocal:      []string{"ProjectNodeClaim", "Launch", "ProjectNodeClaim", "ProjectNodeClaim", "ProjectNodeClaim", "Signal", "ProjectNodeClaim", "TaintOwnNode", "ProjectNodeClaim", "DeleteNode", "ReleaseNodeClaim"},
			wantActivities: []string{"RegisterNode", "WaitNodeInitialized", "DrainNode", "Terminate"},
			wantSA:         []string{"Launching", "Registering", "Initializing", "Ready", "Draining", "Terminating", "Terminated"},
		},
		{
			name:           "compact, started listed as Launching",
			listed:         true,
			wantLocal:      []string{"ProjectNodeClaim", "Launch", "ProjectNodeClaim", "ProjectNodeClaim", "ProjectNodeClaim", "Signal", "ProjectNodeClaim", "TaintOwnNode", "ProjectNodeClaim", "DeleteNode", "ReleaseNodeClaim"},
			wantActivities: []string{"RegisterNode", "WaitNodeInitialized", "DrainNode", "Terminate"},
			wantSA:         []string{"Registering", "Initializing", "Ready", "Draining", "Terminating", "Terminated"},
		},
		{
			name:           "compact, recorded before registration synced the Node",
			recorded:       1,
			wantLocal:      []string{"ProjectNodeClaim", "Launch", "ProjectNodeClaim", "ProjectNodeClaim", "SyncNode", "ProjectNodeClaim", "Signal", "ProjectNodeClaim", "TaintOwnNode", "ProjectNodeClaim", "DeleteNode", "ReleaseNodeClaim"},
			wantActivities: []string{"WaitForNode", "WaitNodeInitialized", "DrainNode", "Terminate"},
			wantSA:         []string{"Launching", "Registering", "Initializing", "Ready", "Draining", "Terminating", "Terminated"},
		},
		{
			name:     "recorded before",
			recorded: workflow.DefaultVersion,
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
			if tt.recorded != 0 {
				r.env.OnGetVersion(changeCompactHistory, workflow.DefaultVersion, compactRegisterAndSync).Return(tt.recorded)
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

// A short call run as a local activity retries as long as its activity did: the SDK ends a
// local activity's retries at its schedule-to-close timeout, which defaults to one attempt's
// start-to-close, so a brief API server or EC2 outage must not fail the claim or the clean-up.
func TestNodeLifecycleLocalCallsRetryAsLongAsTheirActivities(t *testing.T) {
	unavailable := errors.New("the server is currently unable to handle the request")
	tests := []struct {
		activity string
		// fail makes the call fail its first attempts, one fewer than its retry policy allows,
		// each taking took.
		fail     func(r *nodeRun) *testsuite.MockCallWrapper
		took     time.Duration
		attempts int32
	}{
		{
			activity: "Launch",
			fail: func(r *nodeRun) *testsuite.MockCallWrapper {
				return r.env.OnActivity(r.ec2.Launch, mock.Anything, mock.Anything).Return(activities.Instance{}, unavailable)
			},
			took:     time.Minute,
			attempts: launchOptions().RetryPolicy.MaximumAttempts,
		},
		{
			activity: "TaintOwnNode",
			fail: func(r *nodeRun) *testsuite.MockCallWrapper {
				return r.env.OnActivity(r.kube.TaintOwnNode, mock.Anything, mock.Anything).Return(unavailable)
			},
			attempts: kubeOptions().RetryPolicy.MaximumAttempts,
		},
		{
			activity: "DeleteNode",
			fail: func(r *nodeRun) *testsuite.MockCallWrapper {
				return r.env.OnActivity(r.kube.DeleteNode, mock.Anything, mock.Anything).Return(unavailable)
			},
			attempts: kubeOptions().RetryPolicy.MaximumAttempts,
		},
	}
	for _, tt := range tests {
		t.Run(tt.activity, func(t *testing.T) {
			r := newNodeRun(t)
			tt.fail(r).After(tt.took).Times(int(tt.attempts - 1))
			r.happyPath() // its call is the last attempt's: the one above matches first
			r.at(time.Hour, func() { r.env.SignalWorkflow(SignalDrain, DrainRequest{Reason: "test"}) })
			r.execute()

			if err := r.env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow failed: %v", err)
			}
			if got := timesRan(r.activities, tt.activity); got != int(tt.attempts) {
				t.Errorf("%s ran %d times, want %d: failing all but the last attempt", tt.activity, got, tt.attempts)
			}
		})
	}
}

// timesRan counts the runs of the named activity.
func timesRan(names []string, name string) int {
	n := 0
	for _, s := range names {
		if s == name {
			n++
		}
	}
	return n
}
