package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// changeCompactHistory versions the node workflow's compact history. A node workflow is the
// one workflow there is one of per node, so its history is what a large scale-out writes:
// in a compact run the short calls (the NodeClaim writes, the launch, the Node's sync, taint
// and deletion) run as local activities, one marker event each instead of three activity
// events and a workflow task; the search attributes are written once per change rather than
// once per step; and this one version marker stands for every change the node workflow
// versioned before it. Histories recorded before it replay on the older path.
const changeCompactHistory = "compact-history"

// version is workflow.GetVersion, with 1 the only newer version, for a change versioned before
// compact-history: a compact run has every such change and records no marker for it.
func (n *nodeLifecycle) version(ctx workflow.Context, change string) workflow.Version {
	if n.compact {
		return 1
	}
	return workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1)
}

// call runs a short activity with the given options: as a local activity in a compact run,
// as an activity otherwise.
func (n *nodeLifecycle) call(ctx workflow.Context, o workflow.ActivityOptions, activity any, args ...any) workflow.Future {
	if !n.compact {
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, o), activity, args...)
	}
	return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions(o)), activity, args...)
}

// localOptions keeps an activity's limits for its local run. A local activity has no
// heartbeat and no schedule-to-start; its retries back off on a workflow timer once they
// wait longer than the SDK's local retry threshold, so long retry policies stay durable.
func localOptions(o workflow.ActivityOptions) workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: o.ScheduleToCloseTimeout,
		StartToCloseTimeout:    o.StartToCloseTimeout,
		RetryPolicy:            o.RetryPolicy,
	}
}
