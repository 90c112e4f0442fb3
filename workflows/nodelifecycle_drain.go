package workflows

import (
	"fmt"
	"maps"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

// drain cordons the node with the disrupted taint and drains it within the disruption's
// deadline. A drain that fails is recorded and the node is terminated anyway: an instance
// kept for ever costs more than the pods it still holds, which their controllers recreate.
func (n *nodeLifecycle) drain(ctx workflow.Context) {
	n.setPhase(ctx, PhaseDraining)
	kctx := workflow.WithActivityOptions(ctx, kubeOptions())
	if err := workflow.ExecuteActivity(kctx, kubeActs.TaintNode, n.state.NodeName, activities.DisruptedTaint()).Get(ctx, nil); err != nil {
		n.state.LastError = fmt.Sprintf("taint node %s: %v", n.state.NodeName, err)
	}
	req := activities.DrainRequest{NodeName: n.state.NodeName, Reason: n.disruptionReason()}
	limit := drainDeadline
	if d := n.state.Disruption; d != nil && d.Deadline != nil {
		req.Deadline = *d.Deadline
		// Past the deadline the activity deletes whatever is left; give it time to do so.
		limit = max(d.Deadline.Sub(workflow.Now(ctx))+time.Minute, time.Minute)
	}
	var result activities.DrainResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, drainOptions(limit)), kubeActs.DrainNode, req).Get(ctx, &result)
	n.state.PodsLeft = maps.Clone(result.Blocked)
	if err != nil {
		n.state.LastError = fmt.Sprintf("drain node %s: %v", n.state.NodeName, err)
		workflow.GetLogger(ctx).Warn("drain did not finish; terminating anyway", "node", n.state.NodeName, "error", err)
	}
}
