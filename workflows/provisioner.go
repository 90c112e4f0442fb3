package workflows

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/activities/market"
)

// ProvisionerInput is empty on first start; continue-as-new carries the state over in it.
type ProvisionerInput struct {
	State ProvisionerState `json:"state"`
}

// ProvisionerState is everything the Provisioner remembers, and what the state query
// returns. It is carried across continue-as-new, so it keeps nothing per pod: the planner
// lists the pending pods itself, and reads which pods an in-flight claim holds from that
// claim's node workflow.
type ProvisionerState struct {
	// Signalled counts the pods signalled pending since the last plan; a batch is due
	// while it is above zero.
	Signalled int `json:"signalled,omitempty"`
	// Pending (pods signalled, not yet planned, by key) and Nominations (pod keys to the
	// in-flight claim planned for them) are kept only by runs recorded before
	// changePlanFromCluster, whose decisions replay from them; later runs load them from
	// such a run's state and then drop them.
	Pending     map[string]PodRef     `json:"pending,omitempty"`
	Nominations map[string]Nomination `json:"nominations,omitempty"`
	// InFlight are the claims started whose node is not Ready yet, by claim name: they
	// count against their pools' limits until their Node registers.
	InFlight map[string]InFlightClaim `json:"inFlight,omitempty"`
	// Unavailable are offerings recently out of capacity, kept out of plans until Until.
	Unavailable []UnavailableOffering `json:"unavailable,omitempty"`
	// Settled are claims whose node-ready or claim-failed came while they were not in flight,
	// by name, with when: a replacement's claim-started that arrives after either (the
	// replacement failed at once) must not count it for inFlightTTL.
	Settled map[string]time.Time `json:"settled,omitempty"`
	// JustReady are claims whose node became Ready less than readyHold ago, by name, with
	// when: their pods still pending are being bound to that node by the kube-scheduler, and
	// are held from plans meanwhile rather than given a node of their own.
	JustReady map[string]time.Time `json:"justReady,omitempty"`
	// ClaimsStarted counts claims ever named; it feeds claim names.
	ClaimsStarted int `json:"claimsStarted"`
	// Batches counts batches ever planned.
	Batches  int          `json:"batches"`
	LastPlan *PlanSummary `json:"lastPlan,omitempty"`
	// Batch is the batching window the workers last asked for; nil means the defaults.
	Batch *BatchWindow `json:"batch,omitempty"`
}

// BatchWindow is how a batch of pending pods is collected (Karpenter's BATCH_IDLE_DURATION
// and BATCH_MAX_DURATION): it closes once no pod has arrived for Idle, or Max after it opened.
type BatchWindow struct {
	Idle Duration `json:"idle"`
	Max  Duration `json:"max"`
}

// Default batching, Karpenter's, and the longest window a worker may ask for: a batch held
// longer leaves pods pending for no gain.
const (
	DefaultBatchIdle = time.Second
	DefaultBatchMax  = 10 * time.Second
	MaxBatchMax      = 10 * time.Minute
)

// Valid is true for a window a worker may set: 0 < Idle <= Max <= MaxBatchMax. The
// Provisioner ignores any other, so workers check theirs with it at start.
func (w *BatchWindow) Valid() bool {
	return w != nil && w.Idle > 0 && w.Idle <= w.Max && time.Duration(w.Max) <= MaxBatchMax
}

// batchWindow is the window in force.
func (s ProvisionerState) batchWindow() (idle, maxWait time.Duration) {
	if s.Batch.Valid() {
		return time.Duration(s.Batch.Idle), time.Duration(s.Batch.Max)
	}
	return DefaultBatchIdle, DefaultBatchMax
}

// Nomination says a pod is expected to land on an in-flight claim.
type Nomination struct {
	Claim string    `json:"claim"`
	At    time.Time `json:"at"`
}

// InFlightClaim is a claim started at At whose node is not Ready yet.
type InFlightClaim struct {
	activities.InFlightClaim
	At time.Time `json:"at"`
	// Replacement marks a claim another workflow started (a disruption's replacement): it
	// counts against limits but holds no pending pods.
	Replacement bool `json:"replacement,omitempty"`
}

// UnavailableOffering is an offering to avoid until a time (workflow time).
type UnavailableOffering struct {
	activities.Offering
	Until time.Time `json:"until"`
}

// PlanSummary describes the last plan, to answer "why is my pod still pending".
type PlanSummary struct {
	At time.Time `json:"at"`
	// Pods counts the pods planned; Nominated those left to in-flight claims.
	Pods      int      `json:"pods"`
	Nominated int      `json:"nominated,omitempty"`
	Claims    []string `json:"claims,omitempty"`
	// PricePerHour is what the claims started cost per hour together, at the plan's prices:
	// each claim's cheapest offering.
	PricePerHour float64 `json:"pricePerHour,omitempty"`
	// Unschedulable holds a sample of the pods no node can take, with the reason;
	// UnschedulableCount counts them all.
	Unschedulable      map[string]string `json:"unschedulable,omitempty"`
	UnschedulableCount int               `json:"unschedulableCount,omitempty"`
	Error              string            `json:"error,omitempty"`
	// Market says where the plan's types, offerings and prices came from: AWS, or the
	// embedded fallback and why.
	Market *market.Status `json:"market,omitempty"`
}

// Batching and memory limits, after Karpenter's.
const (
	// nominationTTL forgets a per-pod nomination (runs before changePlanFromCluster) whose
	// claim never reported back.
	nominationTTL = 15 * time.Minute
	// nominationWindow is how long a claim holds its pods: while its instance may still be
	// launching (about 12 minutes of retries) or its Node registering. A claim that said
	// nothing by then (its workflow ended without a word) leaves them to be planned again.
	nominationWindow = 15*time.Minute + registrationTimeout
	// readyHold is how long a claim whose node is Ready still holds its pending pods: the
	// kube-scheduler binds them to the node within seconds, and the planner, whose view of
	// the cluster may lag by as much, must not give them another node meanwhile.
	readyHold = 30 * time.Second
	// inFlightTTL stops counting a claim against its pool's limits when it never reported
	// back, after its node workflow would have given up on it (launch retries end within
	// about 12 minutes).
	inFlightTTL = 15*time.Minute + registrationTimeout + initializationTimeout
	// unavailableTTL is Karpenter's insufficient-capacity cache lifetime.
	unavailableTTL = 3 * time.Minute
	// planRetryDelay spaces out batches while planning keeps failing.
	planRetryDelay = 10 * time.Second
	// maxBatchesPerRun continues-as-new even if the server never suggests it.
	maxBatchesPerRun = 500
	// claimNameAttempts bounds retries when a generated claim name is already taken.
	claimNameAttempts = 3
	// maxPlansPerBatch bounds the plans of one batch when each leaves claims for the next.
	maxPlansPerBatch = 50
	// The state's maps are carried in every continue-as-new and fed by signals anyone may
	// send, so each is bounded: replacements in flight (the disruption controller runs one
	// at a time), offerings avoided (deduplicated), claims settled.
	maxReplacementsInFlight = 100
	maxUnavailable          = 1000
	maxSettled              = 1000
	// maxNameLength is a Kubernetes object name's (NodeClaim, NodePool); maxCapacityEntries
	// is well above the resources a node reports.
	maxNameLength      = 63
	maxCapacityEntries = 16
)

// truncated keeps a name from a payload short enough to log.
func truncated(s string) string {
	if len(s) > maxNameLength {
		return s[:maxNameLength] + "…"
	}
	return s
}

// changeContinueMidBatch versions continuing as new between the plans of one batch, so that
// a batch of many plans (each starting hundreds of node workflows) does not outgrow the
// history's limits.
const changeContinueMidBatch = "continue-mid-batch"

// changePackedPlans versions asking the planner for its claims packed by shape, which lets
// a plan of about 1,000 alike claims fit one result. Runs recorded before it read their
// results in full, as a worker of an older version wrote them.
const changePackedPlans = "packed-plans"

// changePlanFromCluster versions planning from the cluster: the Provisioner no longer keeps
// pending pods and nominations per pod, so a batch whose pods were all nominated is planned
// too (the planner leaves those pods out) rather than skipped.
const changePlanFromCluster = "plan-from-cluster"

var plannerActs *activities.Planner

// ProvisionerWorkflow is the singleton (id ProvisionerID) that turns pending pods into
// nodes: it batches pending-pods signals, plans each batch and starts one NodeLifecycle
// workflow per new claim (see startNodes), remembering which claims are in flight.
func ProvisionerWorkflow(ctx workflow.Context, in ProvisionerInput) error {
	p := &provisioner{state: in.State}
	p.perPod = workflow.GetVersion(ctx, changePlanFromCluster, workflow.DefaultVersion, 1) == workflow.DefaultVersion
	p.packClaims = workflow.GetVersion(ctx, changePackedPlans, workflow.DefaultVersion, 1) >= 1
	if p.state.Signalled == 0 {
		p.state.Signalled = len(p.state.Pending) // state carried from a run that kept them per pod
	}
	if !p.perPod {
		p.state.Pending, p.state.Nominations = nil, nil
	}
	if p.state.Pending == nil && p.perPod {
		p.state.Pending = map[string]PodRef{}
	}
	if p.state.Nominations == nil && p.perPod {
		p.state.Nominations = map[string]Nomination{}
	}
	if p.state.InFlight == nil {
		p.state.InFlight = map[string]InFlightClaim{}
	}
	return p.run(ctx)
}

type provisioner struct {
	state          ProvisionerState
	batchesThisRun int
	// perPod is true for runs recorded before changePlanFromCluster: they keep pending pods
	// and nominations per pod and skip a batch whose pods are all nominated.
	perPod bool
	// packClaims asks the planner for its claims packed by shape (changePackedPlans).
	packClaims bool

	pendingCh     workflow.ReceiveChannel
	failedCh      workflow.ReceiveChannel
	readyCh       workflow.ReceiveChannel
	unavailableCh workflow.ReceiveChannel
	startedCh     workflow.ReceiveChannel
	// lastPodAt is when the open batch last grew.
	lastPodAt time.Time
	// simulating counts simulate updates under way.
	simulating int
	// closing is set once the run waits for its handlers to finish before continuing as new:
	// a simulate accepted then would hold the run open, and new runs serve it instead.
	closing bool
}

func (p *provisioner) run(ctx workflow.Context) error {
	err := workflow.SetQueryHandlerWithOptions(ctx, QueryState,
		func() (ProvisionerState, error) { return p.state, nil },
		workflow.QueryHandlerOptions{Description: "Pending pods, nominations and the last plan"})
	if err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	if err := p.serveSimulate(ctx); err != nil {
		return err
	}
	p.pendingCh = workflow.GetSignalChannelWithOptions(ctx, SignalPendingPods,
		workflow.SignalChannelOptions{Description: "Pods waiting for a node (PendingPods)"})
	p.failedCh = workflow.GetSignalChannelWithOptions(ctx, SignalClaimFailed,
		workflow.SignalChannelOptions{Description: "A claim will not become a node (ClaimFailed)"})
	p.readyCh = workflow.GetSignalChannelWithOptions(ctx, SignalNodeReady,
		workflow.SignalChannelOptions{Description: "A claim's node is Ready (NodeReady)"})
	p.unavailableCh = workflow.GetSignalChannelWithOptions(ctx, SignalOfferingUnavailable,
		workflow.SignalChannelOptions{Description: "Avoid an offering for a while (OfferingUnavailable)"})
	p.startedCh = workflow.GetSignalChannelWithOptions(ctx, SignalClaimStarted,
		workflow.SignalChannelOptions{Description: "A claim another workflow started, to count against its pool's limits (ClaimStarted)"})

	workflow.SetCurrentDetails(ctx, provisionerDetails(p.state))
	for {
		if err := p.awaitPods(ctx); err != nil {
			return err
		}
		p.collectBatch(ctx)
		if err := p.planBatch(ctx); err != nil {
			workflow.GetLogger(ctx).Warn("plan failed; pods stay pending", "error", err)
			if err := workflow.Sleep(ctx, planRetryDelay); err != nil {
				return err
			}
		}
		p.batchesThisRun++
		p.state.Batches++
		workflow.SetCurrentDetails(ctx, provisionerDetails(p.state))
		if p.shouldContinueAsNew(ctx) {
			return p.continueAsNew(ctx)
		}
	}
}

// SimulateClosing is the simulate update's refusal while the Provisioner waits to continue as
// new; its next run answers, so a client asks again.
const SimulateClosing = "the Provisioner is continuing as new; ask again in a few seconds"

// maxSimulations bounds the simulate updates under way at once: each adds an activity to
// the history.
const maxSimulations = 2

// serveSimulate answers the simulate update: the plan the Provisioner would make now, from
// the planner's dry run, with nothing started and no state changed.
func (p *provisioner) serveSimulate(ctx workflow.Context) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSimulate,
		func(ctx workflow.Context, _ SimulateRequest) (activities.Simulation, error) {
			p.simulating++
			defer func() { p.simulating-- }()
			var sim activities.Simulation
			err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, simulateOptions()), plannerActs.Simulate,
				p.planRequest(workflow.Now(ctx))).Get(ctx, &sim)
			return sim, err
		},
		workflow.UpdateHandlerOptions{
			Validator: func(workflow.Context, SimulateRequest) error {
				if p.closing {
					return errors.New(SimulateClosing)
				}
				if p.simulating >= maxSimulations {
					return fmt.Errorf("%d simulations are under way; ask again once one answers", p.simulating)
				}
				return nil
			},
			Description: "Dry run: the nodes the Provisioner would launch now for the pending pods, where each pod goes and the cost; launches nothing",
		})
	if err != nil {
		return fmt.Errorf("register %s update: %w", UpdateSimulate, err)
	}
	return nil
}

// awaitPods blocks until some pod is pending, handling other signals meanwhile.
func (p *provisioner) awaitPods(ctx workflow.Context) error {
	for p.state.Signalled == 0 {
		if p.shouldContinueAsNew(ctx) {
			return p.continueAsNew(ctx)
		}
		sel := workflow.NewSelector(ctx)
		p.addSignalHandlers(ctx, sel)
		cancelled := false
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { cancelled = true })
		sel.Select(ctx)
		if cancelled {
			return temporal.NewCanceledError("provisioner cancelled")
		}
	}
	p.lastPodAt = workflow.Now(ctx)
	return nil
}

// changeKeepBatchTimer versions keeping the batch timer while its deadline stands: other
// signals (a node Ready, a claim failed) used to cancel and start it again, two timer
// events each, about 360 pairs in a 1,000-pod scale-out.
const changeKeepBatchTimer = "keep-batch-timer"

// collectBatch keeps the batch open until no pod has arrived for the window's idle time, or
// its maximum has passed since it opened. The timer is re-armed whenever a pod arrives.
func (p *provisioner) collectBatch(ctx workflow.Context) {
	opened := workflow.Now(ctx)
	keep := workflow.GetVersion(ctx, changeKeepBatchTimer, workflow.DefaultVersion, 1) >= 1
	var (
		timer       workflow.Future
		cancelTimer workflow.CancelFunc
		armedFor    time.Time
	)
	for {
		idle, maxWait := p.state.batchWindow()
		deadline := p.lastPodAt.Add(idle)
		if limit := opened.Add(maxWait); limit.Before(deadline) {
			deadline = limit
		}
		wait := deadline.Sub(workflow.Now(ctx))
		if wait <= 0 {
			if keep && cancelTimer != nil {
				cancelTimer()
			}
			return
		}
		if timer == nil || !keep || !deadline.Equal(armedFor) {
			if keep && cancelTimer != nil {
				cancelTimer()
			}
			var timerCtx workflow.Context
			timerCtx, cancelTimer = workflow.WithCancel(ctx)
			timer, armedFor = workflow.NewTimer(timerCtx, wait), deadline
		}
		fired := false
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) { fired = true })
		p.addSignalHandlers(ctx, sel)
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { fired = true })
		sel.Select(ctx)
		if fired {
			return
		}
		if !keep {
			cancelTimer()
		}
	}
}

// addSignalHandlers adds every signal channel to the selector.
func (p *provisioner) addSignalHandlers(ctx workflow.Context, sel workflow.Selector) {
	sel.AddReceive(p.pendingCh, func(c workflow.ReceiveChannel, _ bool) {
		var msg PendingPods
		if !receive(ctx, c, &msg) {
			return
		}
		p.onPendingPods(ctx, msg)
	})
	sel.AddReceive(p.failedCh, func(c workflow.ReceiveChannel, _ bool) {
		var msg ClaimFailed
		if !receive(ctx, c, &msg) {
			return
		}
		p.onClaimFailed(ctx, msg)
	})
	sel.AddReceive(p.readyCh, func(c workflow.ReceiveChannel, _ bool) {
		var msg NodeReady
		if !receive(ctx, c, &msg) {
			return
		}
		p.ready(ctx, msg.Claim)
	})
	sel.AddReceive(p.unavailableCh, func(c workflow.ReceiveChannel, _ bool) {
		var msg OfferingUnavailable
		if !receive(ctx, c, &msg) {
			return
		}
		p.avoid(workflow.Now(ctx), msg.Offering)
	})
	sel.AddReceive(p.startedCh, func(c workflow.ReceiveChannel, _ bool) {
		var msg ClaimStarted
		if !receive(ctx, c, &msg) {
			return
		}
		p.countInFlight(ctx, msg)
	})
}

// countInFlight counts a claim another workflow started against its pool's limits, until
// its node is Ready or it fails (or inFlightTTL passes). It holds no pods of this
// Provisioner's, whatever the payload says.
func (p *provisioner) countInFlight(ctx workflow.Context, c ClaimStarted) {
	if c.Name == "" || c.NodePool == "" || len(c.Name) > maxNameLength || len(c.NodePool) > maxNameLength || len(c.Capacity) > maxCapacityEntries {
		workflow.GetLogger(ctx).Warn("claim-started ignored: it needs a claim name and a NodePool name of at most 63 characters, and a capacity of a few resources",
			"claim", truncated(c.Name), "nodePool", truncated(c.NodePool), "resources", len(c.Capacity))
		return
	}
	if _, ok := p.state.InFlight[c.Name]; ok {
		return
	}
	if _, ok := p.state.Settled[c.Name]; ok {
		return // its node is Ready or it failed already: the signals crossed
	}
	if p.replacementsInFlight() >= maxReplacementsInFlight {
		workflow.GetLogger(ctx).Warn("claim-started ignored: too many replacements in flight", "claim", c.Name, "limit", maxReplacementsInFlight)
		return
	}
	c.Nominates = false
	c.Capacity = nonNegative(c.Capacity)
	p.state.InFlight[c.Name] = InFlightClaim{InFlightClaim: c, At: workflow.Now(ctx), Replacement: true}
}

func (p *provisioner) replacementsInFlight() int {
	n := 0
	for _, c := range p.state.InFlight {
		if c.Replacement {
			n++
		}
	}
	return n
}

// nonNegative drops the negative quantities of a capacity a signal brought: they would
// give a pool room its limits do not have. (The planner caps the rest at the largest type.)
func nonNegative(capacity corev1.ResourceList) corev1.ResourceList {
	for name, q := range capacity {
		if q.Sign() < 0 {
			delete(capacity, name)
		}
	}
	return capacity
}

// avoid keeps an offering out of plans for unavailableTTL, as Karpenter's
// unavailable-offerings cache does after no capacity or a spot interruption. An offering
// already avoided is avoided longer; past maxUnavailable, the one due soonest goes.
func (p *provisioner) avoid(now time.Time, o activities.Offering) {
	until := now.Add(unavailableTTL)
	for i := range p.state.Unavailable {
		if p.state.Unavailable[i].Offering == o {
			p.state.Unavailable[i].Until = until
			return
		}
	}
	if len(p.state.Unavailable) >= maxUnavailable {
		soonest := 0
		for i, u := range p.state.Unavailable {
			if u.Until.Before(p.state.Unavailable[soonest].Until) {
				soonest = i
			}
		}
		p.state.Unavailable = slices.Delete(p.state.Unavailable, soonest, soonest+1)
	}
	p.state.Unavailable = append(p.state.Unavailable, UnavailableOffering{Offering: o, Until: until})
}

func (p *provisioner) onPendingPods(ctx workflow.Context, msg PendingPods) {
	// A window that is not sane is ignored: a payload never holds the Provisioner up.
	if msg.Batch.Valid() {
		p.state.Batch = msg.Batch
	}
	n := max(msg.Count, len(msg.Pods))
	if n <= 0 {
		return
	}
	p.state.Signalled += n
	if p.perPod {
		for _, ref := range msg.Pods {
			p.state.Pending[ref.Key()] = ref
		}
	}
	p.lastPodAt = workflow.Now(ctx)
}

// onClaimFailed forgets the claim, plans its pods again and keeps the offerings that ran
// out of capacity out of plans for a while.
func (p *provisioner) onClaimFailed(ctx workflow.Context, msg ClaimFailed) {
	p.settle(ctx, msg.Claim)
	requeued := make([]PodRef, 0, len(msg.Pods))
	for _, key := range msg.Pods {
		ns, name, _ := strings.Cut(key, "/")
		requeued = append(requeued, PodRef{Namespace: ns, Name: name})
	}
	for _, o := range msg.Unavailable {
		p.avoid(workflow.Now(ctx), o)
	}
	p.onPendingPods(ctx, PendingPods{Pods: requeued})
}

// ready settles a claim whose node is Ready, holding its pods for readyHold if it held any.
func (p *provisioner) ready(ctx workflow.Context, claim string) {
	if c, ok := p.state.InFlight[claim]; ok && !c.Replacement && len(p.state.JustReady) < maxSettled {
		if p.state.JustReady == nil {
			p.state.JustReady = map[string]time.Time{}
		}
		p.state.JustReady[claim] = workflow.Now(ctx)
	}
	p.settle(ctx, claim)
}

// settle forgets a claim whose node is Ready or which failed. One not in flight is
// remembered as settled for inFlightTTL, so that its claim-started, if still on its way,
// is ignored; past maxSettled, the oldest is forgotten.
func (p *provisioner) settle(ctx workflow.Context, claim string) {
	if _, ok := p.state.InFlight[claim]; ok || claim == "" || len(claim) > maxNameLength {
		p.forgetClaim(claim) // a name no claim can have is not worth remembering
		return
	}
	if p.state.Settled == nil {
		p.state.Settled = map[string]time.Time{}
	}
	if len(p.state.Settled) >= maxSettled {
		oldest := ""
		for _, name := range workflow.DeterministicKeys(p.state.Settled) {
			if oldest == "" || p.state.Settled[name].Before(p.state.Settled[oldest]) {
				oldest = name
			}
		}
		delete(p.state.Settled, oldest)
	}
	p.state.Settled[claim] = workflow.Now(ctx)
	p.forgetClaim(claim)
}

// forgetClaim drops the claim and every nomination onto it.
func (p *provisioner) forgetClaim(claim string) {
	delete(p.state.InFlight, claim)
	for _, key := range workflow.DeterministicKeys(p.state.Nominations) {
		if p.state.Nominations[key].Claim == claim {
			delete(p.state.Nominations, key)
		}
	}
}

// expire forgets nominations, in-flight claims and unavailable offerings that are too old.
func (p *provisioner) expire(now time.Time) {
	for _, key := range workflow.DeterministicKeys(p.state.Nominations) {
		if now.Sub(p.state.Nominations[key].At) >= nominationTTL {
			delete(p.state.Nominations, key)
		}
	}
	for _, name := range workflow.DeterministicKeys(p.state.InFlight) {
		if now.Sub(p.state.InFlight[name].At) >= inFlightTTL {
			delete(p.state.InFlight, name)
		}
	}
	for _, name := range workflow.DeterministicKeys(p.state.Settled) {
		if now.Sub(p.state.Settled[name]) >= inFlightTTL {
			delete(p.state.Settled, name)
		}
	}
	for _, name := range workflow.DeterministicKeys(p.state.JustReady) {
		if now.Sub(p.state.JustReady[name]) >= readyHold {
			delete(p.state.JustReady, name)
		}
	}
	kept := p.state.Unavailable[:0]
	for _, u := range p.state.Unavailable {
		if now.Before(u.Until) {
			kept = append(kept, u)
		}
	}
	p.state.Unavailable = kept
}

// planBatch plans the cluster's pending pods and starts a NodeLifecycle per new claim. A
// plan that leaves claims for later (to keep its result small) is followed at once by
// another, while claims keep being started. On failure the batch stays due.
func (p *provisioner) planBatch(ctx workflow.Context) error {
	p.expire(workflow.Now(ctx))
	if p.perPod && p.allNominated() {
		p.clearSignalled() // every pod is already on its way to a node: nothing to plan
		return nil
	}
	signalled := p.state.Signalled
	for range maxPlansPerBatch {
		now := workflow.Now(ctx)
		var result activities.PlanResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions()), plannerActs.Plan, p.planRequest(now)).Get(ctx, &result)
		if err != nil {
			p.state.LastPlan = &PlanSummary{At: now, Error: err.Error()}
			p.keepDue()
			return fmt.Errorf("plan after %d pods signalled: %w", signalled, err)
		}
		p.clearSignalled()
		started := p.startNodes(ctx, result.Claims)
		p.state.LastPlan = summarize(now, result, started)
		if !result.More {
			return nil
		}
		if len(started) == 0 {
			return nil // no progress; claims that failed to start requeued their pods
		}
		if p.shouldContinueAsNew(ctx) && workflow.GetVersion(ctx, changeContinueMidBatch, workflow.DefaultVersion, 1) >= 1 {
			p.keepDue() // the next run plans the rest at once
			return nil
		}
	}
	p.keepDue()
	return nil
}

// keepDue keeps the batch due when pods were left unplanned: the pods of a plan's claims
// left for later, after the plan that was to take them failed or never came.
func (p *provisioner) keepDue() {
	p.state.Signalled = max(p.state.Signalled, 1)
}

// allNominated is true when every pod signalled is nominated to an in-flight claim, as runs
// that keep them per pod see it. Pods only counted (signalled by a newer pod watcher) are
// not known to be nominated; such runs never recorded a batch without named pods.
func (p *provisioner) allNominated() bool {
	if len(p.state.Pending) == 0 {
		return false
	}
	for key := range p.state.Pending {
		if _, ok := p.state.Nominations[key]; !ok {
			return false
		}
	}
	return true
}

// clearSignalled marks the signalled pods planned.
func (p *provisioner) clearSignalled() {
	p.state.Signalled = 0
	if p.perPod {
		p.state.Pending = map[string]PodRef{}
	}
}

// planRequest lists the offerings to avoid and the claims in flight, saying which still
// nominate their pods.
func (p *provisioner) planRequest(now time.Time) activities.PlanRequest {
	req := activities.PlanRequest{PackClaims: p.packClaims}
	for _, u := range p.state.Unavailable {
		req.Unavailable = append(req.Unavailable, u.Offering)
	}
	for _, name := range workflow.DeterministicKeys(p.state.InFlight) {
		c := p.state.InFlight[name]
		claim := c.InFlightClaim
		claim.Nominates = !c.Replacement && now.Sub(c.At) < nominationWindow
		req.InFlight = append(req.InFlight, claim)
	}
	for _, name := range workflow.DeterministicKeys(p.state.JustReady) {
		if now.Sub(p.state.JustReady[name]) < readyHold {
			req.Holding = append(req.Holding, name)
		}
	}
	return req
}

// summarize describes a plan: what it planned, the claims it started and what they cost.
func summarize(at time.Time, result activities.PlanResult, started []activities.Claim) *PlanSummary {
	out := &PlanSummary{
		At: at, Pods: result.Pods, Nominated: result.Nominated,
		Unschedulable: result.Unschedulable, UnschedulableCount: result.UnschedulableCount, Market: result.Market,
	}
	for _, c := range started {
		out.Claims = append(out.Claims, c.Name)
		out.PricePerHour += c.PricePerHour
	}
	return out
}

func (p *provisioner) nominate(ctx workflow.Context, c activities.Claim) {
	now := workflow.Now(ctx)
	p.state.InFlight[c.Name] = InFlightClaim{
		InFlightClaim: activities.InFlightClaim{Name: c.Name, NodePool: c.NodePool, Capacity: c.Capacity, MaxPricePerHour: c.MaxPricePerHour},
		At:            now,
	}
	if !p.perPod {
		return // the planner reads the claim's pods from its node workflow's input
	}
	for _, key := range c.Pods {
		p.state.Nominations[key] = Nomination{Claim: c.Name, At: now}
	}
}

// nextClaimName returns <nodepool>-<5 lowercase alphanumerics>, derived from the run id and
// a counter so that replays produce the same name and different runs different ones.
func (p *provisioner) nextClaimName(ctx workflow.Context, nodePool string) string {
	p.state.ClaimsStarted++
	seed := fmt.Sprintf("%s/%d", workflow.GetInfo(ctx).WorkflowExecution.RunID, p.state.ClaimsStarted)
	return ClaimName(nodePool, seed)
}

// ClaimName derives a claim name from a node pool and a seed.
func ClaimName(nodePool, seed string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte(seed))
	suffix := make([]byte, 5)
	for i := range suffix {
		suffix[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return nodePool + "-" + string(suffix)
}

func (p *provisioner) shouldContinueAsNew(ctx workflow.Context) bool {
	return p.batchesThisRun >= maxBatchesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// continueAsNew carries the state into a new run. Signals already delivered to this run
// are drained into the state first, so none is lost.
func (p *provisioner) continueAsNew(ctx workflow.Context) error {
	p.closing = true
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	p.drainSignals(ctx)
	p.expire(workflow.Now(ctx))
	return workflow.NewContinueAsNewError(ctx, ProvisionerWorkflow, ProvisionerInput{State: p.state})
}

func (p *provisioner) drainSignals(ctx workflow.Context) {
	for {
		var pods PendingPods
		if !p.pendingCh.ReceiveAsync(&pods) {
			break
		}
		p.onPendingPods(ctx, pods)
	}
	for {
		var failed ClaimFailed
		if !p.failedCh.ReceiveAsync(&failed) {
			break
		}
		p.onClaimFailed(ctx, failed)
	}
	for {
		var ready NodeReady
		if !p.readyCh.ReceiveAsync(&ready) {
			break
		}
		p.ready(ctx, ready.Claim)
	}
	for {
		var off OfferingUnavailable
		if !p.unavailableCh.ReceiveAsync(&off) {
			break
		}
		p.avoid(workflow.Now(ctx), off.Offering)
	}
	for {
		var started ClaimStarted
		if !p.startedCh.ReceiveAsync(&started) {
			break
		}
		p.countInFlight(ctx, started)
	}
}
