package workflows

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// NodeLifecycleInput is the claim the workflow turns into a node. Restore carries a Ready
// node's state across continue-as-new.
type NodeLifecycleInput struct {
	Claim   activities.Claim `json:"claim"`
	Restore *NodeState       `json:"restore,omitempty"`
	// Notify is a workflow id told, besides the provisioner, when the node is Ready or the
	// claim fails: the disruption controller waits so for a replacement.
	Notify string `json:"notify,omitempty"`
	// CreationReason is why the claim exists, for karpenter_nodeclaims_created_total: empty
	// for the provisioner's claims (provisioned), the disruption reason for a replacement.
	CreationReason string `json:"creationReason,omitempty"`
	// Listed says the workflow was started with the search attributes of a Launching node
	// (nodeWorkflowOptions), so a compact run need not write them again. The input says so,
	// not the search attributes: a history read later carries the current ones in its start.
	Listed bool `json:"listed,omitempty"`
}

// NodeLifecycleResult is the node's final state once it has been terminated.
type NodeLifecycleResult struct {
	State NodeState `json:"state"`
}

// Phase is where a node is in its life.
type Phase string

const (
	PhaseLaunching    Phase = "Launching"
	PhaseRegistering  Phase = "Registering"
	PhaseInitializing Phase = "Initializing"
	PhaseReady        Phase = "Ready"
	PhaseDraining     Phase = "Draining"
	PhaseTerminating  Phase = "Terminating"
	PhaseTerminated   Phase = "Terminated"
	PhaseFailed       Phase = "Failed"
)

// NodeState is what the state query returns.
type NodeState struct {
	Phase        Phase  `json:"phase"`
	Claim        string `json:"claim"`
	NodePool     string `json:"nodePool"`
	NodeName     string `json:"nodeName,omitempty"`
	InstanceID   string `json:"instanceId,omitempty"`
	InstanceType string `json:"instanceType,omitempty"`
	Zone         string `json:"zone,omitempty"`
	ZoneID       string `json:"zoneID,omitempty"`
	CapacityType string `json:"capacityType,omitempty"`
	ImageID      string `json:"imageID,omitempty"`
	// PricePerHour is what the node costs per hour: its launched offering's price by the
	// market's figures at launch, or the planned price of the claim's cheapest offering until
	// the instance is known or when the market had no figure for it.
	PricePerHour float64 `json:"pricePerHour"`
	// Pods are the pod keys the claim was planned for.
	Pods        []string      `json:"pods,omitempty"`
	Transitions []PhaseChange `json:"transitions"`
	DrainReason string        `json:"drainReason,omitempty"`
	LastError   string        `json:"lastError,omitempty"`
	// ExpiresAt is when expireAfter forces the node out; nil means Never.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// Disruption is the accepted request to remove the node, once there is one.
	Disruption *Disruption `json:"disruption,omitempty"`
	// PodsLeft are the pods the last drain attempt could not remove yet, and why.
	PodsLeft map[string]string `json:"podsLeft,omitempty"`
}

// Disruption describes why and when the node goes away.
type Disruption struct {
	// Source is who asked: Manual, Expiration, Disruption or Interruption.
	Source string `json:"source"`
	// Reason is the person's or controller's reason (Expired, Empty, Underutilized, Drifted,
	// SpotInterruption, ...).
	Reason string `json:"reason"`
	// Detail qualifies the reason where events need it: the instance state of a StateChange.
	Detail      string    `json:"detail,omitempty"`
	RequestedAt time.Time `json:"requestedAt"`
	// StartsAt is when draining begins; until then a manual drain can be cancelled.
	StartsAt time.Time `json:"startsAt"`
	// Deadline is when pods still on the node are deleted rather than evicted; nil waits for
	// PodDisruptionBudgets as long as it takes.
	Deadline *time.Time `json:"deadline,omitempty"`
	// Forceful drains also pods annotated karpenter.sh/do-not-disrupt (expiration,
	// interruption).
	Forceful    bool    `json:"forceful,omitempty"`
	DecisionID  string  `json:"decisionID,omitempty"`
	Savings     float64 `json:"savings,omitempty"`
	Replacement string  `json:"replacement,omitempty"`
}

// Sources of a disruption.
const (
	SourceManual       = "Manual"
	SourceExpiration   = "Expiration"
	SourceDisruption   = "Disruption"
	SourceInterruption = "Interruption"
)

// terminating reports whether the node is past the point of no return.
func (s NodeState) terminating() bool {
	switch s.Phase {
	case PhaseDraining, PhaseTerminating, PhaseTerminated, PhaseFailed:
		return true
	}
	return false
}

// PhaseChange records when the node entered a phase (workflow time).
type PhaseChange struct {
	Phase Phase     `json:"phase"`
	At    time.Time `json:"at"`
}

// ErrTypeClaimFailed is the error type a NodeLifecycle fails with when its claim never
// became a usable node.
const ErrTypeClaimFailed = "ClaimFailed"

// Activity receivers: the worker registers real instances under the same method names.
var (
	ec2Acts    *activities.EC2
	kubeActs   *activities.Kube
	signalActs *activities.Signals
)

// NodeLifecycleWorkflow launches an instance for the claim, waits for its Node to register
// and become Ready, then waits for a drain signal, drains, terminates the instance and
// deletes the Node.
//
// A claim that fails (no capacity, registration or readiness timeout) ends with phase
// Failed and a non-retryable ClaimFailed error, so the Temporal UI shows the workflow as
// Failed; the state query still answers on the closed workflow.
func NodeLifecycleWorkflow(ctx workflow.Context, in NodeLifecycleInput) (NodeLifecycleResult, error) {
	if in.Claim.Name == "" || in.Claim.NodePool == "" {
		return NodeLifecycleResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("node workflow input needs a claim name and node pool, got %q and %q", in.Claim.Name, in.Claim.NodePool),
			"InvalidInput", nil)
	}
	n := &nodeLifecycle{claim: in.Claim, notify: in.Notify, creationReason: in.CreationReason, listed: in.Listed, state: NodeState{
		Claim:        in.Claim.Name,
		NodePool:     in.Claim.NodePool,
		PricePerHour: in.Claim.PricePerHour,
		Pods:         in.Claim.Pods,
	}}
	if in.Restore != nil {
		n.state, n.restored = *in.Restore, true
	}
	return n.run(ctx)
}

type nodeLifecycle struct {
	claim          activities.Claim
	notify         string
	creationReason string
	state          NodeState
	// restored is true when this run continues a Ready node from an earlier run.
	restored bool
	// compact is true for a run with the compact history (nodelifecycle_compact.go);
	// syncAtRegistration for one whose registration syncs the Node as it finds it (version 2).
	compact, syncAtRegistration bool
	// listed is NodeLifecycleInput.Listed.
	listed bool
	// attrsStale is true when the state changed since the search attributes were last
	// written (a compact run writes them once per change, see flush).
	attrsStale bool
	// interruptible is true when an interruption ends the waits before the node is Ready
	// (histories from before replay without it).
	interruptible bool
	// projecting is true when the node keeps a NodeClaim (histories from before NodeClaims
	// replay without one); see nodelifecycle_nodeclaim.go.
	projecting bool
	// disruptions counts changes to the node's disruption (accepted, withdrawn); projected
	// is the count the NodeClaim shows.
	disruptions, projected int
	// resync asks serve to write the NodeClaim again (it was deleted from under the node).
	resync bool
	// unavailable holds the offerings a launch found without capacity.
	unavailable []activities.Offering
	ch          nodeChannels
	expiry      deadlineTimer
	start       deadlineTimer
}

func (n *nodeLifecycle) run(ctx workflow.Context) (NodeLifecycleResult, error) {
	err := workflow.SetQueryHandlerWithOptions(ctx, QueryState,
		func() (NodeState, error) { return n.state, nil },
		workflow.QueryHandlerOptions{Description: "Phase, instance, node, deadlines, disruption and pods left"})
	if err != nil {
		return NodeLifecycleResult{}, fmt.Errorf("register %s query: %w", QueryState, err)
	}
	n.ch = openNodeChannels(ctx)
	if err := n.registerUpdates(ctx); err != nil {
		return NodeLifecycleResult{}, err
	}
	compact := workflow.GetVersion(ctx, changeCompactHistory, workflow.DefaultVersion, compactRegisterAndSync)
	n.compact, n.syncAtRegistration = compact >= 1, compact >= compactRegisterAndSync
	n.projecting = n.version(ctx, changeNodeClaim) >= 1
	if err := n.verifyRestored(ctx); err != nil {
		return NodeLifecycleResult{}, err // nothing touched: the state is not this workflow's
	}
	if n.restored {
		n.showDetails(ctx) // the earlier run's details went with it
	}
	if n.restored && n.projecting {
		n.catchUp(ctx)
	}

	if !n.restored {
		if err := n.launch(ctx); err != nil {
			return n.fail(ctx, "launch", err)
		}
		n.countNodeClaimCreated(ctx)
		if err := n.register(ctx); err != nil {
			return n.fail(ctx, "registration", err)
		}
		n.countNodeCreated(ctx)
		if err := n.initialize(ctx); err != nil {
			return n.fail(ctx, "initialization", err)
		}
		n.setExpiry()
		n.setPhase(ctx, PhaseReady)
		n.tellReady(ctx)
	}

	dctx, cancelled, err := n.serve(ctx)
	if err != nil {
		return NodeLifecycleResult{}, err // continue-as-new
	}
	n.countDisrupted(dctx)
	n.drain(dctx)
	if err := n.terminate(dctx); err != nil {
		n.state.LastError = err.Error()
		n.setPhase(dctx, PhaseFailed)
		return NodeLifecycleResult{}, err
	}
	n.setPhase(dctx, PhaseTerminated)
	if cancelled {
		return NodeLifecycleResult{State: n.state}, temporal.NewCanceledError("node drained and terminated on cancellation")
	}
	return NodeLifecycleResult{State: n.state}, nil
}

// setExpiry arms expireAfter from the moment the claim was launched, as Karpenter counts it
// from the NodeClaim's creation.
func (n *nodeLifecycle) setExpiry() {
	if n.claim.ExpireAfter <= 0 || len(n.state.Transitions) == 0 {
		return
	}
	at := n.state.Transitions[0].At.Add(n.claim.ExpireAfter)
	n.state.ExpiresAt = &at
}

func (n *nodeLifecycle) launch(ctx workflow.Context) error {
	n.setPhase(ctx, PhaseLaunching)
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	req := activities.LaunchRequest{ClientToken: LaunchClientToken(id), WorkflowID: id, Claim: n.claim}
	var inst activities.Instance
	err := n.call(ctx, launchOptions(), ec2Acts.Launch, req).Get(ctx, &inst)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeInsufficientCapacity && appErr.HasDetails() {
			_ = appErr.Details(&n.unavailable) // best effort: the offerings only steer the next plan
		}
		return err
	}
	n.state.InstanceID = inst.ID
	n.state.InstanceType = inst.Type
	n.state.Zone, n.state.ZoneID = inst.Zone, inst.ZoneID
	n.state.CapacityType = inst.CapacityType
	n.state.ImageID = inst.ImageID
	if inst.PricePerHour > 0 {
		n.state.PricePerHour = inst.PricePerHour
	}
	n.showPrice(ctx)
	return nil
}

// changePriceMemo versions the memo that shows the node's hourly price in the Temporal UI
// and in `starter nodes`.
const changePriceMemo = "price-memo"

// showPrice puts the node's hourly price in the workflow's memo. A memo, not a search
// attribute: the server need not have it registered, and nobody filters nodes by price.
func (n *nodeLifecycle) showPrice(ctx workflow.Context) {
	if n.version(ctx, changePriceMemo) < 1 || n.state.PricePerHour <= 0 {
		return
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoPricePerHour: n.state.PricePerHour}); err != nil {
		workflow.GetLogger(ctx).Warn("upsert memo", "key", MemoPricePerHour, "error", err)
	}
}

// changeInterruptBeforeReady versions the waits for registration and readiness giving way
// to an interruption of the instance.
const changeInterruptBeforeReady = "interrupt-before-ready"

func (n *nodeLifecycle) register(ctx workflow.Context) error {
	n.setPhase(ctx, PhaseRegistering)
	n.interruptible = n.version(ctx, changeInterruptBeforeReady) >= 1
	providerID := activities.ProviderID(n.state.Zone, n.state.InstanceID)
	actx := workflow.WithActivityOptions(ctx, waitOptions(registrationTimeout))
	var nodeName string
	var err error
	if n.syncAtRegistration {
		req := activities.RegisterRequest{ProviderID: providerID, Sync: n.syncRequest()}
		err = n.awaitUnlessInterrupted(actx, kubeActs.RegisterNode, &nodeName, req)
	} else {
		err = n.awaitUnlessInterrupted(actx, kubeActs.WaitForNode, &nodeName, providerID)
	}
	if err != nil {
		if temporal.IsTimeoutError(err) {
			return fmt.Errorf("no node with providerID %s registered within %s: %w", providerID, registrationTimeout, err)
		}
		return err
	}
	n.state.NodeName = nodeName
	return nil
}

// initialize waits for the node to be initialized, as Karpenter does; a run recorded before
// RegisterNode first syncs the Node here (Karpenter's registration sync).
func (n *nodeLifecycle) initialize(ctx workflow.Context) error {
	n.setPhase(ctx, PhaseInitializing)
	if !n.syncAtRegistration {
		if err := n.call(ctx, kubeOptions(), kubeActs.SyncNode, n.syncRequest()).Get(ctx, nil); err != nil {
			return err
		}
	}
	actx := workflow.WithActivityOptions(ctx, waitOptions(initializationTimeout))
	req := activities.InitializeRequest{NodeName: n.state.NodeName, StartupTaints: n.claim.StartupTaints}
	if n.syncAtRegistration {
		req.Requests = n.claim.Requests
	}
	var err error
	if n.version(ctx, "wait-initialized") == workflow.DefaultVersion {
		err = n.awaitUnlessInterrupted(actx, kubeActs.WaitNodeReady, nil, n.state.NodeName) // histories from before
	} else {
		err = n.awaitUnlessInterrupted(actx, kubeActs.WaitNodeInitialized, nil, req)
	}
	if err != nil {
		if temporal.IsTimeoutError(err) {
			return fmt.Errorf("node %s not Ready within %s%s: %w", n.state.NodeName, initializationTimeout, lastWaitingFor(err), err)
		}
		return err
	}
	return nil
}

// lastWaitingFor is what a timed-out wait last reported it was waiting for (its heartbeat:
// a startup taint, a GPU not registered), as ", last: ..."; "" when it reported nothing.
func lastWaitingFor(err error) string {
	var timeout *temporal.TimeoutError
	var last string
	if !errors.As(err, &timeout) || !timeout.HasLastHeartbeatDetails() || timeout.LastHeartbeatDetails(&last) != nil || last == "" {
		return ""
	}
	return ", last: " + truncated(last)
}

// awaitUnlessInterrupted runs the activity and reads its result into into, unless an
// interruption of the instance arrives first: then the activity is cancelled and the error
// says so, and the claim fails (its pods are planned again elsewhere) instead of waiting for
// a node EC2 is about to take away.
func (n *nodeLifecycle) awaitUnlessInterrupted(ctx workflow.Context, activity, into any, args ...any) error {
	if !n.interruptible {
		return workflow.ExecuteActivity(ctx, activity, args...).Get(ctx, into)
	}
	actx, cancel := workflow.WithCancel(ctx)
	var err error
	future := workflow.ExecuteActivity(actx, activity, args...)
	if msg := n.awaitOrInterrupt(ctx, future, func(f workflow.Future) { err = f.Get(ctx, into) }); msg != nil {
		cancel()
		return fmt.Errorf("instance %s interrupted (%s) before its node was Ready", n.state.InstanceID, msg.Kind)
	}
	return err
}

// aboutOurInstance is false for an interruption that names an instance other than this
// run's (one sent for the instance of a run since reset): it is ignored.
func (n *nodeLifecycle) aboutOurInstance(ctx workflow.Context, msg Interrupt) bool {
	if msg.InstanceID == "" || msg.InstanceID == n.state.InstanceID {
		return true
	}
	workflow.GetLogger(ctx).Info("interrupt ignored: it is about another instance", "instance", msg.InstanceID, "ours", n.state.InstanceID)
	return false
}

// awaitOrInterrupt waits for f and hands it to done, unless an interruption of the instance
// arrives first: then it returns the interruption and done is not called. An interruption
// whose payload does not decode is dropped and the wait goes on.
func (n *nodeLifecycle) awaitOrInterrupt(ctx workflow.Context, f workflow.Future, done func(workflow.Future)) *Interrupt {
	for {
		finished := false
		var interrupted *Interrupt
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(f, func(f workflow.Future) { done(f); finished = true })
		sel.AddReceive(n.ch.interrupt, func(c workflow.ReceiveChannel, _ bool) {
			var msg Interrupt
			if receive(ctx, c, &msg) && n.aboutOurInstance(ctx, msg) {
				interrupted = &msg
			}
		})
		sel.Select(ctx)
		if finished {
			return nil
		}
		if interrupted != nil {
			return interrupted
		}
	}
}

// syncRequest is what the registered Node must carry: labels, annotations, taints.
func (n *nodeLifecycle) syncRequest() activities.SyncRequest {
	sync := activities.SyncRequest{NodeName: n.state.NodeName, InstanceType: n.state.InstanceType, Labels: n.nodeLabels(), Taints: n.claim.Taints,
		Annotations: maps.Clone(n.claim.Annotations)}
	if n.claim.PoolHash != "" {
		if sync.Annotations == nil {
			sync.Annotations = map[string]string{}
		}
		sync.Annotations[v1.AnnotationNodePoolHash] = n.claim.PoolHash
	}
	return sync
}

// nodeLabels are the labels Karpenter's registration puts on a node.
func (n *nodeLifecycle) nodeLabels() map[string]string {
	labels := maps.Clone(n.claim.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1.LabelNodePool] = n.claim.NodePool
	labels[v1.LabelNodeClaim] = n.claim.Name
	labels[activities.LabelManaged] = "true"
	labels[v1.LabelRegistered] = "true"
	labels[v1.LabelCapacityType] = n.state.CapacityType
	if n.state.ZoneID != "" {
		labels[v1.LabelZoneID] = n.state.ZoneID
	}
	return labels
}

func (n *nodeLifecycle) terminate(ctx workflow.Context) error {
	n.setPhase(ctx, PhaseTerminating)
	return n.cleanUp(ctx)
}

// cleanUp terminates the instance, then deletes the Node and releases the NodeClaim, whichever
// exist: their finalizers go only once the instance is gone.
func (n *nodeLifecycle) cleanUp(ctx workflow.Context) error {
	if n.state.InstanceID != "" {
		tctx := workflow.WithActivityOptions(ctx, terminateOptions())
		req := activities.TerminateRequest{InstanceID: n.state.InstanceID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, NodeClaim: n.claim.Name}
		if err := workflow.ExecuteActivity(tctx, ec2Acts.Terminate, req).Get(ctx, nil); err != nil {
			return fmt.Errorf("terminate instance %s: %w", n.state.InstanceID, err)
		}
	}
	// RegisterNode syncs the Node it finds (finalizer, no unregistered taint) before the
	// workflow learns its name: a registration that failed after that (an interruption, a
	// timeout) leaves a Node known only by its instance's providerID.
	unnamed := n.state.NodeName == "" && n.syncAtRegistration && n.state.InstanceID != ""
	if n.state.NodeName != "" || unnamed {
		req := activities.DeleteNodeRequest{NodeName: n.state.NodeName, InstanceID: n.state.InstanceID}
		if unnamed {
			req.ProviderID = activities.ProviderID(n.state.Zone, n.state.InstanceID)
		}
		err := n.call(ctx, kubeOptions(), kubeActs.DeleteNode, req).Get(ctx, nil)
		gone := err != nil && isNotOwned(err) && n.version(ctx, changeNotOwnedMeansGone) >= 1
		switch {
		case gone:
			// Another instance's Node holds the name now: ours was deleted already.
			workflow.GetLogger(ctx).Warn("node name taken by another instance's Node; left alone", "node", n.state.NodeName, "error", err)
		case err != nil:
			return fmt.Errorf("delete node %s: %w", cmp.Or(n.state.NodeName, req.ProviderID), err)
		case !unnamed:
			n.countNodeTerminated(ctx)
		}
	}
	if err := n.releaseNodeClaim(ctx); err != nil {
		return err
	}
	n.countNodeClaimTerminated(ctx)
	return nil
}

// changeFailBeforeCleanUp versions fail: the provisioner hears of a failed claim, and the
// phase says Terminating, before the clean-up, which waits until EC2 says terminated and
// retries as long as it takes; the claim's pods need not wait for it.
const changeFailBeforeCleanUp = "claim-failed-before-clean-up"

// fail tells the provisioner so it can plan the claim's pods again, cleans up whatever was
// created, and ends the workflow in phase Failed.
func (n *nodeLifecycle) fail(ctx workflow.Context, stage string, cause error) (NodeLifecycleResult, error) {
	reason := fmt.Sprintf("%s failed: %v", stage, cause)
	n.state.LastError = reason
	// Clean-up must run even when the failure is the workflow's own cancellation.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	failed := ClaimFailed{Claim: n.claim.Name, Pods: n.claim.Pods, Reason: reason, Unavailable: n.unavailable}
	toldFirst := n.version(dctx, changeFailBeforeCleanUp) >= 1
	if toldFirst {
		n.signalProvisioner(dctx, SignalClaimFailed, failed)
		if n.state.InstanceID != "" {
			n.setPhase(dctx, PhaseTerminating)
		}
	}
	if err := n.cleanUp(dctx); err != nil {
		n.state.LastError = reason + "; clean-up: " + err.Error()
	}
	n.setPhase(dctx, PhaseFailed)
	if !toldFirst {
		n.signalProvisioner(dctx, SignalClaimFailed, failed)
	}
	if temporal.IsCanceledError(cause) {
		return NodeLifecycleResult{}, cause
	}
	return NodeLifecycleResult{}, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("claim %s: %s", n.claim.Name, reason), ErrTypeClaimFailed, cause)
}

// setPhase records a phase change and mirrors it into search attributes and the NodeClaim.
func (n *nodeLifecycle) setPhase(ctx workflow.Context, p Phase) {
	n.state.Phase = p
	n.state.Transitions = append(n.state.Transitions, PhaseChange{Phase: p, At: workflow.Now(ctx)})
	if n.compact && n.listed && p == PhaseLaunching {
		n.showDetails(ctx) // started with these search attributes
	} else {
		n.upsertSearchAttributes(ctx)
	}
	n.project(ctx)
}

// stale records a change the search attributes do not show yet. A compact run writes them
// at the next flush, or with the phase change that follows at once (a due drain); the
// details in the UI follow now (user metadata, no event).
func (n *nodeLifecycle) stale(ctx workflow.Context) {
	if !n.compact {
		n.upsertSearchAttributes(ctx)
		return
	}
	n.attrsStale = true
	n.showDetails(ctx)
}

// flush writes what changed since the last write: the search attributes, then the NodeClaim.
func (n *nodeLifecycle) flush(ctx workflow.Context) {
	if n.attrsStale {
		n.upsertSearchAttributes(ctx)
	}
	if n.resync || n.projected != n.disruptions {
		n.resync = false
		n.project(ctx)
	}
}

// upsertSearchAttributes keeps the node's search attributes, and the details the Temporal UI
// shows, equal to its state.
func (n *nodeLifecycle) upsertSearchAttributes(ctx workflow.Context) {
	updates := []temporal.SearchAttributeUpdate{SearchAttrNodePhase.ValueSet(string(n.state.Phase))}
	for _, kv := range []struct {
		key   temporal.SearchAttributeKeyKeyword
		value string
	}{
		{SearchAttrNodePool, n.state.NodePool},
		{SearchAttrNodeName, n.state.NodeName},
		{SearchAttrInstanceID, n.state.InstanceID},
		{SearchAttrInstanceType, n.state.InstanceType},
		{SearchAttrZone, n.state.Zone},
		{SearchAttrCapacityType, n.state.CapacityType},
	} {
		if kv.value != "" {
			updates = append(updates, kv.key.ValueSet(kv.value))
		}
	}
	if r := n.disruptionReason(); r != "" {
		updates = append(updates, SearchAttrDisruptionReason.ValueSet(r))
	} else {
		updates = append(updates, SearchAttrDisruptionReason.ValueUnset())
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes", "phase", n.state.Phase, "error", err)
	}
	n.attrsStale = false
	n.showDetails(ctx)
}

// showDetails sets the workflow's current details (user metadata, not a command: replay
// ignores it) to the node's state.
func (n *nodeLifecycle) showDetails(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, nodeDetails(n.state))
}

func (n *nodeLifecycle) disruptionReason() string {
	if n.state.Disruption == nil {
		return ""
	}
	return n.state.Disruption.Reason
}

// tellReady tells the provisioner, and the workflow named by Notify, that the node is Ready.
// A compact run signals them from a local activity: the news is idempotent (a nomination
// forgotten, a replacement found Ready), so a retry that repeats it does no harm.
func (n *nodeLifecycle) tellReady(ctx workflow.Context) {
	ready := NodeReady{Claim: n.claim.Name, NodeName: n.state.NodeName}
	if !n.compact {
		n.signalProvisioner(ctx, SignalNodeReady, ready)
		return
	}
	req := activities.SignalRequest{WorkflowIDs: []string{ProvisionerID}, Name: SignalNodeReady, Payload: ready}
	if n.notify != "" {
		req.WorkflowIDs = append(req.WorkflowIDs, n.notify)
	}
	if err := n.call(ctx, signalOptions(), signalActs.Signal, req).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("signal workflows", "workflows", req.WorkflowIDs, "signal", req.Name, "error", err)
	}
}

// signalProvisioner is best effort: the provisioner also forgets nominations on its own
// after nominationTTL. The workflow named by Notify hears the same news.
func (n *nodeLifecycle) signalProvisioner(ctx workflow.Context, name string, payload any) {
	for _, id := range []string{ProvisionerID, n.notify} {
		if id == "" {
			continue
		}
		if err := workflow.SignalExternalWorkflow(ctx, id, "", name, payload).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("signal workflow", "workflow", id, "signal", name, "error", err)
		}
	}
}

// LaunchClientToken is the base of the CreateFleet client tokens of a node workflow: derived
// from the workflow id only, within EC2's 64-character limit once Launch adds its attempt.
func LaunchClientToken(workflowID string) string {
	sum := sha256.Sum256([]byte("launch/" + workflowID))
	return "nodewright-" + hex.EncodeToString(sum[:])[:40]
}
