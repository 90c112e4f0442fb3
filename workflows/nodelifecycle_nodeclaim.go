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
	n.projected = n.disruptions
	actx := workflow.WithActivityOptions(ctx, projectOptions())
	if err := workflow.ExecuteActivity(actx, nodeClaimActs.ProjectNodeClaim, n.projection()).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("project NodeClaim", "claim", n.claim.Name, "phase", n.state.Phase, "error", err)
	}
}

func (n *nodeLifecycle) projection() activities.NodeClaimProjection {
	p := activities.NodeClaimProjection{
		Claim: n.claim, Phase: string(n.state.Phase),
		InstanceID: n.state.InstanceID, InstanceType: n.state.InstanceType, Zone: n.state.Zone,
		CapacityType: n.state.CapacityType, NodeName: n.state.NodeName, LastError: n.state.LastError,
	}
	for _, t := range n.state.Transitions {
		p.Transitions = append(p.Transitions, activities.PhaseAt{Phase: string(t.Phase), At: t.At})
	}
	if d := n.state.Disruption; d != nil {
		p.Disruption = &activities.ProjectedDisruption{Source: d.Source, Reason: d.Reason, At: d.RequestedAt}
	}
	return p
}

// releaseNodeClaim removes the NodeClaim's finalizer and deletes it; cleanUp calls it once the
// instance is terminated.
func (n *nodeLifecycle) releaseNodeClaim(ctx workflow.Context) error {
	if !n.projecting {
		return nil
	}
	actx := workflow.WithActivityOptions(ctx, kubeOptions())
	return workflow.ExecuteActivity(actx, nodeClaimActs.ReleaseNodeClaim, n.claim.Name).Get(ctx, nil)
}
