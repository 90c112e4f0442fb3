package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

// Time limits of a node's life, after Karpenter's.
const (
	// registrationTimeout bounds the wait for the launched instance's Node to appear.
	registrationTimeout = 15 * time.Minute
	// initializationTimeout bounds the wait for a registered Node to become Ready.
	initializationTimeout = 15 * time.Minute
)

// planOptions: the engine is bounded by Karpenter's one-minute solve budget.
func planOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
			MaximumAttempts:    3,
		},
	}
}

// simulateOptions: a dry run is a plan someone waits for; a failure is theirs to retry.
func simulateOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 2},
	}
}

// disruptionOptions: finding a disruption simulates scheduling, bounded like a plan; a
// failed pass is simply tried again ten seconds later.
func disruptionOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 2},
	}
}

// waitNodesGoneOptions: one wait of at most within, queue time included; a failure is not
// retried, the controller waits a period instead.
func waitNodesGoneOptions(within time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: within + 30*time.Second,
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
	}
}

// receiveOptions: one SQS long poll (20 s), heartbeating so a lost worker shows quickly.
func receiveOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 3},
	}
}

// launchOptions: a retried CreateFleet reuses the client token, so retrying is safe; no
// capacity is final for this claim and goes back to the provisioner.
func launchOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: []string{activities.ErrTypeInsufficientCapacity, activities.ErrTypeInvalidLaunch},
		},
	}
}

// WaitHeartbeatTimeout is the heartbeat timeout of the waits for a Node (waitOptions). The
// SDK gives a heartbeat's call 80 % of it and cancels the activity when the call runs out:
// at 10 s, a Temporal server busy for 8 s cancelled every wait under way (65 at once in a
// 1,000-pod scale-out), to be retried from the start. The waits send their first heartbeat
// after activities.QuietWait and the worker sends the later ones at least every 10 s, so a
// server may be slow for about 20 s before it times a healthy wait out; a lost worker is
// noticed within 30 s, and a cancelled wait hears of it within about 10 s.
const WaitHeartbeatTimeout = 30 * time.Second

// waitOptions is for activities that poll until something becomes true; the heartbeat
// lets a lost worker be noticed within half a minute rather than at the end of the limit.
func waitOptions(limit time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: limit,
		StartToCloseTimeout:    limit,
		HeartbeatTimeout:       WaitHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    10,
		},
	}
}

// kubeOptions is for single Kubernetes writes (sync, taint, delete).
func kubeOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    10,
		},
	}
}

// signalOptions: news for other workflows is best effort; a few quick tries.
func signalOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	}
}

// verifyOptions: a restored run checks its state before it trusts it, and keeps trying while
// EC2 or the API server cannot answer: failing would abandon a node that may well be its own.
// Only a NotOwned answer, which is not retried, refuses the state.
func verifyOptions() workflow.ActivityOptions {
	o := kubeOptions()
	o.RetryPolicy.MaximumAttempts = 0 // unlimited
	o.RetryPolicy.MaximumInterval = time.Minute
	return o
}

// taintCandidatesOptions: tainting is what a decision starts with, so a few quick tries,
// then the decision is dropped and the next pass decides again.
func taintCandidatesOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	}
}

// untaintOptions: a disrupted taint left on a node that is not going keeps pods off it, so
// taking it off is retried for up to ten minutes.
func untaintOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second},
	}
}

// drainOptions: a drain waits on PodDisruptionBudgets and graceful shutdowns, so it is long
// and heartbeats its progress; limit bounds it as a whole.
func drainOptions(limit time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: limit,
		StartToCloseTimeout:    limit,
		HeartbeatTimeout:       30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    10,
		},
	}
}

// terminateOptions: termination keeps trying until EC2 says terminated, as Karpenter's does:
// giving up would leave an instance that may still run, and its Node and NodeClaim, with
// nothing left to clean them up. Meanwhile the workflow shows Terminating and the pending
// activity its last failure. One attempt waits while EC2 shuts the instance down, minutes at
// worst; its heartbeats tell a dead worker from a slow shutdown.
func terminateOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	}
}

// nodeWorkflowOptions starts a claim's NodeLifecycle so that it outlives the Provisioner's
// run: the Provisioner continues-as-new far more often than a node lives. The claim must be
// named. Its summary and details (user metadata, which replay does not compare) show in the
// Temporal UI what was planned; creationReason is the disruption a replacement is for.
func nodeWorkflowOptions(claim activities.Claim, creationReason string) workflow.ChildWorkflowOptions {
	return workflow.ChildWorkflowOptions{
		StaticSummary:     nodeSummary(claim),
		StaticDetails:     nodeStaticDetails(claim, creationReason),
		WorkflowID:        NodeWorkflowID(claim.Name),
		TaskQueue:         TaskQueue,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		// A claim name is used once; a closed workflow with the same id means a name collision.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchAttrNodePool.ValueSet(claim.NodePool),
			SearchAttrNodePhase.ValueSet(string(PhaseLaunching)),
		),
	}
}

// receive takes a selected channel's next message without blocking. A message that does not
// decode (a hand-sent signal with a field of the wrong type) is dropped, logged, and counted
// by the SDK, and ok is false: Receive would instead wait inside the handler for the next good
// message, holding up every timer and signal behind it, and the workflow would be wedged.
func receive(ctx workflow.Context, c workflow.ReceiveChannel, into any) (ok bool) {
	if c.ReceiveAsync(into) {
		return true
	}
	workflow.GetLogger(ctx).Warn("signal dropped: its payload does not decode", "signal", c.Name())
	return false
}
