package workflows

import (
	"cmp"
	"time"

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

// compactRegisterAndSync is compact-history's version 2: registration syncs the Node in the
// activity that finds it (RegisterNode), so its karpenter.sh/unregistered taint goes without
// waiting for the workflow's next task, and initialization waits, as Karpenter's does, for
// the ephemeral taints to go and for the resources the claim's pods request. Later changes
// bump this version rather than add a marker of their own.
const compactRegisterAndSync workflow.Version = 2

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
// wait longer than a workflow task's timeout, so long retry policies stay durable. They end
// at the schedule-to-close timeout, which the SDK sets to one attempt's start-to-close when
// none is given: the local run gets the time its retry policy can take instead.
func localOptions(o workflow.ActivityOptions) workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: cmp.Or(o.ScheduleToCloseTimeout, retrySpan(o)),
		StartToCloseTimeout:    o.StartToCloseTimeout,
		RetryPolicy:            o.RetryPolicy,
	}
}

// retrySpan is the longest an activity with these options runs, every attempt taking its
// start-to-close timeout and every backoff its longest; 0 when its attempts are unbounded
// (the SDK then ends a local run after one attempt's time, so such calls stay activities).
func retrySpan(o workflow.ActivityOptions) time.Duration {
	p := o.RetryPolicy
	if p == nil || p.MaximumAttempts <= 0 {
		return 0
	}
	span := time.Duration(p.MaximumAttempts) * o.StartToCloseTimeout
	backoff := cmp.Or(p.InitialInterval, time.Second) // the SDK's defaults
	for range p.MaximumAttempts - 1 {
		if p.MaximumInterval > 0 {
			backoff = min(backoff, p.MaximumInterval)
		}
		span += backoff
		backoff = time.Duration(float64(backoff) * cmp.Or(p.BackoffCoefficient, 2))
	}
	return span
}
