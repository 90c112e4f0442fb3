package workflows

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
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

// changeNotOwnedMeansGone versions how the drain and the clean-up take a NotOwned answer:
// the Node under the workflow's node name now stands for another instance, so the
// workflow's own Node is gone. They stop draining, and count the Node deleted, rather than
// retry for ever or fail; the drain's taint is also checked against the providerID.
const changeNotOwnedMeansGone = "not-owned-means-gone"

// isNotOwned says an activity refused to act on what it was given as not the workflow's.
func isNotOwned(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeNotOwned
}

// changeInterruptDuringDrain versions the drain's listening for interruptions: histories
// from before it replay with an interruption during a drain left unread.
const changeInterruptDuringDrain = "interrupt-during-drain"

// drain cordons the node with the disrupted taint and drains it. Without a deadline it waits,
// as Karpenter does, for as long as PodDisruptionBudgets or do-not-disrupt pods keep pods on
// the node; with one (terminationGracePeriod, an interruption) the drain deletes whatever is
// left at the deadline and the node is terminated then whatever happened. An interruption
// arriving meanwhile brings the deadline forward and makes the drain forceful.
func (n *nodeLifecycle) drain(ctx workflow.Context) {
	n.setPhase(ctx, PhaseDraining)
	listen := n.version(ctx, changeInterruptDuringDrain) >= 1
	ownedOnly := n.version(ctx, changeNotOwnedMeansGone) >= 1
	var err error
	if ownedOnly && n.state.InstanceID != "" { // a node without an instance has nothing to check
		req := activities.TaintRequest{NodeName: n.state.NodeName, InstanceID: n.state.InstanceID, Taint: activities.DisruptedTaint()}
		err = n.call(ctx, kubeOptions(), kubeActs.TaintOwnNode, req).Get(ctx, nil)
	} else {
		err = n.call(ctx, kubeOptions(), kubeActs.TaintNode, n.state.NodeName, activities.DisruptedTaint()).Get(ctx, nil)
	}
	if err != nil {
		n.state.LastError = fmt.Sprintf("taint node %s: %v", n.state.NodeName, err)
		if ownedOnly && isNotOwned(err) {
			return // the Node of that name is not ours any more: ours has no pods left to drain
		}
	}
	for {
		req := n.drainRequest()
		limit := drainRound
		if !req.Deadline.IsZero() {
			// Past the deadline the activity deletes whatever is left; give it time to do so.
			limit = max(req.Deadline.Sub(workflow.Now(ctx))+time.Minute, time.Minute)
		}
		actx, cancel := workflow.WithCancel(ctx)
		future := workflow.ExecuteActivity(workflow.WithActivityOptions(actx, drainOptions(limit)), kubeActs.DrainNode, req)
		var result activities.DrainResult
		var err error
		if !n.awaitUnlessHastened(ctx, future, listen, func(f workflow.Future) { err = f.Get(ctx, &result) }) {
			cancel() // an interruption moved the deadline: start again with it
			continue
		}
		cancel()
		if err == nil {
			n.state.PodsLeft = maps.Clone(result.Blocked)
			if result.Completed {
				return
			}
		} else {
			n.state.LastError = fmt.Sprintf("drain node %s: %v", n.state.NodeName, err)
			if ownedOnly && isNotOwned(err) {
				return // as above: retrying cannot make the Node ours again
			}
		}
		n.showDetails(ctx) // the pods the drain waits for
		if d := n.state.Disruption; d != nil && d.Deadline != nil && !workflow.Now(ctx).Before(*d.Deadline) {
			workflow.GetLogger(ctx).Warn("drain deadline passed; terminating", "node", n.state.NodeName, "error", err)
			return
		}
		if !n.pauseUnlessHastened(ctx, listen) {
			return
		}
	}
}

// drainRequest is the drain as the current disruption asks for it.
func (n *nodeLifecycle) drainRequest() activities.DrainRequest {
	req := activities.DrainRequest{NodeName: n.state.NodeName, InstanceID: n.state.InstanceID, Reason: n.disruptionReason()}
	if d := n.state.Disruption; d != nil {
		req.Forceful = d.Forceful
		if d.Deadline != nil {
			req.Deadline = *d.Deadline
		}
	}
	return req
}

// awaitUnlessHastened waits for the future and hands it to done, unless an interruption
// brings the drain's deadline forward first (then it returns false and done is not called).
func (n *nodeLifecycle) awaitUnlessHastened(ctx workflow.Context, f workflow.Future, listen bool, done func(workflow.Future)) bool {
	if !listen {
		done(f)
		return true
	}
	for {
		msg := n.awaitOrInterrupt(ctx, f, done)
		if msg == nil {
			return true
		}
		if n.hasten(ctx, *msg) {
			return false
		}
	}
}

// pauseUnlessHastened waits drainRetryDelay before the next attempt, or less when an
// interruption arrives; false means the workflow's context ended.
func (n *nodeLifecycle) pauseUnlessHastened(ctx workflow.Context, listen bool) bool {
	timer := workflow.NewTimer(ctx, drainRetryDelay)
	var err error
	n.awaitUnlessHastened(ctx, timer, listen, func(f workflow.Future) { err = f.Get(ctx, nil) })
	return err == nil
}

// hasten applies an interruption that arrived while the node drains: the drain becomes
// forceful and its deadline comes forward to the interruption's. It reports whether the
// drain must start again to honour it.
func (n *nodeLifecycle) hasten(ctx workflow.Context, msg Interrupt) bool {
	if n.state.Disruption == nil {
		return false
	}
	d := n.state.Disruption
	deadline := n.interruptDeadline(workflow.Now(ctx), msg)
	sooner := deadline != nil && (d.Deadline == nil || deadline.Before(*d.Deadline))
	if !sooner && d.Forceful {
		workflow.GetLogger(ctx).Info("interruption during drain changes nothing", "kind", msg.Kind)
		return false
	}
	if sooner {
		d.Deadline = deadline
	}
	d.Forceful = true
	d.Detail = strings.TrimSpace(d.Detail + " interrupted: " + msg.Kind)
	n.disruptions++
	workflow.GetLogger(ctx).Info("interruption during drain", "kind", msg.Kind, "deadline", d.Deadline)
	return true
}
