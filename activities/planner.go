package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/nodewright/nodewright/activities/market"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// NodePoolSource gives the NodePools Nodewright may launch from as they are now: those of a
// --nodepools file, or the ready ones the API server holds.
type NodePoolSource interface {
	NodePools() []apisv1.NodePool
}

// StaticNodePools is a fixed set of NodePools, read once from a file.
type StaticNodePools []apisv1.NodePool

// NodePools returns the set.
func (s StaticNodePools) NodePools() []apisv1.NodePool { return s }

// Planner runs the scheduler engine on a fresh snapshot of the cluster.
type Planner struct {
	Kube kubernetes.Interface
	// Cluster is where pods, Nodes and PodDisruptionBudgets are read from for every plan and
	// disruption pass: the worker's informer caches; nil lists them from Kube.
	Cluster ClusterReader
	// Market says which types the region sells, in which zones, at what price; nil means the
	// embedded catalog's us-east-1, every type in every zone.
	Market MarketSource
	Pools  NodePoolSource
	// Classes are the resolved EC2NodeClasses: a pool launches only where its class has a
	// subnet and on the architectures its class has AMIs for. Nil leaves pools as they are.
	Classes NodeClassSource
	// Zones, when set, limits launches to these zones (--zones); otherwise every zone a
	// pool's class has a subnet in.
	Zones   []string
	Catalog []catalog.Type
	// Recorder receives the pods' FailedScheduling events; nil records none. It is a core/v1
	// recorder, as Karpenter's and the kube-scheduler's once were: it keeps an event per
	// distinct message, where the events.k8s.io recorder would count a pod's later reason into
	// the series of its first, whose note would then say what no longer holds.
	Recorder record.EventRecorder
	// Metrics records how long each Solve takes; nil records nothing.
	Metrics *Metrics
	// ClaimPods tells which pods in-flight claims hold; nil means none holds any.
	ClaimPods ClaimPods
	// Limits gives the cluster-wide limits as they are now (a ClusterPolicy, or the worker's
	// flags); nil caps nothing.
	Limits ClusterLimitsSource
	// Log hears of classes whose kubelet settings cannot size nodes and of nodes reporting
	// another allocatable than planned; nil logs nothing.
	Log *slog.Logger

	sizes nodeSizes // allocatable per class sizing, see allocatable.go
	mu    sync.Mutex
	types []schedulerengine.InstanceType
	// typesFrom, typesRegion and typesZones are the market version, region and zones types
	// was made for.
	typesFrom   uint64
	typesRegion string
	typesZones  string
	// records are the catalog records of the types sold, EC2-derived ones included, by name:
	// what pools' nodes are sized from.
	records  map[string]catalog.Type
	embedded *market.Snapshot // the market when Market is nil
}

// ClusterLimitsSource gives the cluster-wide limits as they are now.
type ClusterLimitsSource interface {
	ClusterLimits() schedulerengine.ClusterLimits
}

// StaticClusterLimits are limits fixed at start (the worker's flags).
type StaticClusterLimits schedulerengine.ClusterLimits

// ClusterLimits returns the limits.
func (s StaticClusterLimits) ClusterLimits() schedulerengine.ClusterLimits {
	return schedulerengine.ClusterLimits(s)
}

// MarketSource gives the market as it is now.
type MarketSource interface {
	Snapshot() *market.Snapshot
}

// Planner result limits: a PlanResult goes into the Provisioner's history as one payload.
const (
	// maxClaimBytes bounds the claims of one PlanResult, JSON-encoded; the rest are left for
	// the next call.
	maxClaimBytes = 192 << 10
	// maxReasonsReported bounds the per-pod reasons a PlanResult carries.
	maxReasonsReported = 50
	// maxReasonBytes cuts a reported reason short.
	maxReasonBytes = 512
)

// ClaimPods tells which pods in-flight claims were planned for, by claim name.
type ClaimPods interface {
	PodsOf(ctx context.Context, claims []string) (map[string][]string, error)
}

// cluster is where a plan reads pods and Nodes.
func (p *Planner) cluster() ClusterReader {
	if p.Cluster != nil {
		return p.Cluster
	}
	return APIReader{Kube: p.Kube}
}

// Plan decides which of the cluster's unschedulable pods fit existing nodes and which need
// new nodes. Pods an in-flight claim was planned for are left out while it nominates them.
// Claims beyond maxClaimBytes are left for the next call, which sees the claims started in
// between as in flight.
func (p *Planner) Plan(ctx context.Context, req PlanRequest) (PlanResult, error) {
	pods, err := p.cluster().Pods(ctx)
	if err != nil {
		return PlanResult{}, fmt.Errorf("plan: %w", err)
	}
	held, err := p.heldPods(ctx, req.InFlight, req.Holding)
	if err != nil {
		return PlanResult{}, fmt.Errorf("plan: %w", err)
	}
	lendPlaces(pods, held, nominating(req.InFlight))
	pending, nominated := pendingPods(pods, held)
	result := PlanResult{Pods: len(pending), Nominated: nominated}
	if len(pending) == 0 {
		return result, nil
	}
	state, err := readCluster(ctx, p.cluster(), p.Kube, pods)
	if err != nil {
		return PlanResult{}, fmt.Errorf("plan: %w", err)
	}
	s, err := p.solve(ctx, state, pending, req)
	if err != nil {
		return PlanResult{}, err
	}
	result.Market = marketStatus(s.market)
	result.OnExisting = len(s.plan.Existing)
	result.Unschedulable, result.UnschedulableCount = sampleReasons(s.plan.Unschedulable)
	if req.PackClaims {
		result.Packed = true
		result.Claims, result.More = packedWithin(s.claims, maxClaimBytes)
	} else {
		result.Claims, result.More = claimsWithin(s.claims, maxClaimBytes)
	}
	if !result.More {
		// Once per batch: the calls that plan the rest of a large batch would repeat them.
		p.failedScheduling(pending, s.plan.Unschedulable)
	}
	return result, nil
}

// solution is a plan and the claims it makes, with the market it was priced from.
type solution struct {
	plan   schedulerengine.Plan
	claims []Claim
	market *market.Snapshot
}

// solve runs the engine on the cluster's state for the pending pods: the one way a plan is
// made, whether the Provisioner launches it or a dry run prints it.
func (p *Planner) solve(ctx context.Context, state ClusterState, pending []*corev1.Pod, req PlanRequest) (solution, error) {
	pools := p.Pools.NodePools()
	types, snap, err := p.marketTypes(ctx, p.offeringZones(pools))
	if err != nil {
		return solution{}, fmt.Errorf("plan: %w", err)
	}
	sized := p.poolAllocatable(pools, types)
	p.noteAllocatableDrift(state.Nodes, sized)
	solveStart := time.Now()
	plan, err := schedulerengine.Solve(schedulerengine.Input{
		Pods:            pending,
		NodePools:       p.withinClasses(pools, types),
		InstanceTypes:   withUnavailable(types, req.Unavailable),
		ExistingNodes:   existingNodes(state.Nodes, state.Pods),
		Committed:       committed(state.Nodes, req.InFlight, largestOfAll(types)),
		DaemonSetPods:   state.Daemons,
		NamespaceLabels: state.Namespaces,
		Volumes:         state.Volumes,
		PoolAllocatable: sized,
		ClusterLimits:   p.clusterLimits(),
	})
	p.Metrics.scheduled(ControllerProvisioner, solveStart)
	if err != nil {
		return solution{}, fmt.Errorf("plan %d pods: %w", len(pending), err)
	}
	claims := make([]Claim, 0, len(plan.NewNodes))
	for _, c := range plan.NewNodes {
		claim := claimFrom(c).WithPool(poolNamed(pools, c.NodePool))
		claim.Unavailable = unavailableOf(c.InstanceTypes, req.Unavailable)
		claim.Capacity = largestCapacity(types, c.InstanceTypes)
		claims = append(claims, claim)
	}
	return solution{plan: plan, claims: claims, market: snap}, nil
}

func (p *Planner) clusterLimits() schedulerengine.ClusterLimits {
	if p.Limits == nil {
		return schedulerengine.ClusterLimits{}
	}
	return p.Limits.ClusterLimits()
}

// heldPods maps the pods that nominating in-flight claims, and the claims holding their pods
// while they bind, were planned for to their claim. A claim whose Node the planner sees Ready
// holds nothing, whatever the Provisioner believes: its node-ready signal is best effort, and
// one lost under load left a claim nominating pods that no longer fit its full node for the
// rest of nominationWindow.
func (p *Planner) heldPods(ctx context.Context, inFlight []InFlightClaim, holding []string) (map[string]string, error) {
	names := slices.Clone(holding)
	for _, c := range inFlight {
		if c.Nominates {
			names = append(names, c.Name)
		}
	}
	names, err := p.notSeenReady(ctx, names)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 || p.ClaimPods == nil {
		return nil, nil
	}
	byClaim, err := p.ClaimPods.PodsOf(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("pods of in-flight claims: %w", err)
	}
	held := map[string]string{}
	for _, name := range names {
		for _, key := range byClaim[name] {
			held[key] = name
		}
	}
	return held, nil
}

// nominating names the claims in flight that hold their pods.
func nominating(inFlight []InFlightClaim) map[string]bool {
	out := map[string]bool{}
	for _, c := range inFlight {
		if c.Nominates {
			out[c.Name] = true
		}
	}
	return out
}

// lendPlaces gives a pending pod the place a sibling of it (a pod of the same controller)
// left on a claim in flight, when the kube-scheduler bound that sibling to another node: the
// claim will have room for one pod like it, so the pod is held by that claim instead of
// given a node of its own. Siblings share their scheduling constraints, so the place suits
// the pod. held maps pod keys to claims and gains the pods given a place.
func lendPlaces(pods []corev1.Pod, held map[string]string, lenders map[string]bool) {
	byKey := make(map[string]*corev1.Pod, len(pods))
	for i := range pods {
		byKey[schedulerengine.PodKey(&pods[i])] = &pods[i]
	}
	places := map[types.UID][]string{} // by controller: a claim per place left
	for _, key := range slices.Sorted(maps.Keys(held)) {
		pod, ok := byKey[key]
		if !ok || !lenders[held[key]] || pod.Spec.NodeName == "" {
			continue
		}
		if owner := metav1.GetControllerOf(pod); owner != nil {
			places[owner.UID] = append(places[owner.UID], held[key])
		}
	}
	if len(places) == 0 {
		return
	}
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		pod := byKey[key]
		if _, ok := held[key]; ok || !Unschedulable(pod) {
			continue
		}
		owner := metav1.GetControllerOf(pod)
		if owner == nil || len(places[owner.UID]) == 0 {
			continue
		}
		held[key] = places[owner.UID][0]
		places[owner.UID] = places[owner.UID][1:]
	}
}

// notSeenReady keeps the claims whose Node this planner does not see initialized and Ready
// yet: once it does, its pods still pending go on it like on any node with room, and are
// not held for the rest of readyHold (others may have taken the room meanwhile).
func (p *Planner) notSeenReady(ctx context.Context, claims []string) ([]string, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	nodes, err := p.cluster().Nodes(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i := range nodes {
		n := &nodes[i]
		if nodeReady(n) && n.Labels[apisv1.LabelInitialized] == "true" {
			seen[n.Labels[apisv1.LabelNodeClaim]] = true
		}
	}
	var out []string
	for _, c := range claims {
		if !seen[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// claimsWithin keeps the claims, in order, while they fit in budget bytes of JSON; it keeps
// the first whatever its size, so that every call makes progress. more says some were cut.
func claimsWithin(claims []Claim, budget int) (kept []Claim, more bool) {
	used := 0
	for i, c := range claims {
		b, err := json.Marshal(c)
		if err != nil || (i > 0 && used+len(b) > budget) {
			return claims[:i], true
		}
		used += len(b)
	}
	return claims, false
}

// sampleReasons keeps the first maxReasonsReported reasons by pod key, each cut to
// maxReasonBytes, and counts them all.
func sampleReasons(reasons map[string]string) (map[string]string, int) {
	if len(reasons) == 0 {
		return nil, 0
	}
	keys := slices.Sorted(maps.Keys(reasons))
	out := make(map[string]string, min(len(keys), maxReasonsReported))
	for _, key := range keys[:min(len(keys), maxReasonsReported)] {
		out[key] = cutReason(reasons[key])
	}
	return out, len(reasons)
}

// withinClasses narrows each pool to the zones its class has subnets in and the
// architectures it has AMIs for, as Karpenter offers a pool only its class's offerings. The
// pools returned are copies: the claims' template hash is taken from the pools as written.
func (p *Planner) withinClasses(pools []apisv1.NodePool, types []schedulerengine.InstanceType) []apisv1.NodePool {
	if p.Classes == nil {
		return pools
	}
	out := make([]apisv1.NodePool, 0, len(pools))
	for _, pool := range pools {
		ref := pool.Spec.Template.Spec.NodeClassRef
		class, ok := p.Classes.NodeClass(ref.Name)
		if !ok {
			continue // not Ready: it launches nothing
		}
		narrowed := *pool.DeepCopy()
		reqs := &narrowed.Spec.Template.Spec.Requirements
		zones := map[string]bool{}
		for _, s := range class.Status.Subnets {
			zones[s.Zone] = true
		}
		*reqs = append(*reqs, apisv1.NodeSelectorRequirementWithMinValues{Key: apisv1.LabelZone, Operator: corev1.NodeSelectorOpIn, Values: slices.Sorted(maps.Keys(zones))})
		if archs := amiArchitectures(class.Status.AMIs); len(archs) > 0 {
			*reqs = append(*reqs, apisv1.NodeSelectorRequirementWithMinValues{Key: apisv1.LabelArch, Operator: corev1.NodeSelectorOpIn, Values: archs})
		}
		suited, unsuited := typesSuited(class.Status.AMIs, types)
		if len(suited) == 0 {
			continue // no AMI of the class suits any type: it launches nothing
		}
		if len(unsuited) > 0 {
			// Launch would find no AMI for these (a GPU type with no NVIDIA image of its
			// architecture): the plan must not choose them. Named as the few left out, so
			// that a pod's reason stays short.
			*reqs = append(*reqs, apisv1.NodeSelectorRequirementWithMinValues{Key: apisv1.LabelInstanceType, Operator: corev1.NodeSelectorOpNotIn, Values: unsuited})
		}
		out = append(out, narrowed)
	}
	return out
}

// typesSuited splits the instance types into those some AMI suits and those none does.
func typesSuited(amis []awsv1.AMI, types []schedulerengine.InstanceType) (suited, unsuited []string) {
	for _, t := range types {
		if slices.ContainsFunc(amis, func(a awsv1.AMI) bool { return amiSuits(a, t.Labels) }) {
			suited = append(suited, t.Name)
		} else {
			unsuited = append(unsuited, t.Name)
		}
	}
	return suited, unsuited
}

// amiArchitectures are the architectures the AMIs' requirements allow; none when some AMI
// allows any.
func amiArchitectures(amis []awsv1.AMI) []string {
	archs := map[string]bool{}
	for _, ami := range amis {
		constrained := false
		for _, r := range ami.Requirements {
			if r.Key == apisv1.LabelArch && r.Operator == corev1.NodeSelectorOpIn {
				constrained = true
				for _, v := range r.Values {
					archs[v] = true
				}
			}
		}
		if !constrained {
			return nil
		}
	}
	return slices.Sorted(maps.Keys(archs))
}

// failedScheduling tells each pod no node can take why, as Karpenter's FailedScheduling.
func (p *Planner) failedScheduling(pods []*corev1.Pod, unschedulable map[string]string) {
	if p.Recorder == nil {
		return
	}
	held := p.poolsHeldBack()
	for _, pod := range pods {
		if why, ok := unschedulable[schedulerengine.PodKey(pod)]; ok {
			p.Recorder.Eventf(pod, corev1.EventTypeWarning, "FailedScheduling", "Failed to schedule pod, %s%s", why, held)
		}
	}
}

// NotReadyPools is a NodePoolSource that also says why its other pools are not ready.
type NotReadyPools interface {
	NotReadyPools() map[string]string
}

// poolsHeldBack tells, for a pod's event, which pools are not ready and why: a pool held
// back by its EC2NodeClass would otherwise show only as no pool fitting.
func (p *Planner) poolsHeldBack() string {
	source, ok := p.Pools.(NotReadyPools)
	if !ok {
		return ""
	}
	reasons := source.NotReadyPools()
	var out strings.Builder
	for _, name := range slices.Sorted(maps.Keys(reasons)) {
		fmt.Fprintf(&out, "; NodePool %s is not ready: %s", name, reasons[name])
	}
	return out.String()
}

// daemonsAndNamespaces reads what the engine needs beyond pods and nodes: a pod per
// DaemonSet (its template, to size every new node's daemon overhead) and namespace labels
// (for pod affinity namespaceSelectors).
func daemonsAndNamespaces(ctx context.Context, kube kubernetes.Interface) ([]*corev1.Pod, map[string]map[string]string, error) {
	dss, err := kube.AppsV1().DaemonSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, nil, fmt.Errorf("list daemonsets: %w", err)
	}
	nss, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, nil, fmt.Errorf("list namespaces: %w", err)
	}
	namespaces := make(map[string]map[string]string, len(nss.Items))
	for _, ns := range nss.Items {
		namespaces[ns.Name] = ns.Labels
	}
	return DaemonPods(dss.Items), namespaces, nil
}

// DaemonPods are a pod per DaemonSet, its template: what sizes every new node's daemon
// overhead.
func DaemonPods(dss []appsv1.DaemonSet) []*corev1.Pod {
	var daemons []*corev1.Pod
	for _, ds := range dss {
		daemons = append(daemons, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: ds.Name, Namespace: ds.Namespace, Labels: ds.Spec.Template.Labels},
			Spec:       ds.Spec.Template.Spec,
		})
	}
	return daemons
}

// volumes reads claims, volumes and storage classes so that pods with persistent volumes are
// planned where their volumes are, or may be provisioned.
func volumes(ctx context.Context, kube kubernetes.Interface) (*schedulerengine.Volumes, error) {
	opts := metav1.ListOptions{ResourceVersion: "0"}
	pvcs, err := kube.CoreV1().PersistentVolumeClaims(metav1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list persistent volume claims: %w", err)
	}
	pvs, err := kube.CoreV1().PersistentVolumes().List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list persistent volumes: %w", err)
	}
	scs, err := kube.StorageV1().StorageClasses().List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list storage classes: %w", err)
	}
	v := &schedulerengine.Volumes{
		Claims:            make(map[string]*corev1.PersistentVolumeClaim, len(pvcs.Items)),
		PersistentVolumes: make(map[string]*corev1.PersistentVolume, len(pvs.Items)),
		StorageClasses:    make(map[string]*storagev1.StorageClass, len(scs.Items)),
	}
	for i := range pvcs.Items {
		c := &pvcs.Items[i]
		v.Claims[c.Namespace+"/"+c.Name] = c
	}
	for i := range pvs.Items {
		v.PersistentVolumes[pvs.Items[i].Name] = &pvs.Items[i]
	}
	for i := range scs.Items {
		v.StorageClasses[scs.Items[i].Name] = &scs.Items[i]
	}
	return v, nil
}

// unavailableOf keeps the unavailable offerings of the given instance types.
func unavailableOf(types []string, unavailable []Offering) []Offering {
	var out []Offering
	for _, o := range unavailable {
		if slices.Contains(types, o.InstanceType) {
			out = append(out, o)
		}
	}
	return out
}

// poolNamed finds a pool by name; nil when there is none.
func poolNamed(pools []apisv1.NodePool, name string) *apisv1.NodePool {
	for i := range pools {
		if pools[i].Name == name {
			return &pools[i]
		}
	}
	return nil
}

// WithPool copies onto the claim what Karpenter copies from the NodePool template to each
// NodeClaim: expireAfter, terminationGracePeriod, startup taints, annotations, the node class
// and the template hash, and the pool's identity for the NodeClaim's owner reference.
func (c Claim) WithPool(pool *apisv1.NodePool) Claim {
	if pool == nil {
		return c
	}
	c.PoolHash = pool.TemplateHash()
	c.NodePoolUID = string(pool.UID)
	spec := pool.Spec.Template.Spec
	c.ExpireAfter = pool.ExpireAfter()
	if spec.TerminationGracePeriod != nil {
		c.TerminationGracePeriod = spec.TerminationGracePeriod.Duration
	}
	c.StartupTaints = spec.StartupTaints
	c.Annotations = pool.Spec.Template.ObjectMeta.Annotations
	c.NodeClassRef = spec.NodeClassRef
	return c
}

// pendingPods picks, in key order, the pods the kube-scheduler could not place and no
// in-flight claim holds, and counts those a claim holds.
func pendingPods(all []corev1.Pod, held map[string]string) (pending []*corev1.Pod, nominated int) {
	for i := range all {
		pod := &all[i]
		if !Unschedulable(pod) {
			continue
		}
		if _, ok := held[schedulerengine.PodKey(pod)]; ok {
			nominated++
			continue
		}
		pending = append(pending, pod)
	}
	slices.SortFunc(pending, func(a, b *corev1.Pod) int {
		return strings.Compare(schedulerengine.PodKey(a), schedulerengine.PodKey(b))
	})
	return pending, nominated
}

// Unschedulable is true for an unbound, live pod the kube-scheduler could not place: the
// pods Nodewright provisions for, as Karpenter's provisionable pods.
func Unschedulable(pod *corev1.Pod) bool {
	if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil ||
		pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

// existingNodes describes the nodes new pods may still land on, with what is left of
// their allocatable. Nodes that are going away or not Ready are left out.
func existingNodes(nodes []corev1.Node, pods []corev1.Pod) []schedulerengine.ExistingNode {
	byNode := map[string][]*corev1.Pod{}
	for i := range pods {
		pod := &pods[i]
		if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		byNode[pod.Spec.NodeName] = append(byNode[pod.Spec.NodeName], pod)
	}
	var out []schedulerengine.ExistingNode
	for i := range nodes {
		node := &nodes[i]
		if !schedulable(node) {
			continue
		}
		out = append(out, schedulerengine.ExistingNode{
			Name:      node.Name,
			Labels:    node.Labels,
			Taints:    node.Spec.Taints,
			Available: available(node.Status.Allocatable, byNode[node.Name]),
			// Running pods count for topology spread and (anti-)affinity.
			Pods: byNode[node.Name],
		})
	}
	slices.SortFunc(out, func(a, b schedulerengine.ExistingNode) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// committed is what the pools hold that takes no new pods, counted against their limits:
// each pool's nodes that are not schedulable (registering, draining, cordoned) until they
// are gone, and each in-flight claim whose Node has not registered under its name. A claim's
// capacity comes from a signal, so it counts at most what the largest type has (ceiling).
func committed(nodes []corev1.Node, inFlight []InFlightClaim, ceiling corev1.ResourceList) []schedulerengine.CommittedCapacity {
	var out []schedulerengine.CommittedCapacity
	registered := map[string]bool{}
	for i := range nodes {
		node := &nodes[i]
		if claim := node.Labels[apisv1.LabelNodeClaim]; claim != "" {
			registered[claim] = true
		}
		if pool := node.Labels[apisv1.LabelNodePool]; pool != "" && !schedulable(node) {
			out = append(out, schedulerengine.CommittedCapacity{NodePool: pool, Capacity: node.Status.Capacity, Labels: node.Labels})
		}
	}
	for _, c := range inFlight {
		if !registered[c.Name] {
			out = append(out, schedulerengine.CommittedCapacity{NodePool: c.NodePool, Capacity: capped(c.Capacity, ceiling), PricePerHour: c.MaxPricePerHour})
		}
	}
	return out
}

// largestOfAll is the most any type has in each resource.
func largestOfAll(types []schedulerengine.InstanceType) corev1.ResourceList {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.Name
	}
	return largestCapacity(types, names)
}

// capped is capacity with each quantity at most ceiling's, negative ones and those of
// resources no type has left out.
func capped(capacity, ceiling corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for name, q := range capacity {
		most, ok := ceiling[name]
		switch {
		case !ok || q.Sign() < 0:
		case q.Cmp(most) > 0:
			out[name] = most.DeepCopy()
		default:
			out[name] = q.DeepCopy()
		}
	}
	return out
}

// largestCapacity is the most any of the named types has in each resource.
func largestCapacity(types []schedulerengine.InstanceType, names []string) corev1.ResourceList {
	wanted := make(map[string]bool, len(names))
	for _, name := range names {
		wanted[name] = true
	}
	out := corev1.ResourceList{}
	for _, t := range types {
		if !wanted[t.Name] {
			continue
		}
		for name, q := range t.Capacity {
			if have, ok := out[name]; !ok || q.Cmp(have) > 0 {
				out[name] = q.DeepCopy()
			}
		}
	}
	return out
}

func schedulable(node *corev1.Node) bool {
	if node.DeletionTimestamp != nil || node.Spec.Unschedulable || !nodeReady(node) {
		return false
	}
	disrupted := DisruptedTaint()
	for i := range node.Spec.Taints {
		if node.Spec.Taints[i].MatchTaint(&disrupted) {
			return false
		}
	}
	return true
}

// available is allocatable minus the pods' requests, never below zero; each pod also uses
// one of the node's "pods".
func available(allocatable corev1.ResourceList, pods []*corev1.Pod) corev1.ResourceList {
	used := corev1.ResourceList{}
	for _, pod := range pods {
		for name, q := range schedulerengine.PodRequests(pod) {
			if name == corev1.ResourcePods {
				continue
			}
			sum := used[name]
			sum.Add(q)
			used[name] = sum
		}
	}
	out := corev1.ResourceList{}
	for name, q := range allocatable {
		left := q.DeepCopy()
		if name == corev1.ResourcePods {
			left.Set(max(0, left.Value()-int64(len(pods))))
		} else if u, ok := used[name]; ok {
			left.Sub(u)
			if left.Sign() < 0 {
				left.Set(0)
			}
		}
		out[name] = left
	}
	return out
}

// offeringZones are the zones instance types are offered in: the worker's --zones, or else
// every zone the pools' classes have a subnet in.
func (p *Planner) offeringZones(pools []apisv1.NodePool) []string {
	if len(p.Zones) > 0 || p.Classes == nil {
		return p.Zones
	}
	zones := map[string]bool{}
	for _, pool := range pools {
		if class, ok := p.Classes.NodeClass(pool.Spec.Template.Spec.NodeClassRef.Name); ok {
			for _, s := range class.Status.Subnets {
				zones[s.Zone] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(zones))
}

// instanceTypes returns the types the market sells (the catalog's and those EC2 lists beyond
// it), with offerings in those of the zones that offer them at the market's prices.
func (p *Planner) instanceTypes(ctx context.Context, zones []string) ([]schedulerengine.InstanceType, error) {
	types, _, err := p.marketTypes(ctx, zones)
	return types, err
}

// marketTypes is instanceTypes with the market snapshot they come from. The conversion is
// kept until the market's figures or the zones change.
func (p *Planner) marketTypes(ctx context.Context, zones []string) (_ []schedulerengine.InstanceType, _ *market.Snapshot, err error) {
	defer p.Metrics.cloudProviderCall(ctx, MethodGetInstanceTypes, time.Now(), &err)
	p.mu.Lock()
	defer p.mu.Unlock()
	snap, err := p.snapshot()
	if err != nil {
		return nil, nil, fmt.Errorf("instance types: %w", err)
	}
	key := strings.Join(zones, ",")
	if p.types != nil && p.typesFrom == snap.Version() && p.typesRegion == snap.Region() && p.typesZones == key {
		return p.types, snap, nil
	}
	sold := snap.Types(p.Catalog)
	p.types = catalog.InstanceTypesIn(sold, snap.Region(), snap.Within(zones))
	p.records = catalog.Index(sold)
	p.typesFrom, p.typesRegion, p.typesZones = snap.Version(), snap.Region(), key
	return p.types, snap, nil
}

// cutReason cuts a reason to maxReasonBytes.
func cutReason(why string) string {
	if len(why) > maxReasonBytes {
		return strings.ToValidUTF8(why[:maxReasonBytes], "") + "..."
	}
	return why
}

// marketStatus says where a snapshot's figures came from, with reasons cut short: the status
// goes into the Provisioner's history with every plan.
func marketStatus(snap *market.Snapshot) *market.Status {
	st := snap.Status()
	for _, s := range []*market.SourceStatus{&st.InstanceTypes, &st.Offerings, &st.OnDemand, &st.Spot} {
		s.Reason = cutReason(s.Reason)
	}
	return &st
}

// typeRecords are the records of the types last sold, by name.
func (p *Planner) typeRecords() map[string]catalog.Type {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.records
}

// marketVersion names the market snapshot plans read now, without converting its types.
func (p *Planner) marketVersion() (version uint64, region string, _ error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	snap, err := p.snapshot()
	if err != nil {
		return 0, "", fmt.Errorf("market: %w", err)
	}
	return snap.Version(), snap.Region(), nil
}

// snapshot is the market now. Must be called with p.mu held.
func (p *Planner) snapshot() (*market.Snapshot, error) {
	if p.Market != nil {
		return p.Market.Snapshot(), nil
	}
	if p.embedded == nil {
		snap, err := market.Embedded(p.Catalog, catalog.DefaultRegion)
		if err != nil {
			return nil, err
		}
		p.embedded = snap
	}
	return p.embedded, nil
}

// withUnavailable returns types with the given offerings marked unavailable. The cached
// slice is shared, so changed types get their own copy of their offerings.
func withUnavailable(types []schedulerengine.InstanceType, unavailable []Offering) []schedulerengine.InstanceType {
	if len(unavailable) == 0 {
		return types
	}
	out := slices.Clone(types)
	for i := range out {
		t := &out[i]
		copied := false
		for j, o := range t.Offerings {
			if !slices.Contains(unavailable, Offering{InstanceType: t.Name, Zone: o.Zone, CapacityType: o.CapacityType}) {
				continue
			}
			if !copied {
				t.Offerings = slices.Clone(t.Offerings)
				copied = true
			}
			t.Offerings[j].Available = false
		}
	}
	return out
}
