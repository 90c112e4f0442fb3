package schedulerengine_test

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

func checkEveryPodAccountedOnce(t *testing.T, in schedulerengine.Input, plan schedulerengine.Plan) {
	t.Helper()
	seen := map[string]int{}
	for k := range plan.Existing {
		seen[k]++
	}
	for _, nc := range plan.NewNodes {
		for _, k := range nc.Pods {
			seen[k]++
		}
	}
	for k, reason := range plan.Unschedulable {
		seen[k]++
		if reason == "" {
			t.Errorf("pod %s unschedulable without a reason", k)
		}
	}
	for _, p := range in.Pods {
		if n := seen[schedulerengine.PodKey(p)]; n != 1 {
			t.Errorf("pod %s appears %d times in the plan, want exactly once", schedulerengine.PodKey(p), n)
		}
	}
}

func podsByKey(in schedulerengine.Input) map[string]*corev1.Pod {
	m := map[string]*corev1.Pod{}
	for _, p := range in.Pods {
		m[schedulerengine.PodKey(p)] = p
	}
	return m
}

func checkExistingNodePlacements(t *testing.T, in schedulerengine.Input, plan schedulerengine.Plan) {
	t.Helper()
	pods := podsByKey(in)
	used := map[string]corev1.ResourceList{}
	for key, nodeName := range plan.Existing {
		i := slices.IndexFunc(in.ExistingNodes, func(n schedulerengine.ExistingNode) bool { return n.Name == nodeName })
		if i < 0 {
			t.Fatalf("pod %s placed on unknown node %s", key, nodeName)
		}
		n := in.ExistingNodes[i]
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}, Spec: corev1.NodeSpec{Taints: n.Taints}}
		assertPodMayRunOn(t, pods[key], node, n.Name)
		used[nodeName] = sum(used[nodeName], schedulerengine.PodRequests(pods[key]))
	}
	for _, n := range in.ExistingNodes {
		assertWithin(t, "existing node "+n.Name, used[n.Name], n.Available)
	}
}

// checkClaims checks every instance-type option of every claim in every offering its zones
// and capacity types allow: the pods' node affinity and tolerations hold, and the type has
// room for the pods plus the daemonsets that would run there.
func checkClaims(t *testing.T, in schedulerengine.Input, plan schedulerengine.Plan) {
	t.Helper()
	pods := podsByKey(in)
	types := map[string]schedulerengine.InstanceType{}
	for _, it := range in.InstanceTypes {
		types[it.Name] = it
	}
	for ci, nc := range plan.NewNodes {
		what := fmt.Sprintf("claim %d (%s)", ci, nc.NodePool)
		if len(nc.InstanceTypes) == 0 || len(nc.InstanceTypes) > schedulerengine.MaxInstanceTypes {
			t.Fatalf("%s has %d instance types, want 1..%d", what, len(nc.InstanceTypes), schedulerengine.MaxInstanceTypes)
		}
		var requests corev1.ResourceList
		for _, k := range nc.Pods {
			requests = sum(requests, schedulerengine.PodRequests(pods[k]))
		}
		prev := -1.0
		for i, name := range nc.InstanceTypes {
			it := types[name]
			price := cheapestAllowed(it, nc)
			if price < 0 {
				t.Fatalf("%s option %s has no offering in zones %v / %v", what, name, nc.Zones, nc.CapacityTypes)
			}
			if price < prev {
				t.Errorf("%s options not cheapest first: %s at %v after %v", what, name, price, prev)
			}
			if i == 0 && price != nc.PricePerHour {
				t.Errorf("%s PricePerHour %v, but %s's cheapest allowed offering is %v", what, nc.PricePerHour, name, price)
			}
			prev = price
			for _, o := range it.Offerings {
				if !o.Available || !slices.Contains(nc.Zones, o.Zone) || !slices.Contains(nc.CapacityTypes, o.CapacityType) {
					continue
				}
				node := claimNode(nc, it, o, "new")
				where := fmt.Sprintf("%s as %s %s in %s", what, name, o.CapacityType, o.Zone)
				for _, k := range nc.Pods {
					assertPodMayRunOn(t, pods[k], node, where)
				}
				need := requests
				for _, d := range daemonsLandingOn(in.DaemonSetPods, node) {
					need = sum(need, schedulerengine.PodRequests(d))
				}
				assertWithin(t, where, need, it.Allocatable)
			}
		}
	}
}

// claimNode is the node a claim becomes if launched as one type and offering, labelled as
// Karpenter and the kubelet label it (GA and beta keys).
func claimNode(nc schedulerengine.NodeClaim, it schedulerengine.InstanceType, o schedulerengine.Offering, name string) *corev1.Node {
	labels := map[string]string{}
	for k, v := range it.Labels {
		labels[k] = v
	}
	for k, v := range nc.Labels {
		labels[k] = v
	}
	labels[v1.LabelZone], labels[v1.LabelCapacityType] = o.Zone, o.CapacityType
	if pinned, ok := nc.Labels[v1.LabelZone]; ok && pinned != o.Zone {
		labels[v1.LabelZone] = "conflict:" + pinned + "/" + o.Zone
	}
	labels[v1.LabelHostname] = name
	labels[v1.LabelNodePool] = nc.NodePool
	for beta, ga := range map[string]string{"beta.kubernetes.io/arch": v1.LabelArch, "beta.kubernetes.io/os": v1.LabelOS,
		"beta.kubernetes.io/instance-type": v1.LabelInstanceType, "failure-domain.beta.kubernetes.io/zone": v1.LabelZone,
		"failure-domain.beta.kubernetes.io/region": v1.LabelRegion} {
		if v, ok := labels[ga]; ok {
			labels[beta] = v
		}
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: nc.Taints},
		Status:     corev1.NodeStatus{Allocatable: it.Allocatable.DeepCopy(), Capacity: it.Capacity.DeepCopy()},
	}
}

// daemonsLandingOn are the daemonset pods the DaemonSet controller would run on node.
func daemonsLandingOn(daemons []*corev1.Pod, node *corev1.Node) []*corev1.Pod {
	var out []*corev1.Pod
	for _, d := range daemons {
		if ok, err := nodeaffinity.GetRequiredNodeAffinity(d).Match(node); err != nil || !ok {
			continue
		}
		if _, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logr.Discard(), node.Spec.Taints, d.Spec.Tolerations, blocking, true); untolerated {
			continue
		}
		out = append(out, d)
	}
	return out
}

func blocking(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}

func cheapestAllowed(it schedulerengine.InstanceType, nc schedulerengine.NodeClaim) float64 {
	best := -1.0
	for _, o := range it.Offerings {
		if o.Available && slices.Contains(nc.Zones, o.Zone) && slices.Contains(nc.CapacityTypes, o.CapacityType) && (best < 0 || o.PricePerHour < best) {
			best = o.PricePerHour
		}
	}
	return best
}

// cheapestOffering is the offering a claim launches as with its first type.
func cheapestOffering(it schedulerengine.InstanceType, nc schedulerengine.NodeClaim) schedulerengine.Offering {
	var best schedulerengine.Offering
	found := false
	for _, o := range it.Offerings {
		if o.Available && slices.Contains(nc.Zones, o.Zone) && slices.Contains(nc.CapacityTypes, o.CapacityType) && (!found || o.PricePerHour < best.PricePerHour) {
			best, found = o, true
		}
	}
	return best
}

func assertPodMayRunOn(t *testing.T, p *corev1.Pod, node *corev1.Node, where string) {
	t.Helper()
	ok, err := nodeaffinity.GetRequiredNodeAffinity(p).Match(node)
	if err != nil || !ok {
		t.Errorf("pod %s placed on %s whose labels %v do not satisfy its node selector/affinity (err %v)", schedulerengine.PodKey(p), where, node.Labels, err)
	}
	if taint, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logr.Discard(), node.Spec.Taints, p.Spec.Tolerations, blocking, true); untolerated {
		t.Errorf("pod %s placed on %s with untolerated taint %v", schedulerengine.PodKey(p), where, taint)
	}
}

// checkBindsUnderKubeScheduler launches each claim as its cheapest option, runs the daemon
// pods that would land there, then binds the plan's pods one by one in the plan's order;
// the scheduler's filter plugins must accept each on its planned node.
func checkBindsUnderKubeScheduler(t *testing.T, in schedulerengine.Input, plan schedulerengine.Plan) {
	t.Helper()
	types := map[string]schedulerengine.InstanceType{}
	for _, it := range in.InstanceTypes {
		types[it.Name] = it
	}
	var nodes []*corev1.Node
	var bound []*corev1.Pod
	for _, n := range in.ExistingNodes {
		allocatable := n.Available.DeepCopy()
		for _, p := range n.Pods {
			allocatable = sum(allocatable, schedulerengine.PodRequests(p))
			bound = append(bound, p)
		}
		labels := map[string]string{v1.LabelHostname: n.Name}
		for k, v := range n.Labels {
			labels[k] = v
		}
		nodes = append(nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels}, Spec: corev1.NodeSpec{Taints: n.Taints},
			Status: corev1.NodeStatus{Allocatable: allocatable}})
	}
	target := map[string]string{}
	for key, node := range plan.Existing {
		target[key] = node
	}
	for i, nc := range plan.NewNodes {
		it := types[nc.InstanceTypes[0]]
		node := claimNode(nc, it, cheapestOffering(it, nc), fmt.Sprintf("claim-%d", i))
		nodes = append(nodes, node)
		for _, d := range daemonsLandingOn(in.DaemonSetPods, node) {
			copied := d.DeepCopy()
			copied.Name, copied.Spec.NodeName = d.Name+"-"+node.Name, node.Name
			bound = append(bound, copied)
		}
		for _, key := range nc.Pods {
			target[key] = node.Name
		}
	}
	filters := newKubeFilters(t, in.NamespaceLabels)
	pods := podsByKey(in)
	var waiting []*corev1.Pod
	for _, key := range plan.Order {
		waiting = append(waiting, pods[key])
	}
	if len(waiting) != len(target) {
		t.Errorf("plan orders %d pods but places %d", len(waiting), len(target))
	}
	for _, p := range waiting {
		node := target[schedulerengine.PodKey(p)]
		if err := filters.check(p, node, bound, nodes); err != nil {
			t.Errorf("pod %s planned on %s, but the kube-scheduler would not bind it there after the pods placed before it: %v", schedulerengine.PodKey(p), node, err)
			continue
		}
		copied := p.DeepCopy()
		copied.Spec.NodeName = node
		bound = append(bound, copied)
	}
}

func checkPoolLimits(t *testing.T, in schedulerengine.Input, plan schedulerengine.Plan) {
	t.Helper()
	types := map[string]schedulerengine.InstanceType{}
	for _, it := range in.InstanceTypes {
		types[it.Name] = it
	}
	for _, pool := range in.NodePools {
		if len(pool.Spec.Limits) == 0 {
			continue
		}
		var used corev1.ResourceList
		for _, n := range in.ExistingNodes {
			if n.Labels[v1.LabelNodePool] == pool.Name {
				used = sum(used, types[n.Labels[v1.LabelInstanceType]].Capacity)
			}
		}
		for _, nc := range plan.NewNodes {
			if nc.NodePool == pool.Name {
				used = sum(used, types[nc.InstanceTypes[0]].Capacity)
			}
		}
		limits := pool.Spec.Limits.DeepCopy()
		for name := range used {
			if _, limited := limits[name]; !limited {
				delete(used, name)
			}
		}
		assertWithin(t, "NodePool "+pool.Name+" limits", used, limits)
	}
}

func sum(a, b corev1.ResourceList) corev1.ResourceList {
	out := a.DeepCopy()
	if out == nil {
		out = corev1.ResourceList{}
	}
	for name, q := range b {
		total := out[name]
		total.Add(q)
		out[name] = total
	}
	return out
}

func assertWithin(t *testing.T, what string, need, have corev1.ResourceList) {
	t.Helper()
	for name, q := range need {
		if q.IsZero() {
			continue
		}
		h, ok := have[name]
		if !ok || q.Cmp(h) > 0 {
			t.Errorf("%s: %s needs %s but has %s", what, name, q.String(), h.String())
		}
	}
}
