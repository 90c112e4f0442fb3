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

// The property test solves random workloads on the real catalog and checks the plan with
// Kubernetes' own code: node affinity and tolerations for every instance-type option of
// every claim, and the kube-scheduler's filter plugins (resources, node ports, inter-pod
// affinity and anti-affinity, topology spread) for binding each pod on the node its claim
// launches as, so a bug in the engine's own logic cannot hide itself.

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
			checkBindsUnderKubeScheduler(t, in, plan)
			if len(plan.NewNodes) == 0 || len(plan.Unschedulable) > len(in.Pods)/2 {
				t.Fatalf("%d new nodes and %d of %d pods unschedulable; the generator is not exercising Solve",
					len(plan.NewNodes), len(plan.Unschedulable), len(in.Pods))
			}
		})
	}
}

var propertyNamespaces = map[string]map[string]string{"ns": {"team": "a"}, "other": {"team": "b"}}

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

	in := schedulerengine.Input{NodePools: []v1.NodePool{general, ml, spot}, InstanceTypes: types, NamespaceLabels: propertyNamespaces}
	for i := range 3 {
		name := fmt.Sprintf("node-%d", i)
		arch, zone := []string{"amd64", "arm64"}[i%2], realZones()[i]
		n := schedulerengine.ExistingNode{
			Name: name,
			// As the kubelet and cloud provider label nodes: GA and beta keys.
			Labels: map[string]string{v1.LabelArch: arch, "beta.kubernetes.io/arch": arch, v1.LabelZone: zone, "failure-domain.beta.kubernetes.io/zone": zone,
				v1.LabelNodePool: "general", v1.LabelInstanceType: "m5.2xlarge", v1.LabelHostname: name},
			Available: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse(fmt.Sprint(r.IntN(4) + 1)),
				corev1.ResourceMemory: resource.MustParse("8Gi"),
				corev1.ResourcePods:   resource.MustParse("20"),
			},
		}
		for j := range 1 + r.IntN(3) {
			n.Pods = append(n.Pods, runningPod(r, fmt.Sprintf("running-%d-%d", i, j), name))
		}
		in.ExistingNodes = append(in.ExistingNodes, n)
	}
	in.DaemonSetPods = daemonSetPods()
	for i := range 150 + r.IntN(150) {
		in.Pods = append(in.Pods, randomPod(r, i))
	}
	return in
}

func group(r *rand.Rand) string { return fmt.Sprintf("g%d", r.IntN(5)) }

// runningPod is a pod already bound to an existing node: it counts for spreads and
// affinities, may repel others with anti-affinity, and may hold a host port.
func runningPod(r *rand.Rand, name, node string) *corev1.Pod {
	p := simplePod("ns", name, "100m", "128Mi")
	p.Spec.NodeName = node
	p.Labels = map[string]string{"app": group(r)}
	switch r.IntN(4) {
	case 0:
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
			{TopologyKey: v1.LabelHostname, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": group(r)}}},
		}}}
	case 1:
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9100, HostPort: 9100}}
	}
	return p
}

// daemonSetPods: one on every node, one on arm64 nodes only (binding host port 9100, which
// random pods also ask for), one on the ml pool only.
func daemonSetPods() []*corev1.Pod {
	all := simplePod("kube-system", "ds-all", "100m", "64Mi")
	all.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	arm := simplePod("kube-system", "ds-arm", "200m", "128Mi")
	arm.Spec.NodeSelector = map[string]string{v1.LabelArch: "arm64"}
	arm.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9100, HostPort: 9100}}
	mlOnly := simplePod("kube-system", "ds-ml", "300m", "256Mi")
	mlOnly.Spec.NodeSelector = map[string]string{"team": "ml"}
	mlOnly.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "ml", Effect: corev1.TaintEffectNoSchedule}}
	for _, p := range []*corev1.Pod{all, arm, mlOnly} {
		p.Labels = map[string]string{"app": "daemon"}
	}
	return []*corev1.Pod{all, arm, mlOnly}
}

func randomPod(r *rand.Rand, i int) *corev1.Pod {
	cpus := []string{"100m", "250m", "500m", "1", "2", "4", "8", "30"}
	mems := []string{"128Mi", "512Mi", "1Gi", "4Gi", "16Gi", "100Gi"}
	ns := "ns"
	if r.IntN(5) == 0 {
		ns = "other"
	}
	p := simplePod(ns, fmt.Sprintf("pod-%03d", i), cpus[r.IntN(len(cpus))], mems[r.IntN(len(mems))])
	p.Labels = map[string]string{"app": group(r)}
	if r.IntN(10) == 0 {
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpus[r.IntN(len(cpus))])}}}}
	}
	randomNodeConstraint(r, p)
	randomPodTopology(r, p)
	return p
}

func randomNodeConstraint(r *rand.Rand, p *corev1.Pod) {
	selectors := []func(){
		func() {},
		func() {},
		func() { p.Spec.NodeSelector = map[string]string{v1.LabelArch: []string{"amd64", "arm64"}[r.IntN(2)]} },
		func() { p.Spec.NodeSelector = map[string]string{v1.LabelZone: realZones()[r.IntN(3)]} },
		func() {
			p.Spec.NodeSelector = map[string]string{"failure-domain.beta.kubernetes.io/zone": realZones()[r.IntN(3)]}
		},
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
}

// randomPodTopology gives some pods spreads, affinities, anti-affinities, host ports and
// preferences, each independently.
func randomPodTopology(r *rand.Rand, p *corev1.Pod) {
	chance := func(percent int) bool { return r.IntN(100) < percent }
	affinity := func() *corev1.Affinity {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &corev1.Affinity{}
		}
		return p.Spec.Affinity
	}
	term := func(key string, kv ...string) corev1.PodAffinityTerm {
		return corev1.PodAffinityTerm{TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{kv[0]: kv[1]}}}
	}
	if chance(12) {
		sc := corev1.TopologySpreadConstraint{MaxSkew: int32(1 + r.IntN(2)), TopologyKey: v1.LabelZone, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": p.Labels["app"]}}}
		switch r.IntN(6) {
		case 0:
			sc.MinDomains = ptr(int32(2 + r.IntN(3)))
		case 1:
			sc.NodeTaintsPolicy = ptr(corev1.NodeInclusionPolicyHonor)
		case 2:
			sc.NodeAffinityPolicy = ptr(corev1.NodeInclusionPolicyIgnore)
		case 3:
			sc.MatchLabelKeys = []string{"app"}
			sc.LabelSelector = &metav1.LabelSelector{}
		case 4:
			sc.WhenUnsatisfiable = corev1.ScheduleAnyway
		}
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, sc)
	}
	if chance(10) {
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew: int32(1 + r.IntN(2)), TopologyKey: v1.LabelHostname, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": group(r)}}})
	}
	if chance(5) {
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew: 1, TopologyKey: v1.LabelCapacityType, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": p.Labels["app"]}}})
	}
	if chance(8) {
		a := affinity()
		a.PodAntiAffinity = &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(v1.LabelHostname, "app", p.Labels["app"])}}
	} else if chance(4) {
		p.Labels["solo"] = "yes"
		a := affinity()
		a.PodAntiAffinity = &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(v1.LabelZone, "solo", "yes")}}
	} else if chance(3) {
		t := term(v1.LabelHostname, "app", group(r))
		t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "b"}}
		a := affinity()
		a.PodAntiAffinity = &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{t}}
	} else if chance(5) {
		a := affinity()
		a.PodAntiAffinity = &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{
			{Weight: 10, PodAffinityTerm: term(v1.LabelHostname, "app", p.Labels["app"])}}}
	}
	if chance(8) {
		a := affinity()
		a.PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(v1.LabelHostname, "app", group(r))}}
	} else if chance(6) {
		aff := fmt.Sprintf("z%d", r.IntN(3))
		p.Labels["aff"] = aff
		a := affinity()
		a.PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(v1.LabelZone, "aff", aff)}}
	} else if chance(5) {
		// Two terms, which the kube-scheduler wants one pod to meet together.
		a := affinity()
		a.PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
			term(v1.LabelZone, "app", group(r)), term(v1.LabelHostname, "aff", fmt.Sprintf("z%d", r.IntN(3)))}}
	}
	if chance(5) {
		port := []int32{8080, 9100}[r.IntN(2)]
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: port, HostPort: port}}
	}
	if chance(5) {
		a := affinity()
		if a.NodeAffinity == nil {
			a.NodeAffinity = &corev1.NodeAffinity{}
		}
		a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = []corev1.PreferredSchedulingTerm{{Weight: 20,
			Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: v1.LabelArch, Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}}}}}}
	}
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
