package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"
)

// nodeChannels are the signals a NodeLifecycle listens to while its node serves.
type nodeChannels struct {
	drain, cancelDrain, disrupt, interrupt, resync workflow.ReceiveChannel
	// changed wakes serve after an update handler changed the state: an update, unlike a
	// signal, is not something serve's selector waits on.
	changed workflow.Channel
}

func openNodeChannels(ctx workflow.Context) nodeChannels {
	open := func(name, desc string) workflow.ReceiveChannel {
		return workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: desc})
	}
	return nodeChannels{
		drain:       open(SignalDrain, `Drain the node and terminate its instance: {"reason":"...","gracePeriod":"5m"}`),
		cancelDrain: open(SignalCancelDrain, "Withdraw a manual drain whose grace period has not ended"),
		disrupt:     open(SignalDisrupt, "Disruption controller decision (Disrupt)"),
		interrupt:   open(SignalInterrupt, "EC2 interruption of the instance (Interrupt)"),
		resync:      open(SignalResyncNodeClaim, "Write the node's NodeClaim again (it was deleted while the node lives)"),
		changed:     workflow.NewBufferedChannel(ctx, 1),
	}
}

// stateChanged wakes serve; one pending wake-up is enough.
func (n *nodeLifecycle) stateChanged() { n.ch.changed.SendAsync(struct{}{}) }

// registerUpdates installs requestDrain and extendExpiry. Validators only read state, so a
// rejected update leaves no trace in history.
func (n *nodeLifecycle) registerUpdates(ctx workflow.Context) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRequestDrain,
		func(ctx workflow.Context, req DrainRequest) (DrainAccepted, error) {
			d := n.manualDisruption(ctx, req)
			n.accept(ctx, d)
			n.stateChanged()
			return DrainAccepted{Phase: n.state.Phase, StartsAt: d.StartsAt}, nil
		},
		workflow.UpdateHandlerOptions{
			Validator:   func(ctx workflow.Context, req DrainRequest) error { return n.canDrain(req) },
			Description: "Drain the node, answering whether the request was accepted and when the drain starts",
		})
	if err != nil {
		return fmt.Errorf("register %s update: %w", UpdateRequestDrain, err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateExtendExpiry,
		func(ctx workflow.Context, req ExtendExpiry) (ExpiryExtended, error) {
			at := n.state.ExpiresAt.Add(time.Duration(req.By))
			n.state.ExpiresAt = &at
			n.stateChanged()
			return ExpiryExtended{ExpiresAt: at}, nil
		},
		workflow.UpdateHandlerOptions{
			Validator:   func(ctx workflow.Context, req ExtendExpiry) error { return n.canExtend(ctx, req) },
			Description: `Push the node's expiry back: {"by":"24h"}`,
		})
	if err != nil {
		return fmt.Errorf("register %s update: %w", UpdateExtendExpiry, err)
	}
	return nil
}

// Bounds on the durations a person sends: far beyond any real use, and well inside what a
// timestamp can carry (an expiry past year 9999 would no longer encode).
const (
	maxGracePeriod  = 30 * 24 * time.Hour
	maxExtension    = 365 * 24 * time.Hour
	maxExpiresAhead = 10 * 365 * 24 * time.Hour
)

func (n *nodeLifecycle) canDrain(req DrainRequest) error {
	if req.GracePeriod < 0 {
		return fmt.Errorf("gracePeriod %s must not be negative", time.Duration(req.GracePeriod))
	}
	if time.Duration(req.GracePeriod) > maxGracePeriod {
		return fmt.Errorf("gracePeriod %s is over the limit of %s", time.Duration(req.GracePeriod), maxGracePeriod)
	}
	if n.state.terminating() {
		return fmt.Errorf("node %s is already terminating: phase %s since %s%s", n.nodeLabel(), n.state.Phase,
			n.phaseSince().UTC().Format(time.RFC3339), n.reasonSuffix())
	}
	if d := n.state.Disruption; d != nil {
		return fmt.Errorf("node %s already has a drain requested (%s, reason %q) starting %s; send %s to withdraw a manual one",
			n.nodeLabel(), d.Source, d.Reason, d.StartsAt.UTC().Format(time.RFC3339), SignalCancelDrain)
	}
	return nil
}

func (n *nodeLifecycle) canExtend(ctx workflow.Context, req ExtendExpiry) error {
	switch {
	case req.By <= 0:
		return fmt.Errorf("by must be a positive duration such as \"24h\", got %s", time.Duration(req.By))
	case time.Duration(req.By) > maxExtension:
		return fmt.Errorf("by %s is over the limit of %s for one extension", time.Duration(req.By), maxExtension)
	case n.state.ExpiresAt != nil && n.state.ExpiresAt.Add(time.Duration(req.By)).Sub(workflow.Now(ctx)) > maxExpiresAhead:
		return fmt.Errorf("the node would expire more than %s from now; it expires %s", maxExpiresAhead, n.state.ExpiresAt.UTC().Format(time.RFC3339))
	case n.state.terminating():
		return fmt.Errorf("node %s is already terminating: phase %s%s", n.nodeLabel(), n.state.Phase, n.reasonSuffix())
	case n.claim.ExpireAfter <= 0:
		return fmt.Errorf("node %s does not expire: its NodePool's expireAfter is Never", n.nodeLabel())
	case n.state.ExpiresAt == nil:
		return fmt.Errorf("node %s is %s, not Ready yet: its expiry is armed once it is Ready; extend it then", n.nodeLabel(), n.state.Phase)
	}
	return nil
}

// serve waits while the node runs, handling operator and controller messages, until a
// disruption is due. It returns a context disconnected from cancellation, because once
// draining starts the node goes away whatever happens; cancelled reports a cancelled
// workflow, which drains too. A non-nil error is continue-as-new.
func (n *nodeLifecycle) serve(ctx workflow.Context) (workflow.Context, bool, error) {
	cancelled := false
	for {
		// Handlers only change state; the NodeClaim and the search attributes follow here,
		// outside them. A compact run writes them only when no drain is due: the drain's
		// phase change writes them anyway.
		if !n.compact && (n.resync || n.projected != n.disruptions) {
			n.resync = false
			n.project(ctx)
		}
		now := workflow.Now(ctx)
		if n.state.ExpiresAt != nil && !now.Before(*n.state.ExpiresAt) && !n.forcefulPending() {
			n.accept(ctx, n.expiration(now))
		}
		due := n.state.Disruption != nil && !now.Before(n.state.Disruption.StartsAt)
		if n.compact && !due {
			n.flush(ctx)
		}
		if due {
			n.expiry.stop()
			n.start.stop()
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			return dctx, cancelled, nil
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return ctx, false, n.continueAsNew(ctx)
		}

		sel := workflow.NewSelector(ctx)
		n.expiry.add(ctx, sel, n.state.ExpiresAt)
		var startsAt *time.Time
		if d := n.state.Disruption; d != nil {
			startsAt = &d.StartsAt
		}
		n.start.add(ctx, sel, startsAt)
		n.addSignalHandlers(ctx, sel)
		sel.AddReceive(n.ch.changed, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil) })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {
			cancelled = true
			n.accept(ctx, Disruption{Source: SourceManual, Reason: "workflow cancelled", RequestedAt: now, StartsAt: now, Deadline: n.tgpDeadline(now)})
		})
		sel.Select(ctx)
		if cancelled {
			// ctx.Done stays ready; the next pass starts the drain at once.
			n.state.Disruption.StartsAt = workflow.Now(ctx)
		}
	}
}

func (n *nodeLifecycle) addSignalHandlers(ctx workflow.Context, sel workflow.Selector) {
	sel.AddReceive(n.ch.drain, func(c workflow.ReceiveChannel, _ bool) {
		var req DrainRequest
		if !receive(ctx, c, &req) {
			return
		}
		n.onDrain(ctx, req)
	})
	sel.AddReceive(n.ch.cancelDrain, func(c workflow.ReceiveChannel, _ bool) {
		c.ReceiveAsync(nil)
		n.onCancelDrain(ctx)
	})
	sel.AddReceive(n.ch.disrupt, func(c workflow.ReceiveChannel, _ bool) {
		var msg Disrupt
		if !receive(ctx, c, &msg) {
			return
		}
		n.onDisrupt(ctx, msg)
	})
	sel.AddReceive(n.ch.interrupt, func(c workflow.ReceiveChannel, _ bool) {
		var msg Interrupt
		if !receive(ctx, c, &msg) || !n.aboutOurInstance(ctx, msg) {
			return
		}
		n.onInterrupt(ctx, msg)
	})
	sel.AddReceive(n.ch.resync, func(c workflow.ReceiveChannel, _ bool) {
		c.ReceiveAsync(nil)
		n.resync = true
	})
}

// changeSoonerDrain versions a drain replacing a manual one still waiting: histories from
// before it replay with the later drain ignored.
const changeSoonerDrain = "sooner-drain-replaces-waiting-drain"

func (n *nodeLifecycle) onDrain(ctx workflow.Context, req DrainRequest) {
	if err := n.canDrain(req); err != nil {
		// A drain that would start sooner takes the place of a manual one still waiting for
		// its grace period (a `kubectl delete` after a `starter drain --grace-period`).
		if d := n.state.Disruption; d != nil && d.Source == SourceManual && !n.state.terminating() && req.GracePeriod >= 0 {
			if next := n.manualDisruption(ctx, req); next.StartsAt.Before(d.StartsAt) &&
				n.version(ctx, changeSoonerDrain) >= 1 {
				n.accept(ctx, next)
				return
			}
		}
		workflow.GetLogger(ctx).Info("drain signal ignored", "reason", err.Error())
		return
	}
	n.accept(ctx, n.manualDisruption(ctx, req))
}

func (n *nodeLifecycle) onCancelDrain(ctx workflow.Context) {
	d := n.state.Disruption
	if d == nil || d.Source != SourceManual || !workflow.Now(ctx).Before(d.StartsAt) || n.state.terminating() {
		workflow.GetLogger(ctx).Info("cancelDrain ignored: no manual drain is waiting to begin")
		return
	}
	n.state.Disruption = nil
	n.state.DrainReason = ""
	n.disruptions++
	n.stale(ctx)
}

// onDisrupt accepts a voluntary disruption unless another one is already under way; the
// controller re-validates candidates, so a lost race costs only a pass.
func (n *nodeLifecycle) onDisrupt(ctx workflow.Context, msg Disrupt) {
	if n.state.terminating() || n.state.Disruption != nil {
		workflow.GetLogger(ctx).Info("disrupt ignored: node already on its way out", "decision", msg.DecisionID)
		return
	}
	now := workflow.Now(ctx)
	n.accept(ctx, Disruption{
		Source: SourceDisruption, Reason: msg.Reason, RequestedAt: now, StartsAt: now, Deadline: n.tgpDeadline(now),
		DecisionID: msg.DecisionID, Savings: msg.Savings, Replacement: msg.Replacement,
	})
}

// onInterrupt is forceful and overrides any drain still waiting to begin: the instance goes
// away at the deadline whatever anyone asked for.
func (n *nodeLifecycle) onInterrupt(ctx workflow.Context, msg Interrupt) {
	if n.state.terminating() {
		return
	}
	now := workflow.Now(ctx)
	n.accept(ctx, Disruption{Source: SourceInterruption, Reason: msg.Kind, Detail: msg.State, RequestedAt: now, StartsAt: now,
		Deadline: n.interruptDeadline(now, msg), Forceful: true})
}

// interruptDeadline is when a drain for the interruption must be done: the instance's end,
// or the NodePool's terminationGracePeriod from now if that comes first; nil when the
// interruption names no end.
func (n *nodeLifecycle) interruptDeadline(now time.Time, msg Interrupt) *time.Time {
	deadline := msg.Deadline
	if tgp := n.tgpDeadline(now); tgp != nil && tgp.Before(deadline) {
		deadline = *tgp
	}
	if deadline.IsZero() {
		return nil
	}
	return &deadline
}

func (n *nodeLifecycle) manualDisruption(ctx workflow.Context, req DrainRequest) Disruption {
	now := workflow.Now(ctx)
	reason := req.Reason
	if reason == "" {
		reason = "manual"
	}
	starts := now.Add(time.Duration(req.GracePeriod))
	return Disruption{Source: SourceManual, Reason: reason, RequestedAt: now, StartsAt: starts, Deadline: n.tgpDeadline(starts)}
}

// expiration is forceful: it ignores budgets and do-not-disrupt, as Karpenter's does.
func (n *nodeLifecycle) expiration(now time.Time) Disruption {
	return Disruption{Source: SourceExpiration, Reason: "Expired", RequestedAt: now, StartsAt: now, Deadline: n.tgpDeadline(now), Forceful: true}
}

// tgpDeadline is when the NodePool's terminationGracePeriod runs out for a drain starting at
// from; nil when the pool sets none.
func (n *nodeLifecycle) tgpDeadline(from time.Time) *time.Time {
	if n.claim.TerminationGracePeriod <= 0 {
		return nil
	}
	at := from.Add(n.claim.TerminationGracePeriod)
	return &at
}

func (n *nodeLifecycle) accept(ctx workflow.Context, d Disruption) {
	n.state.Disruption = &d
	n.state.DrainReason = d.Reason
	n.disruptions++
	n.stale(ctx)
}

func (n *nodeLifecycle) forcefulPending() bool {
	return n.state.Disruption != nil && n.state.Disruption.Forceful
}

func (n *nodeLifecycle) nodeLabel() string {
	if n.state.NodeName != "" {
		return n.state.NodeName
	}
	return n.state.Claim
}

func (n *nodeLifecycle) phaseSince() time.Time {
	if len(n.state.Transitions) == 0 {
		return time.Time{}
	}
	return n.state.Transitions[len(n.state.Transitions)-1].At
}

func (n *nodeLifecycle) reasonSuffix() string {
	if n.state.Disruption == nil {
		return ""
	}
	return fmt.Sprintf(", %s: %s", n.state.Disruption.Source, n.state.Disruption.Reason)
}

// continueAsNew carries a Ready node into a fresh history. Signals already delivered are
// applied first so none is lost.
func (n *nodeLifecycle) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	for {
		sel := workflow.NewSelector(ctx)
		n.addSignalHandlers(ctx, sel)
		if !sel.HasPending() {
			break
		}
		sel.Select(ctx)
	}
	// The next run starts with these search attributes and writes them only when its state
	// next changes: a signal applied just now must show in them (the NodeClaim is written
	// again by the next run's catch-up).
	if n.attrsStale {
		n.upsertSearchAttributes(ctx)
	}
	state := n.state
	return workflow.NewContinueAsNewError(ctx, NodeLifecycleWorkflow, NodeLifecycleInput{Claim: n.claim, Restore: &state})
}

// deadlineTimer is a workflow timer for "wait until T", re-armed only when T changes (the
// updatable-timer pattern).
type deadlineTimer struct {
	at     time.Time
	future workflow.Future
	cancel workflow.CancelFunc
}

func (t *deadlineTimer) add(ctx workflow.Context, sel workflow.Selector, at *time.Time) {
	now := workflow.Now(ctx)
	if at == nil || !at.After(now) {
		t.stop()
		return
	}
	if t.future == nil || !t.at.Equal(*at) {
		t.stop()
		tctx, cancel := workflow.WithCancel(ctx)
		t.at, t.cancel = *at, cancel
		t.future = workflow.NewTimer(tctx, at.Sub(now))
	}
	sel.AddFuture(t.future, func(workflow.Future) { t.future, t.cancel = nil, nil })
}

func (t *deadlineTimer) stop() {
	if t.cancel != nil {
		t.cancel()
	}
	t.future, t.cancel = nil, nil
}
