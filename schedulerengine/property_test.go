package schedulerengine_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// The property test solves random workloads on the real catalog and checks every placement
// with Kubernetes' own node-affinity and toleration code, so a bug in the engine's own
// requirement logic cannot hide itself.

func TestSolvePlacementsAreAlwaysSafe(t *testing.T) {
	types := realInstanceTypes(t)
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 2024))
			in := randomInput(r, types)
			plan, err := schedulerengine.Solve(in)
			if err != nil {
				t.Fatalf("Solve: %v", err)
			}
			checkEveryPodAccountedOnce(t, in, plan)
			checkExistingNodePlacements(t, in, plan)
			checkClaims(t, in, plan)
			checkPoolLimits(t, in, plan)
			if len(plan.NewNodes) == 0 {
				t.Fatal("random workload produced no new nodes; the generator is not exercising Solve")
			}
		})
	}
}

func randomInput(r *rand.Rand, types []schedulerengine.InstanceType) schedulerengine.Input {
	general := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "general"}}
	general.Spec.Weight = ptr(int32(10))
	general.Spec.Template.Spec.Requirements = []v1.NodeSelectorRequirementWithMinValues{
		{Key: catalog.LabelInstanceCategory, Operator: corev1.NodeSelectorOpIn, Values: []string{"c", "m", "r"}},
		{Key: catalog.LabelInstanceGeneration, Operator: corev1.NodeSelectorOpGt, Values: []string{"4"}},
	}
	general.Spec.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("400")}
	ml := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "ml"}}
	ml.Spec.Weight = ptr(int32(50)) // tried first, so only its taint keeps most pods off it
	ml.Spec.Template.ObjectMeta.Labels = map[string]string{"team": "ml"}
	ml.Spec.Template.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "ml", Effect: corev1.TaintEffectNoSchedule}}
	spot := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "spot"}}
	spot.Spec.Template.Spec.Requirements = []v1.NodeSelectorRequirementWithMinValues{
		{Key: v1.LabelCapacityType, Operator: corev1.NodeSelectorOpIn, Values: []string{v1.CapacityTypeSpot}},
		{Key: v1.LabelArch, Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}},
	}

	in := schedulerengine.Input{NodePools: []v1.NodePool{general, ml, spot}, InstanceTypes: types}
	for i := range 3 {
		in.ExistingNodes = append(in.ExistingNodes, schedulerengine.ExistingNode{
			Name:   fmt.Sprintf("node-%d", i),
			Labels: map[string]string{v1.LabelArch: []string{"amd64", "arm64"}[i%2], v1.LabelZone: realZones()[i], v1.LabelNodePool: "general", v1.LabelInstanceType: "m5.2xlarge"},
			Available: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse(fmt.Sprint(r.IntN(4) + 1)),
				corev1.ResourceMemory: resource.MustParse("8Gi"),
				corev1.ResourcePods:   resource.MustParse("20"),
			},
		})
	}
	for i := range 150 + r.IntN(150) {
		in.Pods = append(in.Pods, randomPod(r, i))
	}
	return in
}

func randomPod(r *rand.Rand, i int) *corev1.Pod {
	cpus := []string{"100m", "250m", "500m", "1", "2", "4", "8", "30"}
	mems := []string{"128Mi", "512Mi", "1Gi", "4Gi", "16Gi", "100Gi"}
	p := simplePod("ns", fmt.Sprintf("pod-%03d", i), cpus[r.IntN(len(cpus))], mems[r.IntN(len(mems))])
	if r.IntN(10) == 0 {
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpus[r.IntN(len(cpus))])}}}}
	}
	selectors := []func(){
		func() {},
		func() { p.Spec.NodeSelector = map[string]string{v1.LabelArch: []string{"amd64", "arm64"}[r.IntN(2)]} },
		func() { p.Spec.NodeSelector = map[string]string{v1.LabelZone: realZones()[r.IntN(3)]} },
		func() { p.Spec.NodeSelector = map[string]string{v1.LabelCapacityType: v1.CapacityTypeOnDemand} },
		func() {
			p.Spec.NodeSelector = map[string]string{"team": "ml"}
			p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "ml", Effect: corev1.TaintEffectNoSchedule}}
		},
		func() {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		},
		func() {
			p.Spec.Affinity = requiredAffinity(
				corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
					{Key: catalog.LabelInstanceFamily, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"c5", "m5", "c6g"}},
					{Key: catalog.LabelInstanceCPU, Operator: corev1.NodeSelectorOpLt, Values: []string{"33"}},
				}},
			)
		},
		func() {
			p.Spec.Affinity = requiredAffinity(
				corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: v1.LabelZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"us-east-1z"}}}},
				corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
					{Key: catalog.LabelInstanceGPUCount, Operator: corev1.NodeSelectorOpDoesNotExist},
					{Key: catalog.LabelInstanceGeneration, Operator: corev1.NodeSelectorOpGt, Values: []string{"6"}},
				}},
			)
		},
		func() { p.Spec.NodeSelector = map[string]string{v1.LabelArch: "s390x"} },
	}
	selectors[r.IntN(len(selectors))]()
	return p
}

func requiredAffinity(terms ...corev1.NodeSelectorTerm) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
	}}
}

func ptr[T any](v T) *T { return &v }

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
			assertWithin(t, what+" on "+name, requests, it.Allocatable)
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
				if !slices.Contains(nc.Zones, o.Zone) || !slices.Contains(nc.CapacityTypes, o.CapacityType) {
					continue
				}
				node := claimNode(nc, it, o)
				for _, k := range nc.Pods {
					assertPodMayRunOn(t, pods[k], node, fmt.Sprintf("%s as %s %s in %s", what, name, o.CapacityType, o.Zone))
				}
			}
		}
	}
}

// claimNode is the node a claim becomes if launched as one type and offering.
func claimNode(nc schedulerengine.NodeClaim, it schedulerengine.InstanceType, o schedulerengine.Offering) *corev1.Node {
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
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "new", Labels: labels}, Spec: corev1.NodeSpec{Taints: nc.Taints}}
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

func assertPodMayRunOn(t *testing.T, p *corev1.Pod, node *corev1.Node, where string) {
	t.Helper()
	ok, err := nodeaffinity.GetRequiredNodeAffinity(p).Match(node)
	if err != nil || !ok {
		t.Errorf("pod %s placed on %s whose labels %v do not satisfy its node selector/affinity (err %v)", schedulerengine.PodKey(p), where, node.Labels, err)
	}
	blocking := func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}
	if taint, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logr.Discard(), node.Spec.Taints, p.Spec.Tolerations, blocking, true); untolerated {
		t.Errorf("pod %s placed on %s with untolerated taint %v", schedulerengine.PodKey(p), where, taint)
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
