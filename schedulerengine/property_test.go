package schedulerengine_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
