package starter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/workflows"
)

// NodeWhy answers `starter why NODE`: the claim the node was launched for, what it became and,
// once it is going, the disruption decision behind it.
type NodeWhy struct {
	WorkflowID string `json:"workflowID"`
	// Status is the workflow's: Running, Completed, Failed, ...
	Status string     `json:"status"`
	Launch NodeLaunch `json:"launch"`
	// State is the node's state: its state query while the workflow runs, its result once it
	// completed.
	State workflows.NodeState `json:"state"`
	// Decision is the disruption controller's record of the decision that removes the node,
	// while the controller still keeps it (its last few decisions).
	Decision *workflows.DecisionRecord `json:"decision,omitempty"`
}

// NodeLaunch is why a node was launched: the claim its workflow was started with, as the plan
// made it.
type NodeLaunch struct {
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Reason is Provisioned for the Provisioner's claims (pending pods), the disruption
	// reason for a replacement.
	Reason   string `json:"reason"`
	Claim    string `json:"claim"`
	NodePool string `json:"nodePool"`
	// Pods are the pending pods the claim was sized for.
	Pods []string `json:"pods,omitempty"`
	// InstanceTypes are the alternatives the plan allowed, cheapest first; the launch took the
	// first with capacity.
	InstanceTypes []string            `json:"instanceTypes,omitempty"`
	Zones         []string            `json:"zones,omitempty"`
	CapacityTypes []string            `json:"capacityTypes,omitempty"`
	Requests      corev1.ResourceList `json:"requests,omitempty"`
	// PricePerHour is the planned price: the cheapest allowed offering.
	PricePerHour float64 `json:"pricePerHour,omitempty"`
	// Unavailable are the offerings the plan knew to be out of capacity and left out.
	Unavailable []string `json:"unavailable,omitempty"`
}

// reasonProvisioned is a claim's launch reason when the Provisioner made it for pending pods.
const reasonProvisioned = "Provisioned"

// WhyNode explains a node given as the other commands take it, its workflow open or closed.
func (o *Operator) WhyNode(ctx context.Context, node string) (NodeWhy, error) {
	id, err := o.resolveAny(ctx, node)
	if err != nil {
		return NodeWhy{}, err
	}
	why := NodeWhy{WorkflowID: id}
	first, last, err := o.historyEnds(ctx, id)
	if err != nil {
		return NodeWhy{}, err
	}
	in, err := launchOf(o.launchEvent(ctx, id, first))
	if err != nil {
		return NodeWhy{}, fmt.Errorf("%s: %w", id, err)
	}
	why.Launch = in
	why.Status = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING.String()
	if completed := last.GetWorkflowExecutionCompletedEventAttributes(); completed != nil {
		why.Status = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED.String()
		var res workflows.NodeLifecycleResult
		if err := converter.GetDefaultDataConverter().FromPayloads(completed.GetResult(), &res); err != nil {
			return NodeWhy{}, fmt.Errorf("decode the result of %s: %w", id, err)
		}
		why.State = res.State
	} else {
		if closed := closedStatus(last); closed != "" {
			why.Status = closed
		}
		if why.State, err = o.Describe(ctx, id); err != nil {
			return NodeWhy{}, err
		}
	}
	why.Decision = o.decisionOf(ctx, why.State.Disruption)
	return why, nil
}

// resolveAny is Resolve that also finds a closed node workflow by node name or instance id,
// the newest when several match: a consolidated node's workflow has ended.
func (o *Operator) resolveAny(ctx context.Context, node string) (string, error) {
	id, err := o.Resolve(ctx, node)
	if !errors.Is(err, ErrNodeNotFound) {
		return id, err
	}
	rows, listErr := o.Nodes(ctx, true)
	if listErr != nil {
		return "", listErr
	}
	for _, r := range slices.Backward(rows) {
		if r.NodeName == node || r.InstanceID == node {
			return r.WorkflowID, nil
		}
	}
	return "", err
}

// historyEnds reads the current run's history and returns its first and last events: the
// start holds the claim, the last the result once the run closed.
func (o *Operator) historyEnds(ctx context.Context, id string) (first, last *historypb.HistoryEvent, err error) {
	it := o.Client.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, nil, fmt.Errorf("read the history of %s: %w", id, err)
		}
		if first == nil {
			first = ev
		}
		last = ev
	}
	if first == nil {
		return nil, nil, fmt.Errorf("the history of %s is empty", id)
	}
	return first, last, nil
}

// launchEvent is the start of the node workflow's first run, where the launch was recorded:
// a long-lived node continues as new with its claim but not why it was made, nor when. start
// is the current run's; it stands in when the first run's history is gone (retention).
func (o *Operator) launchEvent(ctx context.Context, id string, start *historypb.HistoryEvent) *historypb.HistoryEvent {
	attrs := start.GetWorkflowExecutionStartedEventAttributes()
	if attrs.GetContinuedExecutionRunId() == "" || attrs.GetFirstExecutionRunId() == "" {
		return start
	}
	it := o.Client.GetWorkflowHistory(ctx, id, attrs.GetFirstExecutionRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return start
	}
	first, err := it.Next()
	if err != nil || first.GetWorkflowExecutionStartedEventAttributes() == nil {
		return start
	}
	return first
}

// launchOf reads the claim from a node workflow's start event.
func launchOf(start *historypb.HistoryEvent) (NodeLaunch, error) {
	attrs := start.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return NodeLaunch{}, fmt.Errorf("history starts with %s, not the workflow's start", start.GetEventType())
	}
	var in workflows.NodeLifecycleInput
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		return NodeLaunch{}, fmt.Errorf("decode the node workflow's input: %w", err)
	}
	c := in.Claim
	launch := NodeLaunch{
		Reason: reasonProvisioned, Claim: c.Name, NodePool: c.NodePool, Pods: c.Pods,
		InstanceTypes: c.InstanceTypes, Zones: c.Zones, CapacityTypes: c.CapacityTypes,
		Requests: c.Requests, PricePerHour: c.PricePerHour,
	}
	if in.CreationReason != "" {
		launch.Reason = in.CreationReason
	}
	if t := start.GetEventTime(); t != nil {
		launch.StartedAt = t.AsTime()
	}
	for _, u := range c.Unavailable {
		launch.Unavailable = append(launch.Unavailable, fmt.Sprintf("%s %s %s", u.InstanceType, u.Zone, u.CapacityType))
	}
	return launch, nil
}

// closedStatus names how a run closed by its last event; empty while it runs.
func closedStatus(last *historypb.HistoryEvent) string {
	switch last.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		return enumspb.WORKFLOW_EXECUTION_STATUS_FAILED.String()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		return enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED.String()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		return enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED.String()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		return enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT.String()
	}
	return ""
}

// decisionOf finds the disruption controller's record of the decision behind d; nil when d
// came from no decision, or the controller no longer keeps it or does not answer.
func (o *Operator) decisionOf(ctx context.Context, d *workflows.Disruption) *workflows.DecisionRecord {
	if d == nil || d.DecisionID == "" {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, stateWait)
	defer cancel()
	st, err := o.DisruptionState(qctx)
	if err != nil {
		return nil
	}
	for _, rec := range st.Recent {
		if rec.ID == d.DecisionID {
			return &rec
		}
	}
	return nil
}

// PodWhy answers `starter why pod/...`: where the pod runs, the claim it waits for, or why no
// node can take it.
type PodWhy struct {
	Pod string `json:"pod"` // namespace/name
	// Status is Bound, Nominated (an in-flight claim holds it), Pending or Finished.
	Status string `json:"status"`
	Node   string `json:"node,omitempty"`
	// Workflow, Claim, NodePool and Phase are the node's, or the nominated claim's, when
	// Nodewright manages it.
	Workflow string          `json:"workflow,omitempty"`
	Claim    string          `json:"claim,omitempty"`
	NodePool string          `json:"nodePool,omitempty"`
	Phase    workflows.Phase `json:"phase,omitempty"`
	// Reason is why the pod waits: the engine's reason per NodePool.
	Reason string `json:"reason,omitempty"`
	// Source says where the answer came from (the Provisioner's last plan, a pod event) and
	// At when it was given.
	Source string     `json:"source,omitempty"`
	At     *time.Time `json:"at,omitempty"`
}

// Pod statuses why reports.
const (
	PodBound     = "Bound"
	PodNominated = "Nominated"
	PodPending   = "Pending"
	PodFinished  = "Finished"
)

// eventComponent is the component Nodewright's events are reported by.
const eventComponent = "nodewright"

// WhyPod explains a pod read from the cluster.
func (o *Operator) WhyPod(ctx context.Context, kube kubernetes.Interface, namespace, name string) (PodWhy, error) {
	pod, err := kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return PodWhy{}, fmt.Errorf("pod %s/%s not found (check the namespace: pod/NAMESPACE/NAME)", namespace, name)
	}
	if err != nil {
		return PodWhy{}, fmt.Errorf("get pod %s/%s: %w", namespace, name, err)
	}
	why := PodWhy{Pod: namespace + "/" + name, Status: PodPending}
	switch {
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		why.Status, why.Node = PodFinished, pod.Spec.NodeName
		return why, nil
	case pod.Spec.NodeName != "":
		why.Status, why.Node = PodBound, pod.Spec.NodeName
		o.addNode(ctx, &why, nodeKey(ctx, kube, pod.Spec.NodeName))
		return why, nil
	}
	events, err := nodewrightEvents(ctx, kube, pod)
	if err != nil {
		return PodWhy{}, err
	}
	o.explainPending(ctx, &why, events)
	return why, nil
}

// nodeKey is the instance id of the named Node when it has one, else the name: EC2 names
// nodes by private IP, which a later instance may have again, and a name alone could match
// the ended workflow of an earlier node.
func nodeKey(ctx context.Context, kube kubernetes.Interface, name string) string {
	node, err := kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return name
	}
	if id := activities.InstanceIDOf(node.Spec.ProviderID); id != "" {
		return id
	}
	return name
}

// addNode fills in the node workflow's claim, pool and phase when Nodewright manages node.
func (o *Operator) addNode(ctx context.Context, why *PodWhy, node string) {
	id, err := o.resolveAny(ctx, node)
	if err != nil {
		return // not ours, or its workflow is gone: the node name says all there is
	}
	why.Workflow = id
	if st, err := o.Describe(ctx, id); err == nil {
		why.Claim, why.NodePool, why.Phase = st.Claim, st.NodePool, st.Phase
	}
}

// podEvent is one of Nodewright's events about a pod, at the last time it was seen.
type podEvent struct {
	reason, message string
	at              time.Time
}

// nodewrightEvents lists the events Nodewright reported about the pod, oldest first.
func nodewrightEvents(ctx context.Context, kube kubernetes.Interface, pod *corev1.Pod) ([]podEvent, error) {
	list, err := kube.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": pod.Name}.String(),
	})
	if err != nil {
		return nil, fmt.Errorf("list events of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	var out []podEvent
	for _, ev := range list.Items {
		if ev.InvolvedObject.Name != pod.Name || (ev.InvolvedObject.UID != "" && ev.InvolvedObject.UID != pod.UID) {
			continue // another pod of the same name, earlier
		}
		if ev.Source.Component != eventComponent && ev.ReportingController != eventComponent {
			continue
		}
		out = append(out, podEvent{reason: ev.Reason, message: ev.Message, at: lastSeen(ev)})
	}
	slices.SortStableFunc(out, func(a, b podEvent) int { return a.at.Compare(b.at) })
	return out, nil
}

// lastSeen is when an event last happened, whichever API (core/v1 or events.k8s.io/v1) wrote it.
func lastSeen(ev corev1.Event) time.Time {
	at := ev.LastTimestamp.Time
	if ev.EventTime.After(at) {
		at = ev.EventTime.Time
	}
	if ev.Series != nil && ev.Series.LastObservedTime.After(at) {
		at = ev.Series.LastObservedTime.Time
	}
	if at.IsZero() {
		at = ev.CreationTimestamp.Time
	}
	return at
}

// Events' reasons and their messages' prefixes, as the planner and the claims write them.
const (
	eventFailedScheduling = "FailedScheduling"
	eventNominated        = "Nominated"
	failedPrefix          = "Failed to schedule pod, "
	nominatedPrefix       = "Pod should schedule on: nodeclaim/"
)

// explainPending says why a pending pod waits: the claim it was last nominated to while that
// claim is on its way, else the newest reason no node can take it, from the Provisioner's last
// plan or the pod's FailedScheduling event.
func (o *Operator) explainPending(ctx context.Context, why *PodWhy, events []podEvent) {
	var failed, nominated *podEvent
	for i := range events {
		switch events[i].reason {
		case eventFailedScheduling:
			failed = &events[i]
		case eventNominated:
			nominated = &events[i]
		}
	}
	st := o.provisionerState(ctx)
	if st != nil && st.LastPlan != nil {
		plan := st.LastPlan
		if reason, ok := plan.Unschedulable[why.Pod]; ok && (failed == nil || !plan.At.Before(failed.at)) {
			failed = &podEvent{reason: eventFailedScheduling, message: reason, at: plan.At}
			why.Source = "the Provisioner's last plan"
		}
	}
	if nominated != nil && (failed == nil || nominated.at.After(failed.at)) && o.nominatedTo(ctx, why, nominated) {
		return
	}
	if nominated == nil {
		// The worker paces its Nominated events, as Karpenter does, so in a large scale-out
		// most pods get none: the claims on their way say which of them holds the pod.
		if ev, ok := o.claimHolding(ctx, why.Pod, st); ok && (failed == nil || ev.at.After(failed.at)) && o.nominatedTo(ctx, why, ev) {
			why.Source = "the node workflow of the claim planned for it"
			return
		}
	}
	if failed == nil {
		why.Reason = "neither the Provisioner's last plan nor an event names this pod yet: it is waiting for the next plan (is a worker running?)"
		return
	}
	if why.Source == "" {
		why.Source = "FailedScheduling event"
	}
	why.Reason = strings.TrimPrefix(failed.message, failedPrefix)
	why.At = &failed.at
}

// nominatedTo reports the claim the Nominated event names, unless that claim failed or its
// node is going: then the pod waits for another plan.
func (o *Operator) nominatedTo(ctx context.Context, why *PodWhy, ev *podEvent) bool {
	claim, ok := strings.CutPrefix(ev.message, nominatedPrefix)
	if !ok || claim == "" {
		return false
	}
	id := workflows.NodeWorkflowID(claim)
	st, err := o.Describe(ctx, id)
	if err != nil || st.Phase == workflows.PhaseFailed || st.Disruption != nil {
		return false
	}
	why.Status, why.Workflow, why.Claim, why.NodePool, why.Phase = PodNominated, id, claim, st.NodePool, st.Phase
	why.Node, why.Source, why.At = st.NodeName, "Nominated event", &ev.at
	return true
}

// provisionerState is the Provisioner's state; nil when it does not run or answer.
func (o *Operator) provisionerState(ctx context.Context) *workflows.ProvisionerState {
	qctx, cancel := context.WithTimeout(ctx, stateWait)
	defer cancel()
	v, err := o.Client.QueryWorkflow(qctx, workflows.ProvisionerID, "", workflows.QueryState)
	if err != nil {
		return nil
	}
	var st workflows.ProvisionerState
	if err := v.Get(&st); err != nil {
		return nil
	}
	return &st
}

// claimHolding finds, among the claims the Provisioner has on their way (or whose node just
// became Ready), the one planned for the pod, from the pods its node workflow was started
// with, as the planner reads them; as a Nominated event at the claim's start.
func (o *Operator) claimHolding(ctx context.Context, pod string, st *workflows.ProvisionerState) (*podEvent, bool) {
	if st == nil {
		return nil, false
	}
	since := map[string]time.Time{}
	for name, c := range st.InFlight {
		if !c.Replacement {
			since[name] = c.At
		}
	}
	for name, at := range st.JustReady {
		since[name] = at
	}
	claims := slices.Sorted(maps.Keys(since))
	if len(claims) == 0 {
		return nil, false
	}
	reader := &activities.NodeWorkflowPods{Client: o.Client, WorkflowID: workflows.NodeWorkflowID}
	pods, err := reader.PodsOf(ctx, claims)
	if err != nil {
		return nil, false
	}
	for _, claim := range claims {
		if slices.Contains(pods[claim], pod) {
			return &podEvent{reason: eventNominated, message: nominatedPrefix + claim, at: since[claim]}, true
		}
	}
	return nil, false
}
