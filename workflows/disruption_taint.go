package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// changeTaintFirst versions tainting a decision's candidates before its replacement is
// launched: histories recorded before it replay launchThenDisrupt.
const changeTaintFirst = "taint-candidates-first"

// taintLaunchThenDisrupt carries a decision out as Karpenter does. The candidates are
// tainted karpenter.sh/disrupted:NoSchedule first, so that pods created while the
// replacement boots go to it rather than to nodes about to be drained; once it is Ready the
// candidates are re-checked (budgets, PodDisruptionBudgets, do-not-disrupt), and only then
// told to go. A decision dropped on the way, tainting that fails included, takes the taint
// off again, as does a candidate whose workflow cannot be told.
func (c *controller) taintLaunchThenDisrupt(ctx workflow.Context, found activities.DisruptionDecision, rec *DecisionRecord) {
	actx := workflow.WithActivityOptions(ctx, taintCandidatesOptions())
	if err := workflow.ExecuteActivity(actx, disruptionActs.TaintCandidates, found.Nodes).Get(ctx, nil); err != nil {
		rec.Outcome = "taint candidates failed: " + err.Error()
		c.untaint(ctx, found.Nodes) // those tainted before the failure
		return
	}
	if found.Replacement != nil {
		name, err := c.launch(ctx, found)
		rec.Replacement = name
		if err != nil {
			rec.Outcome = err.Error()
			c.untaint(ctx, found.Nodes)
			return
		}
		if why := c.recheck(ctx, *found.Command); why != "" {
			rec.Outcome = "no longer valid once the replacement was Ready: " + why
			c.untaint(ctx, found.Nodes)
			return
		}
	}
	if c.paused(ctx) { // paused while the candidates were tainted or their replacement booted
		c.withhold(ctx, found, rec, found.Nodes)
		return
	}
	if untold := c.disrupt(ctx, found, rec); len(untold) > 0 {
		c.untaint(ctx, untold)
	}
}

// recheck asks whether the candidates may still go; it returns why not, "" when they may.
func (c *controller) recheck(ctx workflow.Context, cmd disruption.Command) string {
	var invalid string
	actx := workflow.WithActivityOptions(ctx, disruptionOptions())
	if err := workflow.ExecuteActivity(actx, disruptionActs.RecheckDisruption, cmd).Get(ctx, &invalid); err != nil {
		return "re-check failed: " + err.Error()
	}
	return invalid
}

// untaint takes the disrupted taint off candidates that are not going after all. It runs
// even when the controller is being cancelled: a taint left behind keeps pods off a node for
// good, and later passes would take the node for one already leaving.
func (c *controller) untaint(ctx workflow.Context, nodes []activities.NodeRef) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	actx := workflow.WithActivityOptions(dctx, untaintOptions())
	if err := workflow.ExecuteActivity(actx, disruptionActs.UntaintCandidates, nodes).Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("untaint candidates; they keep the disrupted taint", "nodes", nodes, "error", err)
	}
}
