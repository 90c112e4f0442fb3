package disruption

import (
	"math"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

type move struct {
	replacement *schedulerengine.NodeClaim
	savings     float64
}

// simulate schedules the nodes' pods onto every other live node, allowing at most one new
// node. A drift replacement is held to the cluster's and the pools' limits once the nodes are
// gone: it may cost or hold more than the node it replaces. A consolidation's replacement
// never adds a node or cost: it takes the place of at least one node, and cheaperReplacement
// keeps only types cheaper than the nodes. So limits lowered below what the cluster or a pool
// holds now must not hold it back, which would keep the dearer nodes: the cluster's are left
// out, and each pool's raised to what the pool holds now (consolidationPools).
func (d *decider) simulate(nodes []*Node, drift bool) (move, bool) {
	leaving := map[string]bool{}
	var price float64
	var pods []*corev1.Pod
	for _, n := range nodes {
		leaving[n.Name] = true
		price += n.PricePerHour
		for _, p := range n.reschedulable() {
			if !needsNewHome(p) {
				continue
			}
			moved := p.DeepCopy()
			moved.Spec.NodeName = ""
			pods = append(pods, moved)
		}
	}
	pods = append(pods, d.goingPods(leaving)...)
	pods = append(pods, d.waitingPods()...)
	in := schedulerengine.Input{Pods: pods, NodePools: d.s.NodePools, InstanceTypes: d.s.InstanceTypes, PoolAllocatable: d.s.PoolAllocatable}
	if drift {
		in.ClusterLimits = d.s.ClusterLimits
		in.Committed = d.committed(leaving)
	} else {
		in.NodePools = d.consolidationPools()
	}
	in.ExistingNodes = d.destinations(leaving)
	plan, err := schedulerengine.Solve(in)
	if err != nil || len(plan.Unschedulable) > 0 || len(plan.NewNodes) > 1 {
		return move{}, false
	}
	if len(plan.NewNodes) == 0 {
		return move{savings: price}, true
	}
	r := plan.NewNodes[0]
	if !drift && !d.cheaperReplacement(&r, nodes, price) {
		return move{}, false
	}
	return move{replacement: &r, savings: price - r.PricePerHour}, true
}

// goingPods are the pods still bound to our nodes already on their way out (tainted
// disrupted or deleted, other than the ones leaving in this simulation): a decision carried
// out moments ago whose drain has not moved them yet. They must find room as well as the
// candidates' pods, or a pass soon after that decision could take away the room its pods are
// moving to. Pods already terminating are left out (their replacements are counted where
// they landed), but for a StatefulSet's, whose replacement comes only once it is gone. Only
// those the nodes that stay can hold now count: pods that need a new node (the replacement
// of the decision that moves them), or fit nowhere (a drain stuck on a PodDisruptionBudget),
// are the Provisioner's, and must not hold every decision back. They used to count only
// while the nodes that stay could hold them all, and a consolidation with a replacement
// left all of its pods uncounted. Copied once per snapshot, unbound; Solve never changes its
// input.
func (d *decider) goingPods(leaving map[string]bool) []*corev1.Pod {
	if d.going == nil {
		d.going = []goingNode{} // computed, even when there are none
		var all []*corev1.Pod
		for i := range d.s.Nodes {
			n := &d.s.Nodes[i]
			if !n.owned() || !n.Deleting {
				continue
			}
			g := goingNode{name: n.Name}
			for _, p := range n.reschedulable() {
				if !needsNewHome(p) {
					continue
				}
				moved := p.DeepCopy()
				moved.Spec.NodeName = ""
				g.pods = append(g.pods, moved)
			}
			d.going = append(d.going, g)
			all = append(all, g.pods...)
		}
		if len(all) > 0 {
			plan, err := schedulerengine.Solve(schedulerengine.Input{Pods: all, ExistingNodes: d.destinations(nil), InstanceTypes: d.s.InstanceTypes})
			for i := range d.going {
				g := &d.going[i]
				g.pods = slices.DeleteFunc(g.pods, func(p *corev1.Pod) bool {
					_, placed := plan.Existing[schedulerengine.PodKey(p)]
					return err != nil || !placed
				})
			}
		}
	}
	var out []*corev1.Pod
	for _, g := range d.going { // in the snapshot's order: plans must not depend on map order
		if !leaving[g.name] {
			out = append(out, g.pods...)
		}
	}
	return out
}

// waitingPods are the pending pods the nodes that stay can hold now, as the kube-scheduler
// will bind them: those a decision carried out moments ago evicted come back unbound, no
// longer on the node going (goingPods), and a decision made while they wait must not take
// the room they are about to take (the controller decides ahead while a decision's nodes
// drain, and such a decision failed its validation 15 s later: its pods no longer fit).
// Pods that need a new node, or fit nowhere, are the Provisioner's and hold nothing back.
// Karpenter's consolidation simulates the pending pods too. Copied once per snapshot.
//
// They are placed together with the pods of the nodes going, which take their room first
// wherever the two do not both fit.
func (d *decider) waitingPods() []*corev1.Pod {
	if d.waiting != nil || len(d.s.Pending) == 0 {
		return d.waiting
	}
	d.waiting = []*corev1.Pod{}
	pods := append(slices.Clone(d.goingPods(nil)), d.s.Pending...)
	plan, err := schedulerengine.Solve(schedulerengine.Input{Pods: pods, ExistingNodes: d.destinations(nil), InstanceTypes: d.s.InstanceTypes})
	if err != nil {
		return d.waiting
	}
	for _, p := range d.s.Pending { // in the snapshot's order: plans must not depend on map order
		if _, ok := plan.Existing[schedulerengine.PodKey(p)]; ok {
			d.waiting = append(d.waiting, p.DeepCopy())
		}
	}
	return d.waiting
}

// waitingFitWithout reports whether the waiting pods still fit on the nodes that stay once
// the given nodes are gone.
func (d *decider) waitingFitWithout(nodes []*Node) bool {
	waiting := d.waitingPods()
	if len(waiting) == 0 {
		return true
	}
	leaving := map[string]bool{}
	for _, n := range nodes {
		leaving[n.Name] = true
	}
	pods := append(d.goingPods(leaving), waiting...)
	plan, err := schedulerengine.Solve(schedulerengine.Input{Pods: pods, ExistingNodes: d.destinations(leaving), InstanceTypes: d.s.InstanceTypes})
	return err == nil && len(plan.Existing) == len(pods)
}

// needsNewHome is a pod that must find room elsewhere when its node goes: not one already
// terminating, whose replacement is counted where it is, bound or waiting (but for a
// StatefulSet's, which comes back only once the old one is gone).
func needsNewHome(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil || ownedBy(p, "StatefulSet")
}

// destinations are the nodes a simulation may place pods on: Ready ones neither going nor
// leaving.
func (d *decider) destinations(leaving map[string]bool) []schedulerengine.ExistingNode {
	var out []schedulerengine.ExistingNode
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		if leaving[n.Name] || n.Deleting || !n.Ready {
			continue
		}
		out = append(out, schedulerengine.ExistingNode{
			Name: n.Name, Labels: n.Labels, Taints: n.Taints, Available: d.available(n), Pods: n.Pods, PricePerHour: n.PricePerHour,
		})
	}
	return out
}

// goingNode is a node on its way out and copies of its reschedulable pods.
type goingNode struct {
	name string
	pods []*corev1.Pod
}

// committed is what the nodes simulate leaves out hold against the limits: nodes still
// registering and nodes going (besides leaving) take no pods but are paid for, so a drift
// replacement counted without them could pass a limit they already fill.
func (d *decider) committed(leaving map[string]bool) []schedulerengine.CommittedCapacity {
	var out []schedulerengine.CommittedCapacity
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		pool := n.Labels[v1.LabelNodePool]
		if leaving[n.Name] || pool == "" || n.Ready && !n.Deleting {
			continue
		}
		capacity := n.Allocatable
		if it := d.types[n.Labels[v1.LabelInstanceType]]; it != nil {
			capacity = it.Capacity
		}
		out = append(out, schedulerengine.CommittedCapacity{NodePool: pool, Capacity: capacity, PricePerHour: n.PricePerHour, Labels: n.Labels})
	}
	return out
}

// available is allocatable less the requests of every pod on the node (PodRequests counts
// each pod's slot too). Computed once per node and snapshot: a pass simulates every
// candidate against every other node, and summing each node's pods again for each candidate
// made a pass over a full cluster of 500 nodes cost seconds.
func (d *decider) available(n *Node) corev1.ResourceList {
	if out, ok := d.avail[n.Name]; ok {
		return out
	}
	if d.avail == nil {
		d.avail = map[string]corev1.ResourceList{}
	}
	out := available(n)
	d.avail[n.Name] = out // shared by every simulation: Solve never changes its input
	return out
}

func available(n *Node) corev1.ResourceList {
	out := n.Allocatable.DeepCopy()
	if out == nil {
		out = corev1.ResourceList{}
	}
	for _, p := range n.Pods {
		for name, q := range schedulerengine.PodRequests(p) {
			left := out[name]
			left.Sub(q)
			out[name] = left
		}
	}
	return out
}

// held is what a pool's nodes hold now, as Solve charges them to its limits.
type held struct {
	nodes    int64
	cost     int64 // micro-dollars per hour, summed exactly
	capacity corev1.ResourceList
}

// consolidationPools are the NodePools with each limit raised to what the pool holds now,
// where it holds more: a replacement must fit the limit or the room its nodes leave, not
// both. A pool over a limit lowered since would otherwise refuse even a smaller, cheaper
// replacement, as the nodes staying already pass the limit. A limit that cannot be read is
// left to fail closed.
func (d *decider) consolidationPools() []v1.NodePool {
	if d.raisedPools != nil {
		return d.raisedPools
	}
	now := d.heldByPool()
	d.raisedPools = make([]v1.NodePool, len(d.s.NodePools))
	for i := range d.s.NodePools {
		d.raisedPools[i] = raiseLimits(&d.s.NodePools[i], now[d.s.NodePools[i].Name])
	}
	return d.raisedPools
}

// heldByPool counts the nodes simulate hands Solve, the leaving ones included, under the
// pool their label names, as Solve charges them: a node without a price at its labels'
// offering (schedulerengine.NodePrice). A node it cannot price or size counts nothing
// there, which leaves the limit lower: the safe side.
func (d *decider) heldByPool() map[string]*held {
	out := map[string]*held{}
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		pool := n.Labels[v1.LabelNodePool]
		if pool == "" || n.Deleting || !n.Ready {
			continue
		}
		h := out[pool]
		if h == nil {
			h = &held{capacity: corev1.ResourceList{}}
			out[pool] = h
		}
		h.nodes++
		price := n.PricePerHour
		it := d.types[n.Labels[v1.LabelInstanceType]]
		if price <= 0 && it != nil {
			price, _ = schedulerengine.NodePrice(it, n.Labels) // as Solve charges it
		}
		h.cost += int64(math.Round(price * 1e6))
		if it != nil {
			for name, q := range it.Capacity {
				sum := h.capacity[name]
				sum.Add(q)
				h.capacity[name] = sum
			}
		}
	}
	return out
}

// raiseLimits returns the pool with its max-hourly-cost and spec.limits raised to what it
// holds now where they are lower; the pool given is not changed.
func raiseLimits(p *v1.NodePool, h *held) v1.NodePool {
	if h == nil {
		return *p
	}
	var raised *v1.NodePool
	edit := func() *v1.NodePool {
		if raised == nil {
			raised = p.DeepCopy()
		}
		return raised
	}
	if limit, set, err := p.MaxHourlyCost(); set && err == nil && float64(h.cost)/1e6 > limit {
		edit().Annotations[v1.AnnotationMaxHourlyCost] = strconv.FormatFloat(float64(h.cost)/1e6, 'f', 6, 64)
	}
	for name, limit := range p.Spec.Limits {
		now := h.capacity[name]
		if name == "nodes" {
			now = *resource.NewQuantity(h.nodes, resource.DecimalSI)
		}
		if now.Cmp(limit) > 0 {
			edit().Spec.Limits[name] = now
		}
	}
	if raised == nil {
		return *p
	}
	return *raised
}
