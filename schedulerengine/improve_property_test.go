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

// TestImprovedPlansAreAlwaysSafe is the property test for the improvement passes: random
// workloads in unlimited NodePools, where most pods can move (plain pods, pods held to a
// zone by spread or affinity) next to pods that cannot (hostname anti-affinity and spread),
// checked with the kube-scheduler's own filters as in TestSolvePlacementsAreAlwaysSafe.
// It fails if the passes rarely change the plan, since then it checks nothing of theirs.
func TestImprovedPlansAreAlwaysSafe(t *testing.T) {
	types := realInstanceTypes(t)
	const seeds = 16
	improved := 0
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			in := movableInput(rand.New(rand.NewPCG(seed, 77)), types)
			plan, err := schedulerengine.Solve(in)
			if err != nil {
				t.Fatalf("Solve: %v", err)
			}
			base, err := schedulerengine.SolveWithoutImproving(in)
			if err != nil {
				t.Fatalf("Solve without improving: %v", err)
			}
			checkEveryPodAccountedOnce(t, in, plan)
			checkExistingNodePlacements(t, in, plan)
			checkClaims(t, in, plan)
			checkBindsUnderKubeScheduler(t, in, plan)
			if len(plan.Unschedulable) != len(base.Unschedulable) {
				t.Errorf("%d pods unschedulable after improving, %d before", len(plan.Unschedulable), len(base.Unschedulable))
			}
			if plan.Cost > base.Cost+1e-9 {
				t.Errorf("improving raised the cost from %.4f to %.4f", base.Cost, plan.Cost)
			}
			if plan.Cost < base.Cost-1e-9 {
				improved++
			}
		})
	}
	if improved < seeds/2 {
		t.Fatalf("the improvement passes lowered the cost in %d of %d workloads; the generator is not exercising them", improved, seeds)
	}
}

// movableInput is two unlimited NodePools, an existing node, and 150 to 300 pods of the
// kinds the improvement passes treat differently.
func movableInput(r *rand.Rand, types []schedulerengine.InstanceType) schedulerengine.Input {
	general := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "general"}}
	general.Spec.Weight = ptr(int32(10))
	general.Spec.Template.Spec.Requirements = []v1.NodeSelectorRequirementWithMinValues{
		{Key: catalog.LabelInstanceCategory, Operator: corev1.NodeSelectorOpIn, Values: []string{"c", "m", "r"}},
		{Key: catalog.LabelInstanceGeneration, Operator: corev1.NodeSelectorOpGt, Values: []string{"4"}},
	}
	spot := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "spot"}}
	spot.Spec.Template.Spec.Requirements = []v1.NodeSelectorRequirementWithMinValues{
		{Key: v1.LabelCapacityType, Operator: corev1.NodeSelectorOpIn, Values: []string{v1.CapacityTypeSpot}},
		{Key: v1.LabelArch, Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}},
	}
	in := schedulerengine.Input{NodePools: []v1.NodePool{general, spot}, InstanceTypes: types, NamespaceLabels: propertyNamespaces}
	zone := realZones()[0]
	existing := schedulerengine.ExistingNode{
		Name: "node-0",
		Labels: map[string]string{v1.LabelArch: "amd64", v1.LabelZone: zone, v1.LabelNodePool: "general",
			v1.LabelInstanceType: "m5.2xlarge", v1.LabelHostname: "node-0"},
		Available: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("20")},
	}
	for j := range 2 {
		p := simplePod("ns", fmt.Sprintf("running-%d", j), "100m", "128Mi")
		p.Spec.NodeName = existing.Name
		p.Labels = map[string]string{"app": group(r), "aff": fmt.Sprintf("z%d", r.IntN(3))}
		existing.Pods = append(existing.Pods, p)
	}
	in.ExistingNodes = []schedulerengine.ExistingNode{existing}
	in.DaemonSetPods = daemonSetPods()
	for i := range 150 + r.IntN(150) {
		in.Pods = append(in.Pods, movablePod(r, i))
	}
	return in
}

func movablePod(r *rand.Rand, i int) *corev1.Pod {
	cpus := []string{"100m", "250m", "500m", "1", "2"}
	mems := []string{"128Mi", "512Mi", "1Gi", "2Gi", "4Gi", "8Gi"}
	p := simplePod("ns", fmt.Sprintf("pod-%03d", i), cpus[r.IntN(len(cpus))], mems[r.IntN(len(mems))])
	p.Labels = map[string]string{}
	selector := func(kv ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{kv[0]: kv[1]}}
	}
	switch r.IntN(11) {
	case 0, 1: // plain
	case 2: // plain, held to a node label
		p.Spec.NodeSelector = [](map[string]string){
			{v1.LabelArch: "arm64"}, {v1.LabelZone: realZones()[r.IntN(3)]}, {v1.LabelCapacityType: v1.CapacityTypeOnDemand},
		}[r.IntN(3)]
	case 3: // zonal spread; with a nodeSelector it counts only matching nodes (Honor)
		p.Labels["app"] = group(r)
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: v1.LabelZone,
			WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: selector("app", p.Labels["app"])}}
		if r.IntN(3) == 0 {
			p.Spec.NodeSelector = map[string]string{v1.LabelArch: "amd64"}
		}
	case 4, 5: // zonal self-affinity
		p.Labels["aff"] = fmt.Sprintf("z%d", r.IntN(3))
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
			{TopologyKey: v1.LabelZone, LabelSelector: selector("aff", p.Labels["aff"])}}}}
	case 6: // zonal anti-affinity to a few
		p.Labels["solo"] = fmt.Sprint(r.IntN(2))
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
			{TopologyKey: v1.LabelZone, LabelSelector: selector("solo", "x"+p.Labels["solo"])}}}}
	case 7, 8: // a node of its own
		p.Labels["web"] = "yes"
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
			{TopologyKey: v1.LabelHostname, LabelSelector: selector("web", "yes")}}}}
	case 9, 10: // hostname spread; with a host port (one the arm64 daemonset binds too), an owner that stays where it is
		p.Labels["spread"] = group(r)
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: int32(1 + r.IntN(2)), TopologyKey: v1.LabelHostname,
			WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: selector("spread", group(r))}}
		if r.IntN(3) == 0 {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9100, HostPort: 9100}}
		}
	}
	return p
}
