package activities

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// Disruption gathers the cluster's state for the disruption controller and asks the engine
// what to remove next.
type Disruption struct {
	// Planner supplies the Kubernetes client, NodePools and priced instance types.
	Planner   *Planner
	PodEvents *PodEvents
	// NodeClaims, when set, carries the Drifted and Consolidatable conditions and the events
	// of disruption onto the nodes' NodeClaims.
	NodeClaims *NodeClaims
	// Metrics records the decision's duration and the eligible nodes; nil records nothing.
	Metrics *Metrics
	// Changes counts the changes the worker's watches have seen to what a pass lists
	// (ClusterCache.Changes). While it, the NodePools, the market and the limits stand
	// still, a pass answers as the last one that found nothing, without listing the
	// cluster; nil makes every pass list it.
	Changes func() uint64
	// now tells the time; nil means time.Now. Tests set it.
	now   func() time.Time
	quiet quietPasses
}

func (d *Disruption) clock() time.Time {
	if d.now == nil {
		return time.Now()
	}
	return d.now()
}

// NodeRef names a node and the claim (and so the workflow) that owns it.
type NodeRef struct {
	Name  string `json:"name"`
	Claim string `json:"claim"`
}

// DisruptionDecision is FindDisruption's answer; Command is nil when there is nothing to do.
type DisruptionDecision struct {
	Command *disruption.Command `json:"command,omitempty"`
	Nodes   []NodeRef           `json:"nodes,omitempty"`
	// Replacement is the claim to launch first, ready for a NodeLifecycle (name unset).
	Replacement *Claim `json:"replacement,omitempty"`
	// Skipped says why candidate nodes were passed over; kept short for history.
	Skipped map[string]string `json:"skipped,omitempty"`
	// RoomAfter is how many more nodes the budgets of the command's pools allow once its
	// nodes are going (disruption.RoomAfter); absent in decisions recorded before it, which
	// read as none.
	RoomAfter int `json:"roomAfter,omitempty"`
}

// maxSkippedReported bounds the skipped reasons carried into workflow history.
const maxSkippedReported = 20

// FindDisruption decides the next voluntary disruption.
func (d *Disruption) FindDisruption(ctx context.Context) (DisruptionDecision, error) {
	in, err := d.inputs()
	if err != nil {
		return DisruptionDecision{}, fmt.Errorf("find disruption: %w", err)
	}
	if out, ok := d.quiet.answer(in, d.clock()); ok {
		return out, nil
	}
	snap, claims, err := d.snapshot(ctx)
	if err != nil {
		return DisruptionDecision{}, fmt.Errorf("find disruption: %w", err)
	}
	out, cmd, reported := d.decide(ctx, snap)
	d.quiet.remember(in, snap, out, reported)
	return d.complete(snap, claims, out, cmd), nil
}

// DisruptionAheadRequest names the nodes the last decision told to go.
type DisruptionAheadRequest struct {
	Leaving []string `json:"leaving"`
}

// FindDisruptionAhead decides the next voluntary disruption while the last decision's nodes
// drain. The budgets count those of them already leaving as gone (disruption.Node.Departed):
// the controller validates the decision, and so counts the budgets again, only once they
// are gone. Their pods still need room on the nodes that stay. Never answered from the
// quiet passes' memory, whose answers count every node.
func (d *Disruption) FindDisruptionAhead(ctx context.Context, req DisruptionAheadRequest) (DisruptionDecision, error) {
	snap, claims, err := d.snapshot(ctx)
	if err != nil {
		return DisruptionDecision{}, fmt.Errorf("find disruption ahead: %w", err)
	}
	for i := range snap.Nodes {
		n := &snap.Nodes[i]
		n.Departed = n.Deleting && slices.Contains(req.Leaving, n.Name)
	}
	out, cmd, _ := d.decide(ctx, snap)
	return d.complete(snap, claims, out, cmd), nil
}

// decide asks the engine for a command and reports on the NodeClaims what it found; it
// says whether every report was written.
func (d *Disruption) decide(ctx context.Context, snap disruption.Snapshot) (DisruptionDecision, *disruption.Command, bool) {
	decideStart := time.Now()
	cmd, skipped := disruption.Decide(snap)
	d.Metrics.scheduled(ControllerDisruption, decideStart)
	d.Metrics.setEligible(eligibleNodes(snap, skipped))
	reported := d.report(ctx, snap, skipped)
	return DisruptionDecision{Command: cmd, Skipped: trimSkipped(skipped)}, cmd, reported
}

// complete fills a decision in: the claims of its nodes, the room it leaves, its replacement.
func (d *Disruption) complete(snap disruption.Snapshot, claims map[string]string, out DisruptionDecision, cmd *disruption.Command) DisruptionDecision {
	if cmd == nil {
		return out
	}
	for _, n := range cmd.Nodes {
		out.Nodes = append(out.Nodes, NodeRef{Name: n, Claim: claims[n]})
	}
	out.RoomAfter = disruption.RoomAfter(snap, *cmd)
	if r := cmd.Replacement; r != nil {
		c := claimFrom(*r).WithPool(poolNamed(snap.NodePools, r.NodePool))
		// Counted against its pool's limits by the Provisioner's plans until it registers.
		c.Capacity = largestCapacity(snap.InstanceTypes, r.InstanceTypes)
		out.Replacement = &c
		cmd.Replacement = nil // the claim above says it all, once
	}
	return out
}

// report tells the nodes' NodeClaims whether they have drifted and are consolidatable, and
// records why voluntary disruption passed a node over: DisruptionBlocked when something
// protects it, Unconsolidatable when nothing cheaper can take its pods. It says whether the
// conditions were all written, so that a pass whose writes failed is not answered again
// from memory.
func (d *Disruption) report(ctx context.Context, snap disruption.Snapshot, skipped map[string]disruption.Skip) bool {
	if d.NodeClaims == nil {
		return true
	}
	states := map[string]ClaimDisruptionState{}
	for _, n := range snap.Nodes {
		if n.Claim == "" {
			continue
		}
		states[n.Claim] = ClaimDisruptionState{Drifted: n.Drifted, Consolidatable: consolidatable(snap, n)}
	}
	uids, err := d.NodeClaims.setDisruptionConditions(ctx, states, snap.Now)
	if err != nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Warn("NodeClaims' disruption conditions not all written; the next full pass writes them", "error", err)
	}
	for _, n := range snap.Nodes {
		skip, ok := skipped[n.Name]
		switch {
		case !ok || n.Claim == "":
		case skip.Kind == disruption.SkipBlocked:
			d.NodeClaims.record(n.Name, n.Claim, uids[n.Claim], corev1.EventTypeNormal, "DisruptionBlocked", "Cannot disrupt Node: "+skip.Why)
		case skip.Kind == disruption.SkipUnconsolidatable:
			d.NodeClaims.record(n.Name, n.Claim, uids[n.Claim], corev1.EventTypeNormal, "Unconsolidatable", skip.Why)
		}
	}
	return err == nil
}

// consolidatable: the node's pool consolidates and its pods have been quiet for
// consolidateAfter (Karpenter's Consolidatable condition).
func consolidatable(snap disruption.Snapshot, n disruption.Node) bool {
	pool := poolNamed(snap.NodePools, n.NodePool)
	if pool == nil {
		return false
	}
	after := pool.Spec.Disruption.ConsolidateAfter
	return !after.Never && !snap.Now.Before(n.LastPodEvent.Add(after.Duration))
}

// eligibleNodes counts the nodes voluntary disruption may act on now, by Karpenter's reason
// label, as its eligible_nodes gauge does: candidates (Nodewright's, with a live pool, Ready
// and initialized, not leaving, and nothing protecting them, which the engine reports as
// blocked) that are empty and consolidatable, drifted, or consolidatable under
// WhenEmptyOrUnderutilized.
func eligibleNodes(snap disruption.Snapshot, skipped map[string]disruption.Skip) map[string]int {
	out := map[string]int{"empty": 0, "drifted": 0, "underutilized": 0}
	for _, n := range snap.Nodes {
		pool := poolNamed(snap.NodePools, n.NodePool)
		if pool == nil || n.Claim == "" || n.Deleting || !n.Ready || !n.Initialized || skipped[n.Name].Kind == disruption.SkipBlocked {
			continue
		}
		if n.Drifted {
			out["drifted"]++
		}
		if !consolidatable(snap, n) {
			continue
		}
		if !slices.ContainsFunc(n.Pods, func(p *corev1.Pod) bool { return !isDaemonSetPod(p) && !isMirrorPod(p) && !isTerminal(p) }) {
			out["empty"]++
		}
		if pool.ConsolidationPolicy() == v1.ConsolidationPolicyWhenEmptyOrUnderutilized {
			out["underutilized"]++
		}
	}
	return out
}

// AnnounceDisruption records on the nodes of a decision what the disruption controller is
// doing for them: DisruptionLaunching a replacement, DisruptionWaitingReadiness for it.
func (d *Disruption) AnnounceDisruption(ctx context.Context, a DisruptionAnnouncement) error {
	if d.NodeClaims == nil {
		return nil
	}
	for _, n := range a.Nodes {
		d.NodeClaims.record(n.Name, n.Claim, d.NodeClaims.uidOf(ctx, n.Claim), corev1.EventTypeNormal, a.Reason, a.Message)
	}
	return nil
}

// DisruptionAnnouncement is one event for the nodes of a decision.
type DisruptionAnnouncement struct {
	Nodes   []NodeRef `json:"nodes"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
}

// ValidateDisruption re-checks a decision after the validation delay; it returns why the
// decision no longer holds, or "" when it still does.
func (d *Disruption) ValidateDisruption(ctx context.Context, cmd disruption.Command) (string, error) {
	snap, _, err := d.snapshot(ctx)
	if err != nil {
		return "", fmt.Errorf("validate disruption: %w", err)
	}
	if err := disruption.Validate(snap, cmd); err != nil {
		return err.Error(), nil
	}
	return "", nil
}

// snapshot reads the cluster for the engine. The disrupted taint on the nodes named ours is
// the controller's own, put there for a decision under way, and does not count as leaving.
func (d *Disruption) snapshot(ctx context.Context, ours ...string) (disruption.Snapshot, map[string]string, error) {
	// Nodes with a consistent read from the API server, not the worker's cache: budgets count
	// the nodes being disrupted, the controller looks again as soon as a decision's nodes are
	// gone and must see the taints it wrote on the next one's, and a cache lagging under load let a budget of one see
	// none (two nodes went at once in TestBudgetOfOneNodeDisruptsOneAtATime during a full
	// test run). The API server serves the read from its watch cache once that has caught up.
	// Pods and PodDisruptionBudgets come from the worker's caches, as a plan's do (and as
	// Karpenter's cluster state does): a list of every pod each pass cost the worker tens of
	// MB at 5,000 pods. A consolidation they make stale is caught by the validation 15 s
	// later; a drift has none, and the Eviction API still holds its drain to the
	// PodDisruptionBudgets.
	nodes, err := APIReader{Kube: d.Planner.Kube}.Nodes(ctx)
	if err != nil {
		return disruption.Snapshot{}, nil, err
	}
	cluster := d.Planner.cluster()
	pods, err := cluster.Pods(ctx)
	if err != nil {
		return disruption.Snapshot{}, nil, err
	}
	pdbs, err := cluster.PodDisruptionBudgets(ctx)
	if err != nil {
		return disruption.Snapshot{}, nil, err
	}
	pools := d.Planner.Pools.NodePools()
	types, err := d.Planner.instanceTypes(ctx, d.Planner.offeringZones(pools))
	if err != nil {
		return disruption.Snapshot{}, nil, err
	}
	snap := disruption.Snapshot{
		Now: d.clock(), NodePools: pools, InstanceTypes: types,
		PoolAllocatable: d.Planner.poolAllocatable(pools, types),
		BlockedPods:     blockedByPDB(pdbs, pods),
		ClusterLimits:   d.Planner.clusterLimits(),
	}
	byNode := map[string][]*corev1.Pod{}
	for i := range pods {
		p := &pods[i]
		switch {
		case terminal(p):
		case p.Spec.NodeName != "":
			byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p)
		case waitingForNode(p):
			snap.Pending = append(snap.Pending, p)
		}
	}
	slices.SortFunc(snap.Pending, func(a, b *corev1.Pod) int {
		return strings.Compare(schedulerengine.PodKey(a), schedulerengine.PodKey(b))
	})
	claims := map[string]string{}
	for i := range nodes {
		n := &nodes[i]
		out := d.node(n, byNode[n.Name], types, snap.NodePools)
		if slices.Contains(ours, n.Name) {
			out.Deleting = n.DeletionTimestamp != nil
		}
		snap.Nodes = append(snap.Nodes, out)
		claims[n.Name] = n.Labels[v1.LabelNodeClaim]
	}
	return snap, claims, nil
}

// waitingForNode is an unbound pod the kube-scheduler is about to place: not being deleted,
// not held by a scheduling gate, not a daemon's (those wait for their own node), not another
// scheduler's, and not one it already found no room for: a pod pending for a reason the
// engine does not model (a volume's zone, say) would otherwise hold room on the nodes the
// engine thinks it fits for as long as it waits, and keep them from being consolidated.
func waitingForNode(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || len(p.Spec.SchedulingGates) > 0 || Unschedulable(p) {
		return false
	}
	if p.Spec.SchedulerName != "" && p.Spec.SchedulerName != corev1.DefaultSchedulerName {
		return false
	}
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return false
		}
	}
	return true
}

func (d *Disruption) node(n *corev1.Node, pods []*corev1.Pod, types []schedulerengine.InstanceType, pools []v1.NodePool) disruption.Node {
	out := disruption.Node{
		Name: n.Name, Labels: n.Labels, Annotations: n.Annotations, Taints: n.Spec.Taints,
		Allocatable: n.Status.Allocatable, Pods: pods, CapacityType: n.Labels[v1.LabelCapacityType],
		Ready: nodeReady(n), Initialized: n.Labels[v1.LabelRegistered] == "true",
		Deleting: n.DeletionTimestamp != nil || hasTaint(n, v1.TaintKeyDisrupted),
	}
	pool := poolNamed(pools, n.Labels[v1.LabelNodePool])
	if pool == nil || n.Labels[v1.LabelNodeClaim] == "" {
		return out // not ours, or its pool is gone: a destination only
	}
	out.NodePool, out.Claim = pool.Name, n.Labels[v1.LabelNodeClaim]
	out.PricePerHour = offeringPrice(types, n.Labels[v1.LabelInstanceType], n.Labels[v1.LabelZone], out.CapacityType)
	out.Drifted = requirementsDrifted(pool, n) || templateDrifted(pool, n)
	out.LastPodEvent = d.PodEvents.Last(n.Name)
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.LastTransitionTime.After(out.LastPodEvent) {
			out.LastPodEvent = c.LastTransitionTime.Time
		}
	}
	return out
}

// requirementsDrifted: the node's labels no longer satisfy its NodePool's requirements
// (Karpenter's RequirementsDrifted). Well-known instance labels the kubelet does not set are
// not on the node and do not count against it.
func requirementsDrifted(pool *v1.NodePool, n *corev1.Node) bool {
	var term corev1.NodeSelectorTerm
	for _, r := range pool.Spec.Template.Spec.Requirements {
		if _, onNode := n.Labels[r.Key]; !onNode {
			continue
		}
		if r.Operator == v1.NodeSelectorOpGte || r.Operator == v1.NodeSelectorOpLte {
			continue
		}
		term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{Key: r.Key, Operator: r.Operator, Values: r.Values})
	}
	for k, want := range pool.Spec.Template.ObjectMeta.Labels {
		if n.Labels[k] != want {
			return true
		}
	}
	if len(term.MatchExpressions) == 0 {
		return false
	}
	ok, err := corev1helpers.MatchNodeSelectorTerms(n, &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}})
	return err == nil && !ok
}

// templateDrifted: the node was launched from another version of its NodePool's template
// (Karpenter's NodePoolDrifted). Nodes without the annotation predate it and do not count.
func templateDrifted(pool *v1.NodePool, n *corev1.Node) bool {
	h, ok := n.Annotations[v1.AnnotationNodePoolHash]
	return ok && h != pool.TemplateHash()
}

// offeringPrice is what the node's offering costs now. One the market no longer prices (the
// zone stopped offering the type, or its spot price is gone) is priced at the type's dearest
// offering, not as free: a free node would never look worth replacing.
func offeringPrice(types []schedulerengine.InstanceType, name, zone, capacityType string) float64 {
	for _, it := range types {
		if it.Name != name {
			continue
		}
		dearest := 0.0
		for _, o := range it.Offerings {
			if o.Zone == zone && o.CapacityType == capacityType {
				return o.PricePerHour
			}
			dearest = max(dearest, o.PricePerHour)
		}
		return dearest
	}
	return 0
}

// blockedByPDB lists the pods a PodDisruptionBudget keeps from being evicted now: those
// covered by one that allows no disruption, and those covered by more than one, which the
// Eviction API refuses outright (as Karpenter's CanEvictPods decides). Selectors read as in
// policy/v1: an empty selector covers every pod of its namespace, a nil one none.
func blockedByPDB(pdbs []policyv1.PodDisruptionBudget, pods []corev1.Pod) map[string]bool {
	covering := map[string]int{}
	out := map[string]bool{}
	for _, pdb := range pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			continue // the apiserver's eviction skips a selector it cannot read too
		}
		for i := range pods {
			p := &pods[i]
			if p.Namespace != pdb.Namespace || !sel.Matches(labels.Set(p.Labels)) {
				continue
			}
			key := p.Namespace + "/" + p.Name
			covering[key]++
			if pdb.Status.DisruptionsAllowed <= 0 || covering[key] > 1 {
				out[key] = true
			}
		}
	}
	return out
}

func hasTaint(n *corev1.Node, key string) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key })
}

func claimFrom(c schedulerengine.NodeClaim) Claim {
	return Claim{
		NodePool: c.NodePool, Pods: c.Pods, InstanceTypes: c.InstanceTypes, Zones: c.Zones,
		CapacityTypes: c.CapacityTypes, Labels: c.Labels, Taints: c.Taints, PricePerHour: c.PricePerHour,
		MaxPricePerHour: c.MaxPricePerHour, Requests: c.Requests,
	}
}

func trimSkipped(m map[string]disruption.Skip) map[string]string {
	keys := slices.Sorted(maps.Keys(m))
	if len(keys) > maxSkippedReported {
		keys = keys[:maxSkippedReported]
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = m[k].Why
	}
	return out
}
