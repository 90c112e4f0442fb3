package activities

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// NodeClaims keeps each node workflow's NodeClaim, its projection in the API server: created
// when the claim launches, updated at every phase, released once the instance is gone.
type NodeClaims struct {
	// Client is nil when the cluster has no NodeClaim CRD (the --nodepools file mode): then
	// every call does nothing.
	Client   dynamic.Interface
	Kube     kubernetes.Interface
	Recorder events.EventRecorder
	// InstanceTypeLabels gives an instance type's well-known labels, which a launched
	// NodeClaim carries as Karpenter's do; nil adds none.
	InstanceTypeLabels func(instanceType string) map[string]string
	// CachedPod finds a pod in the worker's cache, so that nominating a launch's pods does
	// not cost a request each; nil, or a pod not cached yet, asks the API server.
	CachedPod func(namespace, name string) (*corev1.Pod, bool)
	// CachedNode finds a Node in the worker's cache, for its capacity; nil, or a Node not
	// cached yet, asks the API server's watch cache.
	CachedNode func(name string) (*corev1.Node, bool)
	// CachedClaims lists the NodeClaims in the worker's cache, objects the caller must not
	// modify and that carry no spec.requirements (dropClaimRequirements), so that each
	// disruption pass does not list them all from the API server; nil lists them there.
	CachedClaims func() ([]*unstructured.Unstructured, error)
	// Nominations paces the pods' Nominated events across all launches, as Karpenter's do
	// (NominationRate); those beyond it are not sent. Nil sends one for every pod.
	Nominations flowcontrol.RateLimiter

	// launching remembers the NodeClaims of the claims being launched, as this worker last
	// wrote them.
	launching launchingClaims
}

// NodeClaimProjection is what a node workflow knows of its node, as of one phase change.
type NodeClaimProjection struct {
	Claim        Claim     `json:"claim"`
	Phase        string    `json:"phase"`
	Transitions  []PhaseAt `json:"transitions"`
	InstanceID   string    `json:"instanceId,omitempty"`
	InstanceType string    `json:"instanceType,omitempty"`
	Zone         string    `json:"zone,omitempty"`
	CapacityType string    `json:"capacityType,omitempty"`
	ImageID      string    `json:"imageID,omitempty"`
	NodeName     string    `json:"nodeName,omitempty"`
	// Disruption is set once the node has accepted a request to go.
	Disruption *ProjectedDisruption `json:"disruption,omitempty"`
	LastError  string               `json:"lastError,omitempty"`
}

// PhaseAt is when a node entered a phase (workflow time).
type PhaseAt struct {
	Phase string    `json:"phase"`
	At    time.Time `json:"at"`
}

// ProjectedDisruption is why and since when the node is going.
type ProjectedDisruption struct {
	// Source is Manual, Expiration, Disruption or Interruption; Reason the controller's or
	// person's reason.
	Source string `json:"source"`
	Reason string `json:"reason"`
	// Detail is the instance state of a StateChange interruption.
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// Labels and finalizer Nodewright puts on the NodeClaims and Nodes it owns.
const (
	// LabelManaged marks NodeClaims and Nodes Nodewright owns, so that it never touches a
	// Karpenter's in the same cluster.
	LabelManaged = "nodewright.io/managed"
	// FinalizerTermination holds a NodeClaim or Node until its instance is terminated.
	FinalizerTermination = "karpenter.sh/termination"
	// maxRequirementTypes is how many instance types a NodeClaim's requirement lists, as many
	// as a launch offers EC2.
	maxRequirementTypes = maxOverrideTypes
)

// Phase names the projection reads (the workflow's phases).
const (
	phaseLaunching    = "Launching"
	phaseRegistering  = "Registering"
	phaseInitializing = "Initializing"
	phaseReady        = "Ready"
	phaseTerminating  = "Terminating"
	phaseTerminated   = "Terminated"
	phaseFailed       = "Failed"
)

// ProjectNodeClaim creates the claim's NodeClaim if it is missing and brings its labels and
// status up to the workflow's state. A NodeClaim whose node has gone (Terminated, Failed) is
// not created again. While the node launches, each write starts from the NodeClaim as this
// worker last wrote it, and the first creates it outright: a scale-out of hundreds of nodes
// otherwise paid a read per node per phase. The API server is read when another writer got
// there in between (a conflict), for a NodeClaim this worker did not write, and once the
// node is Ready.
func (n *NodeClaims) ProjectNodeClaim(ctx context.Context, p NodeClaimProjection) error {
	if n.Client == nil {
		return nil
	}
	err := n.project(ctx, p, true)
	if apierrors.IsConflict(err) {
		err = n.project(ctx, p, false)
	}
	if err != nil {
		n.launching.forget(p.Claim.Name) // the next projection reads what the API server has
	}
	return err
}

// project writes one projection, from what this worker last wrote when remembered.
func (n *NodeClaims) project(ctx context.Context, p NodeClaimProjection, remembered bool) error {
	u, created, err := n.current(ctx, p, remembered)
	if err != nil || u == nil {
		return err
	}
	if u, err = n.syncLabels(ctx, u, p); err != nil {
		return err
	}
	if created {
		n.nominate(ctx, u, p.Claim)
	}
	if p.Phase == phaseLaunching {
		// Nothing has happened yet that the status would show: its first write comes with
		// the launch's result, as Karpenter's does, one write fewer per node.
		n.launching.remember(p.Claim.Name, u)
		return nil
	}
	claim := &v1.NodeClaim{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, claim); err != nil {
		return fmt.Errorf("read NodeClaim %s: %w", p.Claim.Name, err)
	}
	before := claim.Status.DeepCopy()
	n.status(ctx, &claim.Status, p)
	if !equality.Semantic.DeepEqual(before, &claim.Status) {
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&claim.Status)
		if err != nil {
			return err
		}
		u.Object["status"] = content
		if u, err = n.Client.Resource(v1.NodeClaimResource).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update NodeClaim %s status: %w", p.Claim.Name, err)
		}
		// After the write: a write refused as a conflict is made again from a fresh read,
		// which must not announce the same change twice.
		n.events(u, before, &claim.Status, p)
	}
	if launchingPhase(p.Phase) {
		n.launching.remember(p.Claim.Name, u)
	} else {
		n.launching.forget(p.Claim.Name)
	}
	return nil
}

// launchingPhase is a phase before Ready, whose next projection follows within seconds.
func launchingPhase(phase string) bool {
	return phase == phaseLaunching || phase == phaseRegistering || phase == phaseInitializing
}

// current is the claim's NodeClaim to update, and whether this call created it; nil when
// there is none and the node has gone. With remembered, the NodeClaim as this worker last
// wrote it is taken as it is, and a launching claim with none remembered is created
// outright; otherwise the API server is asked.
func (n *NodeClaims) current(ctx context.Context, p NodeClaimProjection, remembered bool) (_ *unstructured.Unstructured, created bool, _ error) {
	if remembered {
		if u, ok := n.launching.get(p.Claim.Name); ok {
			return u, false, nil
		}
		if p.Phase == phaseLaunching {
			return n.create(ctx, p)
		}
	}
	u, err := n.Client.Resource(v1.NodeClaimResource).Get(ctx, p.Claim.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && (p.Phase == phaseTerminated || p.Phase == phaseFailed):
		return nil, false, nil
	case apierrors.IsNotFound(err):
		return n.create(ctx, p)
	case err != nil:
		return nil, false, fmt.Errorf("read NodeClaim %s: %w", p.Claim.Name, err)
	}
	return u, false, nil
}

// A launch's projections follow each other within seconds to minutes; one that ends without
// a later projection here (its workflow failed, or another worker projected Ready) leaves
// its entry behind. Entries older than launchingTTL are not trusted, and past
// maxLaunchingClaims (more claims launching at once than a scale-out of 5,000 pods makes)
// the memory starts over rather than grow.
const (
	launchingTTL       = 10 * time.Minute
	maxLaunchingClaims = 2_000
)

// launchingClaims are NodeClaims by name, as last written, while their nodes launch.
type launchingClaims struct {
	mu     sync.Mutex
	byName map[string]writtenClaim
}

type writtenClaim struct {
	claim *unstructured.Unstructured
	at    time.Time
}

// get returns a copy the caller may change.
func (l *launchingClaims) get(name string) (*unstructured.Unstructured, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.byName[name]
	if !ok || time.Since(w.at) > launchingTTL {
		delete(l.byName, name)
		return nil, false
	}
	return w.claim.DeepCopy(), true
}

func (l *launchingClaims) remember(name string, u *unstructured.Unstructured) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byName == nil {
		l.byName = map[string]writtenClaim{}
	}
	if _, ok := l.byName[name]; !ok && len(l.byName) >= maxLaunchingClaims {
		l.byName = map[string]writtenClaim{}
	}
	l.byName[name] = writtenClaim{claim: u, at: time.Now()}
}

func (l *launchingClaims) forget(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byName, name)
}

// node reads a Node from the worker's cache, or else from the API server's watch cache.
func (n *NodeClaims) node(ctx context.Context, name string) (*corev1.Node, bool) {
	if n.CachedNode != nil {
		if node, ok := n.CachedNode(name); ok {
			return node, true
		}
	}
	if n.Kube == nil {
		return nil, false
	}
	node, err := n.Kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{ResourceVersion: "0"})
	return node, err == nil
}

// create makes the NodeClaim: owned by its NodePool, held by the termination finalizer. It
// says whether this call created it, rather than finding it there.
func (n *NodeClaims) create(ctx context.Context, p NodeClaimProjection) (_ *unstructured.Unstructured, created bool, _ error) {
	c := p.Claim
	claim := &v1.NodeClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: v1.SchemeGroupVersion.String(), Kind: v1.KindNodeClaim},
		ObjectMeta: metav1.ObjectMeta{
			Name:       c.Name,
			Labels:     n.labels(p),
			Finalizers: []string{FinalizerTermination},
		},
		Spec: v1.NodeClaimSpec{
			Taints:        c.Taints,
			StartupTaints: c.StartupTaints,
			Requirements:  claimRequirements(c),
			Resources:     v1.ResourceRequirements{Requests: c.Requests},
			NodeClassRef:  c.NodeClassRef,
			ExpireAfter:   v1.Never,
		},
	}
	if claim.Spec.NodeClassRef == nil {
		claim.Spec.NodeClassRef = &v1.NodeClassReference{Group: awsv1.Group, Kind: awsv1.KindEC2NodeClass, Name: "default"}
	}
	if c.ExpireAfter > 0 {
		claim.Spec.ExpireAfter = v1.DurationOf(c.ExpireAfter)
	}
	if c.TerminationGracePeriod > 0 {
		claim.Spec.TerminationGracePeriod = &metav1.Duration{Duration: c.TerminationGracePeriod}
	}
	if c.PoolHash != "" {
		claim.Annotations = map[string]string{v1.AnnotationNodePoolHash: c.PoolHash}
	}
	if c.NodePoolUID != "" {
		// Blocking, as Karpenter's: a foreground delete of the pool waits for its nodes.
		claim.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: v1.SchemeGroupVersion.String(), Kind: v1.KindNodePool, Name: c.NodePool, UID: types.UID(c.NodePoolUID),
			BlockOwnerDeletion: ptr.To(true),
		}}
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(claim)
	if err != nil {
		return nil, false, err
	}
	u, err := n.Client.Resource(v1.NodeClaimResource).Create(ctx, &unstructured.Unstructured{Object: content}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// A retried activity whose first attempt created it, or a cache behind the API server.
		u, err = n.Client.Resource(v1.NodeClaimResource).Get(ctx, c.Name, metav1.GetOptions{})
		if err != nil {
			return nil, false, fmt.Errorf("read NodeClaim %s: %w", c.Name, err)
		}
		return u, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("create NodeClaim %s: %w", c.Name, err)
	}
	return u, true, nil
}

// syncLabels adds the labels the claim has earned since (instance type, zone, capacity type
// once launched).
func (n *NodeClaims) syncLabels(ctx context.Context, u *unstructured.Unstructured, p NodeClaimProjection) (*unstructured.Unstructured, error) {
	want := n.labels(p)
	have := u.GetLabels()
	missing := false
	for k, v := range want {
		if have[k] != v {
			missing = true
		}
	}
	if !missing {
		return u, nil
	}
	merged := maps.Clone(have)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, want)
	u = u.DeepCopy()
	u.SetLabels(merged)
	out, err := n.Client.Resource(v1.NodeClaimResource).Update(ctx, u, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("label NodeClaim %s: %w", p.Claim.Name, err)
	}
	return out, nil
}

// labels are the NodeClaim's: the claim's, its pool, and once launched its instance type's.
func (n *NodeClaims) labels(p NodeClaimProjection) map[string]string {
	labels := map[string]string{}
	if n.InstanceTypeLabels != nil && p.InstanceType != "" {
		maps.Copy(labels, n.InstanceTypeLabels(p.InstanceType))
	}
	maps.Copy(labels, p.Claim.Labels)
	labels[v1.LabelNodePool] = p.Claim.NodePool
	labels[LabelManaged] = "true"
	for k, v := range map[string]string{v1.LabelInstanceType: p.InstanceType, v1.LabelZone: p.Zone, v1.LabelCapacityType: p.CapacityType} {
		if v != "" {
			labels[k] = v
		}
	}
	return labels
}

// claimRequirements are the claim's choices as node selector requirements: its pool, the
// instance types, zones and capacity types it may launch as, and the labels pods pinned.
func claimRequirements(c Claim) []v1.NodeSelectorRequirementWithMinValues {
	in := func(key string, values []string) v1.NodeSelectorRequirementWithMinValues {
		return v1.NodeSelectorRequirementWithMinValues{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}
	}
	out := []v1.NodeSelectorRequirementWithMinValues{in(v1.LabelNodePool, []string{c.NodePool})}
	if len(c.InstanceTypes) > 0 {
		out = append(out, in(v1.LabelInstanceType, c.InstanceTypes[:min(len(c.InstanceTypes), maxRequirementTypes)]))
	}
	if len(c.Zones) > 0 {
		out = append(out, in(v1.LabelZone, c.Zones))
	}
	if len(c.CapacityTypes) > 0 {
		out = append(out, in(v1.LabelCapacityType, c.CapacityTypes))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		if k != v1.LabelNodePool && k != v1.LabelInstanceType && k != v1.LabelZone && k != v1.LabelCapacityType {
			out = append(out, in(k, []string{c.Labels[k]}))
		}
	}
	return out
}

// status brings the NodeClaim's status to the projection. Conditions other workers own
// (Drifted, Consolidatable) are left as they are.
func (n *NodeClaims) status(ctx context.Context, s *v1.NodeClaimStatus, p NodeClaimProjection) {
	if p.InstanceID != "" && p.Zone != "" {
		s.ProviderID = ProviderID(p.Zone, p.InstanceID)
	}
	if p.ImageID != "" {
		s.ImageID = p.ImageID
	}
	if p.NodeName != "" {
		s.NodeName = p.NodeName
		if len(s.Capacity) == 0 {
			if node, ok := n.node(ctx, p.NodeName); ok {
				s.Capacity, s.Allocatable = node.Status.Capacity.DeepCopy(), node.Status.Allocatable.DeepCopy()
			}
		}
	}
	for _, c := range projectedConditions(p) {
		apimeta.SetStatusCondition(&s.Conditions, c)
	}
	if p.Disruption == nil {
		apimeta.RemoveStatusCondition(&s.Conditions, v1.ConditionDisrupting) // a drain withdrawn
	}
}

// projectedConditions are Karpenter's NodeClaim conditions as the phases say: Launched,
// Registered and Initialized (and Ready, all three), then Disrupting, Drained and
// InstanceTerminating once the node goes.
func projectedConditions(p NodeClaimProjection) []metav1.Condition {
	entered := map[string]time.Time{}
	for _, t := range p.Transitions {
		if _, ok := entered[t.Phase]; !ok {
			entered[t.Phase] = t.At
		}
	}
	failed := p.Phase == phaseFailed
	step := func(typ, donePhase, waiting, failure string) metav1.Condition {
		if at, ok := entered[donePhase]; ok {
			return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: typ, LastTransitionTime: metav1.NewTime(at)}
		}
		if failed {
			return metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: failure, Message: p.LastError, LastTransitionTime: lastTransition(p)}
		}
		return metav1.Condition{Type: typ, Status: metav1.ConditionUnknown, Reason: waiting, LastTransitionTime: firstTransition(p)}
	}
	launched := step(v1.ConditionLaunched, phaseRegistering, "AwaitingLaunch", "LaunchFailed")
	registered := step(v1.ConditionRegistered, phaseInitializing, "AwaitingRegistration", "RegistrationFailed")
	initialized := step(v1.ConditionInitialized, phaseReady, "AwaitingInitialization", "InitializationFailed")
	ready := metav1.Condition{Type: v1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1.ConditionReady, LastTransitionTime: initialized.LastTransitionTime}
	for _, c := range []metav1.Condition{launched, registered, initialized} {
		if c.Status != metav1.ConditionTrue {
			ready = metav1.Condition{Type: v1.ConditionReady, Status: c.Status, Reason: "Not" + c.Type, Message: c.Message, LastTransitionTime: c.LastTransitionTime}
			break
		}
	}
	out := []metav1.Condition{launched, registered, initialized, ready}
	if d := p.Disruption; d != nil {
		out = append(out, metav1.Condition{Type: v1.ConditionDisrupting, Status: metav1.ConditionTrue, Reason: conditionReason(d),
			Message: fmt.Sprintf("%s: %s", d.Source, d.Reason), LastTransitionTime: metav1.NewTime(d.At)})
	}
	if at, ok := entered[phaseTerminating]; ok {
		out = append(out,
			metav1.Condition{Type: v1.ConditionDrained, Status: metav1.ConditionTrue, Reason: v1.ConditionDrained, LastTransitionTime: metav1.NewTime(at)},
			metav1.Condition{Type: v1.ConditionInstanceTerminating, Status: metav1.ConditionTrue, Reason: v1.ConditionInstanceTerminating, LastTransitionTime: metav1.NewTime(at)})
	}
	return out
}

// conditionReasonPattern is what the API allows as a condition reason.
var conditionReasonPattern = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`)

// conditionReason is the disruption's reason when it reads as one (Underutilized, Drifted,
// Expired, SpotInterruption), else its source (an operator's free-text reason stays in the
// message).
func conditionReason(d *ProjectedDisruption) string {
	if conditionReasonPattern.MatchString(d.Reason) {
		return d.Reason
	}
	return d.Source
}

func firstTransition(p NodeClaimProjection) metav1.Time {
	if len(p.Transitions) == 0 {
		return metav1.Time{}
	}
	return metav1.NewTime(p.Transitions[0].At)
}

func lastTransition(p NodeClaimProjection) metav1.Time {
	if len(p.Transitions) == 0 {
		return metav1.Time{}
	}
	return metav1.NewTime(p.Transitions[len(p.Transitions)-1].At)
}

// events records on the NodeClaim and its Node what changed: the disruption taken on, and the
// instance terminating, with Karpenter's reasons.
func (n *NodeClaims) events(u *unstructured.Unstructured, before, after *v1.NodeClaimStatus, p NodeClaimProjection) {
	if n.Recorder == nil {
		return
	}
	became := func(typ string) bool {
		now := apimeta.FindStatusCondition(after.Conditions, typ)
		was := apimeta.FindStatusCondition(before.Conditions, typ)
		return now != nil && now.Status == metav1.ConditionTrue && (was == nil || was.Status != metav1.ConditionTrue)
	}
	record := func(eventType, reason, action, note string) {
		n.Recorder.Eventf(u, nil, eventType, reason, action, note)
		if p.NodeName != "" {
			n.Recorder.Eventf(nodeRef(p.NodeName), nil, eventType, reason, action, note)
		}
	}
	if became(v1.ConditionDisrupting) && p.Disruption != nil {
		switch p.Disruption.Source {
		case "Interruption":
			reason, note := interruptionEvent(p.Disruption)
			record(corev1.EventTypeWarning, reason, "Interrupting", note)
			n.Recorder.Eventf(u, nil, corev1.EventTypeWarning, "TerminatingOnInterruption", "Terminating",
				"Interruption triggered termination for the NodeClaim")
			if p.NodeName != "" {
				n.Recorder.Eventf(nodeRef(p.NodeName), nil, corev1.EventTypeWarning, "TerminatingOnInterruption", "Terminating",
					"Interruption triggered termination for the Node")
			}
		default:
			record(corev1.EventTypeNormal, "DisruptionTerminating", "Disrupting", fmt.Sprintf("Disrupting Node: %s (%s)", p.Disruption.Reason, p.Disruption.Source))
		}
	}
	if became(v1.ConditionInstanceTerminating) {
		record(corev1.EventTypeNormal, "InstanceTerminating", "Terminating", "Instance is terminating")
	}
}

// interruptionEvent is the reason and note Karpenter's AWS provider publishes for an
// interruption message of this kind.
func interruptionEvent(d *ProjectedDisruption) (reason, note string) {
	switch d.Reason {
	case "SpotInterruption":
		return "SpotInterrupted", "Spot interruption warning was triggered"
	case "ScheduledChange":
		return "InstanceUnhealthy", "An unhealthy warning was triggered for the instance"
	case "StateChange":
		if d.Detail == "stopping" || d.Detail == "stopped" {
			return "InstanceStopping", "Instance is stopping"
		}
		return "InstanceTerminating", "Instance is terminating"
	}
	return "InstanceUnhealthy", "Instance interruption: " + d.Reason
}

// NominationRate and NominationBurst pace the Nominated events, as Karpenter paces its own (5
// a second, bursts of 10). The events are a hint to whoever looks at a pending pod; without
// a pace a scale-out sent one per pod, and the API server queued those of 1,000 pods ahead
// of the worker's NodeClaim and Node writes (one client, one flow in its fair queuing),
// adding a second or two to each write the pods were waiting for.
const (
	NominationRate  = 5
	NominationBurst = 10
)

// NewNominationLimiter is the pace of NodeClaims.Nominations, shared by every launch.
func NewNominationLimiter() flowcontrol.RateLimiter {
	return flowcontrol.NewTokenBucketRateLimiter(NominationRate, NominationBurst)
}

// nominate tells each pod planned for a new claim where it should land (Karpenter's Nominated),
// as far as Nominations allows.
func (n *NodeClaims) nominate(ctx context.Context, u *unstructured.Unstructured, c Claim) {
	if n.Recorder == nil || n.Kube == nil {
		return
	}
	for _, key := range c.Pods {
		if n.Nominations != nil && !n.Nominations.TryAccept() {
			return
		}
		ns, name, _ := strings.Cut(key, "/")
		var pod *corev1.Pod
		ok := false
		if n.CachedPod != nil {
			pod, ok = n.CachedPod(ns, name)
		}
		if !ok {
			fetched, err := n.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{ResourceVersion: "0"})
			if err != nil {
				continue
			}
			pod = fetched
		}
		n.Recorder.Eventf(pod, u, corev1.EventTypeNormal, "Nominated", "Nominating", "Pod should schedule on: nodeclaim/%s", c.Name)
	}
}

// ReleaseNodeClaim lets the claim's NodeClaim go once its instance is terminated: the
// termination finalizer is removed and the NodeClaim deleted. A NodeClaim already gone is
// released.
func (n *NodeClaims) ReleaseNodeClaim(ctx context.Context, name string) error {
	if n.Client == nil {
		return nil
	}
	n.launching.forget(name)
	api := n.Client.Resource(v1.NodeClaimResource)
	if err := api.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete NodeClaim %s: %w", name, err)
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := api.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !removeFinalizer(u) {
			return nil
		}
		_, err = api.Update(ctx, u, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("release NodeClaim %s: %w", name, err)
	}
	return nil
}

func removeFinalizer(obj metav1.Object) bool {
	fs := obj.GetFinalizers()
	kept := slices.DeleteFunc(slices.Clone(fs), func(f string) bool { return f == FinalizerTermination })
	if len(kept) == len(fs) {
		return false
	}
	obj.SetFinalizers(kept)
	return true
}

// nodeRef names a Node for an event without reading it.
func nodeRef(name string) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: name, UID: types.UID(name)}
}

// ClaimDisruptionState is what the disruption controller knows of a claim each pass.
type ClaimDisruptionState struct {
	Drifted        bool
	Consolidatable bool
}

// setDisruptionConditions brings each NodeClaim's Drifted and Consolidatable conditions to
// the disruption controller's view, writing only those that changed. It returns the UIDs of
// the NodeClaims it saw, by name, for the events that name them, and why some write it had
// to make was not made (the first few failures): nil when all were.
func (n *NodeClaims) setDisruptionConditions(ctx context.Context, states map[string]ClaimDisruptionState, now time.Time) (map[string]types.UID, error) {
	uids := map[string]types.UID{}
	if n.Client == nil || len(states) == 0 {
		return uids, nil
	}
	claims, err := n.managedClaims(ctx)
	if err != nil {
		return uids, err // the next full pass tries again
	}
	var failed []error
	for _, u := range claims {
		uids[u.GetName()] = u.GetUID()
		st, ok := states[u.GetName()]
		if !ok || u.GetDeletionTimestamp() != nil {
			continue
		}
		status := &v1.NodeClaimStatus{}
		if raw, ok := u.Object["status"].(map[string]any); ok {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, status); err != nil {
				continue
			}
		}
		before := status.DeepCopy()
		for _, c := range []struct {
			typ, yes, no string
			on           bool
		}{
			{v1.ConditionDrifted, "Drifted", "NotDrifted", st.Drifted},
			{v1.ConditionConsolidatable, "Consolidatable", "NotConsolidatable", st.Consolidatable},
		} {
			cond := metav1.Condition{Type: c.typ, Status: metav1.ConditionFalse, Reason: c.no, LastTransitionTime: metav1.NewTime(now)}
			if c.on {
				cond.Status, cond.Reason = metav1.ConditionTrue, c.yes
			}
			apimeta.SetStatusCondition(&status.Conditions, cond)
		}
		if equality.Semantic.DeepEqual(before, status) {
			continue
		}
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(status)
		if err != nil {
			failed = append(failed, fmt.Errorf("NodeClaim %s: encode its status: %w", u.GetName(), err))
			continue
		}
		// The cached object is shared; its resourceVersion makes a write over a newer
		// status a conflict, which the next full pass retries.
		out := u.DeepCopy()
		out.Object["status"] = content
		if _, err := n.Client.Resource(v1.NodeClaimResource).UpdateStatus(ctx, out, metav1.UpdateOptions{}); err != nil {
			failed = append(failed, fmt.Errorf("NodeClaim %s: write its status: %w", u.GetName(), err))
		}
	}
	return uids, firstErrors(failed, 3)
}

// managedClaims lists this worker's NodeClaims, from the cache when it has one. The objects
// are not to be modified.
func (n *NodeClaims) managedClaims(ctx context.Context) ([]*unstructured.Unstructured, error) {
	if n.CachedClaims != nil {
		claims, err := n.CachedClaims()
		return slices.DeleteFunc(claims, func(u *unstructured.Unstructured) bool {
			return u.GetLabels()[LabelManaged] != "true"
		}), err
	}
	list, err := n.Client.Resource(v1.NodeClaimResource).List(ctx, metav1.ListOptions{ResourceVersion: "0", LabelSelector: LabelManaged + "=true"})
	if err != nil {
		return nil, fmt.Errorf("list NodeClaims: %w", err)
	}
	claims := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		claims[i] = &list.Items[i]
	}
	return claims, nil
}

// record puts an event on a node and on its NodeClaim (uid is the NodeClaim's, which kubectl
// describe matches events by; empty skips the NodeClaim).
func (n *NodeClaims) record(nodeName, claim string, uid types.UID, eventType, reason, note string) {
	if n.Recorder == nil {
		return
	}
	n.Recorder.Eventf(nodeRef(nodeName), nil, eventType, reason, reason, note)
	if claim != "" && uid != "" {
		ref := &corev1.ObjectReference{APIVersion: v1.SchemeGroupVersion.String(), Kind: v1.KindNodeClaim, Name: claim, UID: uid}
		n.Recorder.Eventf(ref, nil, eventType, reason, reason, note)
	}
}

// uidOf reads a NodeClaim's UID; "" when there is none to read.
func (n *NodeClaims) uidOf(ctx context.Context, claim string) types.UID {
	if n.Client == nil || claim == "" {
		return ""
	}
	u, err := n.Client.Resource(v1.NodeClaimResource).Get(ctx, claim, metav1.GetOptions{ResourceVersion: "0"})
	if err != nil {
		return ""
	}
	return u.GetUID()
}
