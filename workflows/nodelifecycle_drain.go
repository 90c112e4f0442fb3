package workflows

import (
	"fmt"
	"maps"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

const (
	// drainRound bounds one drain attempt when there is no deadline; the workflow then looks
	// again, so a drain blocked for hours stays visible and its pods-left current.
	drainRound = 10 * time.Minute
	// drainRetryDelay spaces attempts of a drain that could not finish.
	drainRetryDelay = 30 * time.Second
)

// drain cordons the node with the disrupted taint and drains it. Without a deadline it waits,
// as Karpenter does, for as long as PodDisruptionBudgets or do-not-disrupt pods keep pods on
// the node; with one (terminationGracePeriod, an interruption) the drain deletes whatever is
// left at the deadline and the node is terminated then whatever happened.
func (n *nodeLifecycle) drain(ctx workflow.Context) {
	n.setPhase(ctx, PhaseDraining)
	kctx := workflow.WithActivityOptions(ctx, kubeOptions())
	if err := workflow.ExecuteActivity(kctx, kubeActs.TaintNode, n.state.NodeName, activities.DisruptedTaint()).Get(ctx, nil); err != nil {
		n.state.LastError = fmt.Sprintf("taint node %s: %v", n.state.NodeName, err)
	}
	req := activities.DrainRequest{NodeName: n.state.NodeName, Reason: n.disruptionReason()}
	if d := n.state.Disruption; d != nil {
		req.Forceful = d.Forceful
		if d.Deadline != nil {
			req.Deadline = *d.Deadline
		}
	}
	for {
		limit := drainRound
		if !req.Deadline.IsZero() {
			// Past the deadline the activity deletes whatever is left; give it time to do so.
			limit = max(req.Deadline.Sub(workflow.Now(ctx))+time.Minute, time.Minute)
		}
		var result activities.DrainResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, drainOptions(limit)), kubeActs.DrainNode, req).Get(ctx, &result)
		if err == nil {
			n.state.PodsLeft = maps.Clone(result.Blocked)
			if result.Completed {
				return
			}
		} else {
			n.state.LastError = fmt.Sprintf("drain node %s: %v", n.state.NodeName, err)
		}
		if !req.Deadline.IsZero() && !workflow.Now(ctx).Before(req.Deadline) {
			workflow.GetLogger(ctx).Warn("drain deadline passed; terminating", "node", n.state.NodeName, "error", err)
			return
		}
		if err := workflow.Sleep(ctx, drainRetryDelay); err != nil {
			return
		}
	}
}
