package disruption

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// Methods, tried in this order; only the first that finds something acts in a pass.
const (
	MethodEmptiness               = "Emptiness"
	MethodDrift                   = "Drift"
	MethodMultiNodeConsolidation  = "MultiNodeConsolidation"
	MethodSingleNodeConsolidation = "SingleNodeConsolidation"
)

// maxMultiNodeCandidates bounds multi-node consolidation, as Karpenter's.
const maxMultiNodeCandidates = 100

// Command is one disruption to carry out.
type Command struct {
	Method string   `json:"method"`
	Reason string   `json:"reason"`
	Nodes  []string `json:"nodes"`
	// Replacement is the one node to launch before the Nodes are drained, if any.
	Replacement *schedulerengine.NodeClaim `json:"replacement,omitempty"`
	// Savings is $/hour saved: the nodes' price less the replacement's.
	Savings float64 `json:"savings"`
}

// SkipKind classes why a node was passed over, as Karpenter's events do.
type SkipKind string

const (
	// SkipBlocked: something protects the node now (do-not-disrupt, a PodDisruptionBudget, a
	// disruption budget); Karpenter's DisruptionBlocked.
	SkipBlocked SkipKind = "Blocked"
	// SkipUnconsolidatable: nothing cheaper can take the node's pods; Karpenter's
	// Unconsolidatable.
	SkipUnconsolidatable SkipKind = "Unconsolidatable"
	// SkipNotCandidate: the node is not a candidate by its pool's settings or its state
	// (policy, consolidateAfter, still starting, already leaving); nothing worth an event.
	SkipNotCandidate SkipKind = "NotCandidate"
)

// Skip says why a node was passed over.
type Skip struct {
	Kind SkipKind
	Why  string
}

// Decide returns the next disruption, or nil when there is nothing to do. Why each node
// was passed over is in the second result, for people asking "why is this node still here".
func Decide(s Snapshot) (*Command, map[string]Skip) {
	d := newDecider(s)
	for _, method := range []func() *Command{d.emptiness, d.drift, d.consolidation} {
		if c := method(); c != nil {
			return c, d.skipped
		}
	}
	return nil, d.skipped
}

type decider struct {
	s       Snapshot
	byName  map[string]*Node
	pools   map[string]*v1.NodePool
	types   map[string]*schedulerengine.InstanceType
	skipped map[string]Skip
	// raisedPools caches consolidationPools: the same for every consolidation of a snapshot.
	raisedPools []v1.NodePool
	// going caches goingPods' copies, nil until first asked.
	going []goingNode
	// waiting caches waitingPods' copies, nil until first asked.
	waiting []*corev1.Pod
	// avail caches each node's available resources, by node name.
	avail map[string]corev1.ResourceList
}

func newDecider(s Snapshot) *decider {
	d := &decider{s: s, byName: map[string]*Node{}, pools: map[string]*v1.NodePool{},
		types: map[string]*schedulerengine.InstanceType{}, skipped: map[string]Skip{}}
	for i := range s.Nodes {
		d.byName[s.Nodes[i].Name] = &s.Nodes[i]
	}
	for i := range s.NodePools {
		d.pools[s.NodePools[i].Name] = &s.NodePools[i]
	}
	for i := range s.InstanceTypes {
		d.types[s.InstanceTypes[i].Name] = &s.InstanceTypes[i]
	}
	return d
}

// candidates are the nodes eligible for reason, cheapest to disrupt first.
func (d *decider) candidates(reason string) []*Node {
	var out []*Node
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		if !n.owned() {
			continue
		}
		if why := d.ineligible(n, reason); why.Why != "" {
			d.skip(n, why)
			continue
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *Node) int {
		return cmp.Or(cmp.Compare(len(a.reschedulable()), len(b.reschedulable())),
			cmp.Compare(b.PricePerHour, a.PricePerHour), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// skip records the first reason a node was passed over.
func (d *decider) skip(n *Node, why Skip) {
	if _, seen := d.skipped[n.Name]; !seen {
		d.skipped[n.Name] = why
	}
}

// ineligible says why a node may not be voluntarily disrupted for reason; an empty Why means
// it may.
func (d *decider) ineligible(n *Node, reason string) Skip {
	notCandidate := func(format string, args ...any) Skip {
		return Skip{Kind: SkipNotCandidate, Why: fmt.Sprintf(format, args...)}
	}
	pool := d.pools[n.NodePool]
	switch {
	case pool == nil:
		return notCandidate("its NodePool %q no longer exists", n.NodePool)
	case n.Deleting:
		return notCandidate("already being disrupted")
	case !n.Ready || !n.Initialized:
		return notCandidate("not Ready and initialized yet")
	}
	if why := d.protected(n); why.Why != "" {
		return why
	}
	if reason == ReasonDrifted {
		return Skip{} // drift needs no quiet period and ignores the consolidation policy
	}
	policy := pool.ConsolidationPolicy()
	if reason == ReasonUnderutilized && policy == v1.ConsolidationPolicyWhenEmpty {
		return notCandidate("NodePool %s consolidates only when empty", pool.Name)
	}
	after := pool.Spec.Disruption.ConsolidateAfter
	if after.Never {
		return notCandidate("NodePool %s has consolidateAfter Never", pool.Name)
	}
	if wait := n.LastPodEvent.Add(after.Duration).Sub(d.s.Now); wait > 0 {
		return notCandidate("pods changed recently; consolidatable in %s", wait.Round(time.Second))
	}
	return Skip{}
}

// protected says what keeps the node from being voluntarily disrupted now: the node's or a
// pod's do-not-disrupt annotation, or a pod's PodDisruptionBudget.
func (d *decider) protected(n *Node) Skip {
	blocked := func(format string, args ...any) Skip {
		return Skip{Kind: SkipBlocked, Why: fmt.Sprintf(format, args...)}
	}
	if n.Annotations[v1.AnnotationDoNotDisrupt] == "true" {
		return blocked("node is annotated %s", v1.AnnotationDoNotDisrupt)
	}
	for _, p := range n.Pods {
		if doNotDisrupt(p, d.s.Now) {
			return blocked("pod %s is annotated %s", podKey(p), v1.AnnotationDoNotDisrupt)
		}
		if d.s.BlockedPods[podKey(p)] {
			return blocked("pod %s has a PodDisruptionBudget that allows no disruption", podKey(p))
		}
	}
	return Skip{}
}

// withinBudgets checks the nodes against each pool's budget for reason.
func (d *decider) withinBudgets(nodes []*Node, reason string) bool {
	want := map[string]int{}
	for _, n := range nodes {
		want[n.NodePool]++
	}
	for pool, n := range want {
		if n > d.allowed(pool, reason) {
			return false
		}
	}
	return true
}

// allowed is how many more of pool's nodes the budgets let go for reason. Departed nodes
// count as gone: neither in the pool nor disrupting.
func (d *decider) allowed(pool, reason string) int {
	total, disrupting := 0, 0
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		if n.NodePool != pool || n.Departed {
			continue
		}
		total++
		if n.Deleting || !n.Ready {
			disrupting++
		}
	}
	return Allowed(d.pools[pool], reason, total, disrupting, d.s.Now)
}

// takeWithinBudgets keeps, in order, the nodes the budgets allow.
func (d *decider) takeWithinBudgets(nodes []*Node, reason string) []*Node {
	left := map[string]int{}
	var out []*Node
	for _, n := range nodes {
		if _, ok := left[n.NodePool]; !ok {
			left[n.NodePool] = d.allowed(n.NodePool, reason)
		}
		if left[n.NodePool] > 0 {
			left[n.NodePool]--
			out = append(out, n)
		} else {
			d.skip(n, Skip{Kind: SkipBlocked, Why: fmt.Sprintf("NodePool %s disruption budget for %s is used up", n.NodePool, reason)})
		}
	}
	return out
}

// emptiness deletes every empty candidate the budgets allow, at once.
func (d *decider) emptiness() *Command {
	var empty []*Node
	for _, n := range d.candidates(ReasonEmpty) {
		if len(n.reschedulable()) == 0 {
			empty = append(empty, n)
		}
	}
	empty = d.takeWithinBudgets(empty, ReasonEmpty)
	if len(empty) == 0 {
		return nil
	}
	if !d.waitingFitWithout(empty) {
		// The kube-scheduler is about to bind pods there: the next pass sees them bound.
		for _, n := range empty {
			d.skip(n, Skip{Kind: SkipNotCandidate, Why: "pods waiting for a node need its room"})
		}
		return nil
	}
	c := &Command{Method: MethodEmptiness, Reason: ReasonEmpty}
	for _, n := range empty {
		c.Nodes = append(c.Nodes, n.Name)
		c.Savings += n.PricePerHour
	}
	return c
}

// drift replaces one drifted node, launching a replacement when its pods need one.
func (d *decider) drift() *Command {
	var drifted []*Node
	for _, n := range d.candidates(ReasonDrifted) {
		if n.Drifted {
			drifted = append(drifted, n)
		}
	}
	for _, n := range d.takeWithinBudgets(drifted, ReasonDrifted) {
		move, ok := d.simulate([]*Node{n}, true)
		if !ok {
			d.skip(n, Skip{Kind: SkipBlocked, Why: "drifted, but its pods fit nowhere else and no replacement can be planned within the limits"})
			continue
		}
		return &Command{Method: MethodDrift, Reason: ReasonDrifted, Nodes: []string{n.Name},
			Replacement: move.replacement, Savings: move.savings}
	}
	return nil
}

// consolidation prefers several nodes at once, unless removing one node alone saves as much
// without launching anything: fewer moves for the same money.
func (d *decider) consolidation() *Command {
	multi := d.multiNode()
	if multi != nil && multi.Replacement == nil {
		return multi
	}
	single := d.singleNode()
	switch {
	case multi == nil:
		return single
	case single != nil && single.Replacement == nil && single.Savings >= multi.Savings:
		return single
	}
	return multi
}

// multiNode finds the longest prefix of candidates whose pods fit on the other nodes plus at
// most one cheaper new node, by binary search as Karpenter does.
func (d *decider) multiNode() *Command {
	cands := d.takeWithinBudgets(d.candidates(ReasonUnderutilized), ReasonUnderutilized)
	if len(cands) > maxMultiNodeCandidates {
		cands = cands[:maxMultiNodeCandidates]
	}
	var best *Command
	lo, hi := 2, len(cands)
	for lo <= hi {
		mid := (lo + hi) / 2
		if c := d.consolidate(cands[:mid], MethodMultiNodeConsolidation); c != nil {
			best, lo = c, mid+1
		} else {
			hi = mid - 1
		}
	}
	return best
}

// singleNode returns the candidate whose removal saves the most; the others are marked
// Unconsolidatable when nothing cheaper can take their pods.
func (d *decider) singleNode() *Command {
	var best *Command
	for _, n := range d.takeWithinBudgets(d.candidates(ReasonUnderutilized), ReasonUnderutilized) {
		c := d.consolidate([]*Node{n}, MethodSingleNodeConsolidation)
		if c == nil {
			d.skip(n, Skip{Kind: SkipUnconsolidatable, Why: "can't remove it or replace it with a cheaper node"})
			continue
		}
		if best == nil || c.Savings > best.Savings {
			best = c
		}
	}
	return best
}

// consolidate is valid when the nodes' pods fit elsewhere, or on one new node that costs less
// than the nodes together.
func (d *decider) consolidate(nodes []*Node, method string) *Command {
	move, ok := d.simulate(nodes, false)
	if !ok || move.savings <= 0 {
		return nil
	}
	c := &Command{Method: method, Reason: ReasonUnderutilized, Replacement: move.replacement, Savings: move.savings}
	for _, n := range nodes {
		c.Nodes = append(c.Nodes, n.Name)
	}
	return c
}
