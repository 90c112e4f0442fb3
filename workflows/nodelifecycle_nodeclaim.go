package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

// changeNodeClaim versions the NodeClaim projection: histories recorded before it replay
// without the projection's activities.
const changeNodeClaim = "nodeclaim-projection"

var nodeClaimActs *activities.NodeClaims

// changeRestoredCatchUp versions catchUp.
const changeRestoredCatchUp = "restored-run-catch-up"

// catchUp brings a Ready node that continues from an earlier run up to what this code does
// at registration: a node that was already running when NodeClaims came in gets its NodeClaim
// and its Node's termination finalizer and labels here, the first time it continues as new.
// Both are idempotent, so later runs only confirm them.
func (n *nodeLifecycle) catchUp(ctx workflow.Context) {
	if n.state.NodeName == "" || n.version(ctx, changeRestoredCatchUp) < 1 {
		return
	}
	// Taints are registration's alone: one a person removed since stays removed. A few quick
	// tries only: serve, and the signals waiting for it, must not wait on a Node gone missing.
	req := n.syncRequest()
	req.Taints = nil
	if err := n.call(ctx, projectOptions(), kubeActs.SyncNode, req).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("sync node on continue-as-new", "node", n.state.NodeName, "error", err)
	}
	n.project(ctx)
}

// projectOptions: the NodeClaim is a view of the workflow, so a write that keeps failing is
// left for the next phase change rather than holding the node back.
func projectOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
			MaximumAttempts:    3,
		},
	}
}

// project writes the node's state to its NodeClaim. A terminated or failed node's NodeClaim is
// released by cleanUp instead.
func (n *nodeLifecycle) project(ctx workflow.Context) {
	if !n.projecting || n.state.Phase == PhaseTerminated || n.state.Phase == PhaseFailed {
		return
	}
	seen := n.disruptions
	if err := n.call(ctx, projectOptions(), nodeClaimActs.ProjectNodeClaim, n.projection()).Get(ctx, nil); err != nil {
		// Tried again at the next wake-up of serve, or the next phase.
		workflow.GetLogger(ctx).Warn("project NodeClaim", "claim", n.claim.Name, "phase", n.state.Phase, "error", err)
		return
	}
	n.projected = seen
}

func (n *nodeLifecycle) projection() activities.NodeClaimProjection {
	p := activities.NodeClaimProjection{
		Claim: n.claim, Phase: string(n.state.Phase),
		InstanceID: n.state.InstanceID, InstanceType: n.state.InstanceType, Zone: n.state.Zone,
		CapacityType: n.state.CapacityType, ImageID: n.state.ImageID, NodeName: n.state.NodeName, LastError: n.state.LastError,
	}
	for _, t := range n.state.Transitions {
		p.Transitions = append(p.Transitions, activities.PhaseAt{Phase: string(t.Phase), At: t.At})
	}
	if d := n.state.Disruption; d != nil {
		p.Disruption = &activities.ProjectedDisruption{Source: d.Source, Reason: d.Reason, Detail: d.Detail, At: d.RequestedAt}
	}
	return p
}

// releaseNodeClaim removes the NodeClaim's finalizer and deletes it; cleanUp calls it once the
// instance is terminated.
func (n *nodeLifecycle) releaseNodeClaim(ctx workflow.Context) error {
	if !n.projecting {
		return nil
	}
	return n.call(ctx, kubeOptions(), nodeClaimActs.ReleaseNodeClaim, n.claim.Name).Get(ctx, nil)
}
