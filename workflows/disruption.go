package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// DisruptionID is the workflow id of the singleton disruption controller.
const DisruptionID = "disruption"

// DisruptionInput carries the controller's memory across continue-as-new.
type DisruptionInput struct {
	State DisruptionState `json:"state"`
	// Period and ValidationDelay default to Karpenter's 10 s and 15 s; tests shorten them.
	Period          Duration `json:"period,omitempty"`
	ValidationDelay Duration `json:"validationDelay,omitempty"`
}

// DisruptionState is what the controller remembers and its state query returns.
type DisruptionState struct {
	Passes    int `json:"passes"`
	Decisions int `json:"decisions"`
	// Recent are the last decisions, newest last.
	Recent []DecisionRecord `json:"recent,omitempty"`
	// LastSkipped says why candidates were passed over in the last pass.
	LastSkipped map[string]string `json:"lastSkipped,omitempty"`
	// Pause is set while an operator has paused consolidation and drift; nil otherwise.
	Pause *DisruptionPause `json:"pause,omitempty"`
}

// DecisionRecord is one decision and what became of it.
type DecisionRecord struct {
	ID          string    `json:"id"`
	At          time.Time `json:"at"`
	Method      string    `json:"method"`
	Reason      string    `json:"reason"`
	Nodes       []string  `json:"nodes"`
	Savings     float64   `json:"savings"`
	Replacement string    `json:"replacement,omitempty"`
	// Outcome is Disrupted, or why the decision was dropped.
	Outcome string `json:"outcome"`
}

// Controller timing, after Karpenter's.
const (
	disruptionPeriod   = 10 * time.Second
	validationDelay    = 15 * time.Second
	replacementTimeout = 15 * time.Minute
	// aheadWaitLimit bounds how long a decision made ahead waits, after its validation
	// delay, for the last decision's nodes to go before it is validated with them as they
	// stand: their drain and their instance's termination on EC2 take a minute or more, and
	// validated beside them the decision would be refused for its budget and lost. A node
	// stuck longer (a drain held by a PodDisruptionBudget) counts against its budget as usual.
	aheadWaitLimit  = 2 * time.Minute
	maxPassesPerRun = 1000
	recentDecisions = 20
)

// outcomeDisrupted is a decision's outcome once its candidates were told to go.
const outcomeDisrupted = "Disrupted"

var disruptionActs *activities.Disruption

// DisruptionWorkflow is the disruption controller: every pass it asks for the next
// voluntary disruption (emptiness, then drift, then consolidation), re-checks an emptiness
// or consolidation decision after a delay, taints the candidates karpenter.sh/disrupted,
// launches a replacement first when one is needed and re-checks the candidates once it is
// Ready, and then tells each node's workflow to go with a disrupt signal. Exactly one method
// acts per pass. While an operator has it paused (SignalPauseDisruption) it still looks, but
// carries nothing out; expiration and interruptions are the node workflows' own and go on.
func DisruptionWorkflow(ctx workflow.Context, in DisruptionInput) error {
	c := &controller{state: in.State, period: disruptionPeriod, validationDelay: validationDelay, in: in}
	if in.Period > 0 {
		c.period = time.Duration(in.Period)
	}
	if in.ValidationDelay > 0 {
		c.validationDelay = time.Duration(in.ValidationDelay)
	}
	return c.run(ctx)
}

type controller struct {
	in              DisruptionInput
	period          time.Duration
	validationDelay time.Duration
	state           DisruptionState
	passesThisRun   int
	readyCh         workflow.ReceiveChannel
	failedCh        workflow.ReceiveChannel
	pauseCh         workflow.ReceiveChannel
	resumeCh        workflow.ReceiveChannel
	// candidates are the nodes of the decision being carried out, for its events.
	candidates []activities.NodeRef
	// told are the candidates of this pass's decision whose workflows were told to go: the
	// next pass waits for them to leave.
	told []string
	// lastPass is when this run's last pass began.
	lastPass time.Time
	// ahead are the last decision's nodes, still leaving when the next pass began: that
	// pass decides as if they were gone, and validates only once they are.
	ahead []string
}

func (c *controller) run(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryState,
		func() (DisruptionState, error) { return c.state, nil },
		workflow.QueryHandlerOptions{Description: "Recent disruption decisions and why candidates were skipped"}); err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	c.readyCh = workflow.GetSignalChannel(ctx, SignalNodeReady)
	c.failedCh = workflow.GetSignalChannel(ctx, SignalClaimFailed)
	c.servePause(ctx)
	c.showDetails(ctx)
	var last departure // what the last pass's decision sent away
	for {
		if err := c.untilNextPass(ctx, last); err != nil {
			return err
		}
		c.reportPause(ctx)
		c.lastPass = workflow.Now(ctx)
		last = c.pass(ctx)
		c.state.Passes++
		c.passesThisRun++
		c.showDetails(ctx)
		if c.passesThisRun >= maxPassesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// Node-ready and claim-failed signals only matter while a pass waits for them;
			// stale ones are dropped with the run. A pause or resume is not.
			c.takePauseSignals(ctx)
			next := c.in
			next.State = c.state
			return workflow.NewContinueAsNewError(ctx, DisruptionWorkflow, next)
		}
	}
}

// changeWaitNodesGone versions waiting for a decision's nodes to go, rather than a period,
// before the next pass.
const changeWaitNodesGone = "wait-nodes-gone"

// changeNextPassByRoom versions waiting only until the budget room a decision left and the
// nodes gone since make a next decision worth its validation (worthDeciding). A decision's
// room is in the activity's result, which a newer worker may have given to a workflow task
// an older one ran (a rolling deploy): the marker tells a replay which of the two waited.
const changeNextPassByRoom = "next-pass-by-room"

// changeDecideAhead versions deciding the next command while a decision's nodes leave, as
// if they were gone, and validating it once they are (FindDisruptionAhead), rather than
// waiting for enough of them to go first.
const changeDecideAhead = "decide-ahead"

// departure is what a pass's decision sent away: the nodes told to go and the budget room
// their pools had left beside them.
type departure struct {
	nodes []string
	room  int
	// byRoom: the next pass need not wait for the nodes to go; it decides ahead (before
	// decide-ahead, the room decided when to look again). Not after a drift, which has no
	// validation to catch what a pass made while its pods move would miss, nor before
	// taint-first, whose candidates a pass could not yet see leaving.
	byRoom bool
}

// untilNextPass waits a period before the next pass. After a pass that carried a decision
// out, the next pass comes at once and decides ahead: the decision's nodes hold their
// budget while they drain, for about as long as a validation lasts, so the next decision is
// made as if they were gone, validated once they are, and its validation delay overlaps
// their drain. Karpenter instead looks again at once and takes what is left of a budget
// while the command's nodes drain, however little: a few nodes, which then cost a whole
// validation. A drift, which has no validation to overlap with, waits for all its nodes to
// go. Decisions made before deciding ahead wait, as they did, until the room left and the
// nodes gone since allow a decision worth its validation (worthDeciding).
func (c *controller) untilNextPass(ctx workflow.Context, last departure) error {
	going := last.nodes
	if len(going) == 0 || workflow.GetVersion(ctx, changeWaitNodesGone, workflow.DefaultVersion, 1) < 1 {
		return workflow.Sleep(ctx, c.period)
	}
	if last.byRoom && workflow.GetVersion(ctx, changeDecideAhead, workflow.DefaultVersion, 1) >= 1 {
		c.ahead = going
		return nil
	}
	req := activities.NodesGoneRequest{Nodes: going, Within: c.period}
	if last.byRoom && workflow.GetVersion(ctx, changeNextPassByRoom, workflow.DefaultVersion, 1) >= 1 {
		want := worthDeciding(len(going), c.validationDelay, c.period)
		if last.room >= want {
			return nil
		}
		if enough := want - last.room; enough < len(going) {
			req.Enough = enough // otherwise all of them, as before
		}
	}
	if err := c.waitNodesGone(ctx, req); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		workflow.GetLogger(ctx).Warn("wait for the disrupted nodes to go; waiting a period instead", "error", err)
		return workflow.Sleep(ctx, c.period)
	}
	return nil
}

// waitNodesGone waits until req's nodes are gone (enough of them, with req.Enough), within
// req.Within; nodes still there then are logged, not an error.
func (c *controller) waitNodesGone(ctx workflow.Context, req activities.NodesGoneRequest) error {
	var left int
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, waitNodesGoneOptions(req.Within)), disruptionActs.WaitNodesGone, req).Get(ctx, &left)
	if err != nil {
		return err
	}
	if gone := len(req.Nodes) - left; left > 0 && (req.Enough == 0 || gone < req.Enough) {
		workflow.GetLogger(ctx).Info("disrupted nodes still there after the wait", "left", left, "of", len(req.Nodes), "waited", req.Within)
	}
	return nil
}

// worthDeciding is the least budget room worth a pass after a decision of n nodes, rather
// than waiting up to a period for more: a decision costs about a validation delay whatever
// its size, so one of r nodes now beats one of n after the wait when r/validation >=
// n/(validation+period); 60 % of n with Karpenter's 15 s and 10 s.
func worthDeciding(n int, validation, period time.Duration) int {
	if validation <= 0 || period <= 0 {
		return n
	}
	return max(1, int((int64(n)*int64(validation)+int64(validation+period)-1)/int64(validation+period)))
}

// pass finds and carries out at most one disruption, and returns what its decision sent
// away. Failures are logged and retried on the next pass: nothing here is worth failing the
// controller for.
func (c *controller) pass(ctx workflow.Context) (last departure) {
	ahead := c.ahead
	c.ahead = nil
	actx := workflow.WithActivityOptions(ctx, disruptionOptions())
	var find workflow.Future
	if len(ahead) > 0 {
		find = workflow.ExecuteActivity(actx, disruptionActs.FindDisruptionAhead, activities.DisruptionAheadRequest{Leaving: ahead})
	} else {
		find = workflow.ExecuteActivity(actx, disruptionActs.FindDisruption)
	}
	var found activities.DisruptionDecision
	if err := find.Get(ctx, &found); err != nil {
		workflow.GetLogger(ctx).Warn("find disruption", "error", err)
		return departure{}
	}
	c.state.LastSkipped = found.Skipped
	cmd := found.Command
	if cmd == nil {
		return departure{}
	}
	if c.paused(ctx) {
		c.withhold(ctx, found, nil, nil)
		return departure{}
	}
	c.state.Decisions++
	rec := DecisionRecord{
		ID: fmt.Sprintf("%s-%d", workflow.GetInfo(ctx).OriginalRunID, c.state.Decisions), At: workflow.Now(ctx),
		Method: cmd.Method, Reason: cmd.Reason, Nodes: cmd.Nodes, Savings: cmd.Savings,
	}
	c.told = nil
	defer func() {
		c.remember(rec)
		if rec.Outcome == outcomeDisrupted {
			last.nodes = c.told
		}
	}()

	if cmd.Reason != disruption.ReasonDrifted {
		if err := workflow.Sleep(ctx, c.validationDelay); err != nil {
			rec.Outcome = "cancelled"
			return
		}
	}
	if len(ahead) > 0 {
		// Decided as if the last decision's nodes were gone: the budgets are counted again,
		// as the nodes stand, once they are (aheadWaitLimit at most). A drift, decided
		// ahead, is validated as well for its budgets.
		if err := c.waitNodesGone(ctx, activities.NodesGoneRequest{Nodes: ahead, Within: aheadWaitLimit}); err != nil {
			if ctx.Err() != nil {
				rec.Outcome = "cancelled"
				return
			}
			workflow.GetLogger(ctx).Warn("wait for the last decision's nodes to go; validating as they stand", "error", err)
		}
	}
	if cmd.Reason != disruption.ReasonDrifted || len(ahead) > 0 {
		var invalid string
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, disruptionOptions()), disruptionActs.ValidateDisruption, *cmd).Get(ctx, &invalid); err != nil {
			rec.Outcome = "validation failed: " + err.Error()
			return
		}
		if invalid != "" {
			rec.Outcome = "no longer valid: " + invalid
			return
		}
		if c.paused(ctx) { // paused during the validation delay
			c.withhold(ctx, found, &rec, nil)
			return
		}
	}
	if workflow.GetVersion(ctx, changeTaintFirst, workflow.DefaultVersion, 1) < 1 {
		c.launchThenDisrupt(ctx, found, &rec)
		return
	}
	c.taintLaunchThenDisrupt(ctx, found, &rec)
	last.room, last.byRoom = found.RoomAfter, cmd.Reason != disruption.ReasonDrifted
	return // last.nodes is set as rec is remembered
}

// launchThenDisrupt is how decisions were carried out before changeTaintFirst: the
// candidates took new pods while their replacement booted. Kept so older histories replay.
func (c *controller) launchThenDisrupt(ctx workflow.Context, found activities.DisruptionDecision, rec *DecisionRecord) {
	if found.Replacement != nil {
		name, err := c.launch(ctx, found)
		rec.Replacement = name
		if err != nil {
			rec.Outcome = err.Error()
			return
		}
	}
	c.disrupt(ctx, found, rec)
}

// launch announces the replacement on the candidates, launches it and waits until it is Ready.
func (c *controller) launch(ctx workflow.Context, found activities.DisruptionDecision) (string, error) {
	c.announce(ctx, found.Nodes, "DisruptionLaunching", fmt.Sprintf("Launching NodeClaim: %s", found.Command.Reason))
	return c.launchReplacement(ctx, *found.Replacement, found.Command.Reason)
}

// changeSignalEach versions telling a decision's candidates to go from one local activity,
// SignalsAtOnce signals at a time, rather than by a signal command each, one after the other:
// at 5,000 pods a decision of 150 nodes took half a minute to tell them that way, and 11 s
// with the commands all sent in one workflow task, each still a transfer task on the server
// and two events in this history.
const changeSignalEach = "signal-candidates-each"

// disrupt tells each candidate's workflow to go and records the decision as carried out. It
// returns the candidates whose workflows could not be told.
func (c *controller) disrupt(ctx workflow.Context, found activities.DisruptionDecision, rec *DecisionRecord) []activities.NodeRef {
	cmd := found.Command
	msg := Disrupt{Reason: cmd.Reason, DecisionID: rec.ID, Savings: cmd.Savings, Replacement: rec.Replacement}
	tell := c.signalEach
	if workflow.GetVersion(ctx, changeSignalEach, workflow.DefaultVersion, 1) < 1 {
		tell = c.signalOneByOne
	}
	untold := tell(ctx, found.Nodes, msg)
	rec.Outcome = outcomeDisrupted
	countDecision(ctx, *cmd, found.Replacement != nil)
	return untold
}

// signalEach tells the nodes' workflows from one local activity, and returns those it could
// not tell; c.told gains the others. Should the call itself fail (the worker lost, the
// answer malformed), nobody knows which were told: they are told again by signal commands,
// which a workflow already told ignores, so that every candidate ends up told or untold.
func (c *controller) signalEach(ctx workflow.Context, nodes []activities.NodeRef, msg Disrupt) []activities.NodeRef {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = NodeWorkflowID(n.Claim)
	}
	var why []string
	lctx := workflow.WithLocalActivityOptions(ctx, signalEachOptions(len(ids)))
	err := workflow.ExecuteLocalActivity(lctx, signalActs.SignalEach, activities.SignalRequest{WorkflowIDs: ids, Name: SignalDisrupt, Payload: msg}).Get(ctx, &why)
	if err == nil && len(why) != len(nodes) {
		err = fmt.Errorf("%d outcomes for %d candidates", len(why), len(nodes))
	}
	if err != nil {
		workflow.GetLogger(ctx).Warn("signal disrupt from an activity; signalling one by one", "nodes", len(nodes), "error", err)
		return c.signalOneByOne(ctx, nodes, msg)
	}
	var untold []activities.NodeRef
	for i, n := range nodes {
		if why[i] != "" {
			workflow.GetLogger(ctx).Warn("signal disrupt", "node", n.Name, "error", why[i])
			untold = append(untold, n)
			continue
		}
		c.told = append(c.told, n.Name)
	}
	return untold
}

// signalEachOptions gives SignalEach time for all its signals, each bounded on its own, and
// no retry: a failed call is taken over by signal commands.
func signalEachOptions(n int) workflow.LocalActivityOptions {
	rounds := (n + activities.SignalsAtOnce - 1) / activities.SignalsAtOnce
	d := time.Duration(rounds)*activities.SignalTimeout + 10*time.Second
	return workflow.LocalActivityOptions{StartToCloseTimeout: d, ScheduleToCloseTimeout: d, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}}
}

// signalOneByOne tells the candidates by a signal command each, one after the other: how
// they were told before changeSignalEach (kept so older histories replay), and how they are
// told when a SignalEach call fails.
func (c *controller) signalOneByOne(ctx workflow.Context, nodes []activities.NodeRef, msg Disrupt) []activities.NodeRef {
	var untold []activities.NodeRef
	for _, n := range nodes {
		if err := workflow.SignalExternalWorkflow(ctx, NodeWorkflowID(n.Claim), "", SignalDisrupt, msg).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("signal disrupt", "node", n.Name, "error", err)
			untold = append(untold, n)
			continue
		}
		c.told = append(c.told, n.Name)
	}
	return untold
}

// changeReplacementsInFlight versions telling the Provisioner about a replacement, so that
// its plans count it against the pool's limits while it boots.
const changeReplacementsInFlight = "replacements-in-flight"

// launchReplacement starts a NodeLifecycle for the replacement and waits until its node is
// Ready (Karpenter's pre-spin), so pods have somewhere to go before any is evicted.
func (c *controller) launchReplacement(ctx workflow.Context, claim activities.Claim, reason string) (string, error) {
	claim.Name = ClaimName(claim.NodePool, fmt.Sprintf("%s/replacement/%d", workflow.GetInfo(ctx).OriginalRunID, c.state.Decisions))
	cctx := workflow.WithChildOptions(ctx, nodeWorkflowOptions(claim, reason))
	child := workflow.ExecuteChildWorkflow(cctx, NodeLifecycleWorkflow, NodeLifecycleInput{Claim: claim, Notify: DisruptionID, CreationReason: reason, Listed: true})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return claim.Name, fmt.Errorf("start replacement %s: %w", claim.Name, err)
	}
	if workflow.GetVersion(ctx, changeReplacementsInFlight, workflow.DefaultVersion, 1) >= 1 {
		// Best effort: the replacement's limit is checked again when the next plan runs.
		started := ClaimStarted{Name: claim.Name, NodePool: claim.NodePool, Capacity: claim.Capacity, MaxPricePerHour: claim.MaxPricePerHour}
		if err := workflow.SignalExternalWorkflow(ctx, ProvisionerID, "", SignalClaimStarted, started).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("tell the provisioner about the replacement", "claim", claim.Name, "error", err)
		}
	}
	c.announce(ctx, c.candidates, "DisruptionWaitingReadiness", "Waiting on readiness to continue disruption")
	timer := workflow.NewTimer(ctx, replacementTimeout)
	for {
		var outcome error
		done := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(c.readyCh, func(ch workflow.ReceiveChannel, _ bool) {
			var msg NodeReady
			if !receive(ctx, ch, &msg) {
				return
			}
			done = msg.Claim == claim.Name
		})
		sel.AddReceive(c.failedCh, func(ch workflow.ReceiveChannel, _ bool) {
			var msg ClaimFailed
			if !receive(ctx, ch, &msg) {
				return
			}
			if msg.Claim == claim.Name {
				done, outcome = true, fmt.Errorf("replacement %s failed: %s", claim.Name, msg.Reason)
			}
		})
		sel.AddFuture(timer, func(workflow.Future) {
			done, outcome = true, fmt.Errorf("replacement %s not Ready within %s", claim.Name, replacementTimeout)
		})
		sel.Select(ctx)
		if done {
			return claim.Name, outcome
		}
	}
}

// changeDisruptionEvents versions the events the controller records on its candidates.
const changeDisruptionEvents = "disruption-events"

// announce records an event on the decision's nodes (Karpenter's DisruptionLaunching and
// DisruptionWaitingReadiness). Best effort: an event lost is not worth a decision.
func (c *controller) announce(ctx workflow.Context, nodes []activities.NodeRef, reason, message string) {
	if workflow.GetVersion(ctx, changeDisruptionEvents, workflow.DefaultVersion, 1) < 1 {
		return
	}
	c.candidates = nodes
	actx := workflow.WithActivityOptions(ctx, projectOptions())
	a := activities.DisruptionAnnouncement{Nodes: nodes, Reason: reason, Message: message}
	if err := workflow.ExecuteActivity(actx, disruptionActs.AnnounceDisruption, a).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("announce disruption", "reason", reason, "error", err)
	}
}

// showDetails sets the workflow's current details, which the Temporal UI shows, to the last
// pass, the last decision and the pause.
func (c *controller) showDetails(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, disruptionDetails(c.state, c.lastPass))
}

func (c *controller) remember(rec DecisionRecord) {
	c.state.Recent = append(c.state.Recent, rec)
	if over := len(c.state.Recent) - recentDecisions; over > 0 {
		c.state.Recent = c.state.Recent[over:]
	}
}
