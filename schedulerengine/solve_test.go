package schedulerengine

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func TestSolveSizesPodsByTheirRequests(t *testing.T) {
	runSolveCases(t, []solveCase{
		{name: "a pod gets the cheapest type that holds it", pods: []*corev1.Pod{pod(withCPU("3"))}, want: outcome{instanceType: "large.amd"}},
		{name: "a pod larger than every type names the largest", pods: []*corev1.Pod{pod(withCPU("200"))},
			want: outcome{unschedulable: `no instance type in NodePool "default" has cpu >= 200 (largest allows 8)`}},
		{name: "memory counts as well as cpu", pods: []*corev1.Pod{pod(withCPU("1"), withMemory("8Gi"))}, want: outcome{instanceType: "large.amd"}},
		{name: "memory beyond every type is named in Gi", pods: []*corev1.Pod{pod(withMemory("64Gi"))},
			want: outcome{unschedulable: `has memory >= 64Gi (largest allows 32Gi)`}},
		{name: "an init container larger than the containers sizes the pod", pods: []*corev1.Pod{pod(withCPU("1"), withInitContainer("6"))}, want: outcome{instanceType: "large.amd"}},
		{name: "an init container larger than every type makes the pod unschedulable", pods: []*corev1.Pod{pod(withCPU("1"), withInitContainer("20"))},
			want: outcome{unschedulable: "has cpu >= 20"}},
		{name: "sidecars add to the containers", pods: []*corev1.Pod{pod(withCPU("1500m"), withSidecar("1"))}, want: outcome{instanceType: "large.amd"}},
		{name: "a small pod with a small sidecar stays on a small type", pods: []*corev1.Pod{pod(withCPU("1"), withSidecar("500m"))}, want: outcome{instanceType: "small.arm"}},
		{name: "pod overhead is added", pods: []*corev1.Pod{pod(withCPU("1500m"), withOverhead("1"))}, want: outcome{instanceType: "large.amd"}},
		{name: "an extended resource picks the type that has it", pods: []*corev1.Pod{pod(withCPU("1"), withRequest(nvidiaGPU, "1"))}, want: outcome{instanceType: "gpu.amd"}},
		{name: "more of an extended resource than any type has", pods: []*corev1.Pod{pod(withRequest(nvidiaGPU, "2"))},
			want: outcome{unschedulable: "has nvidia.com/gpu >= 2 (largest allows 1)"}},
	})
}

func TestSolveSizesNodesByTheirPoolsAllocatable(t *testing.T) {
	// small.arm is the cheapest type, with 2 cpu and 4Gi; small.amd the next, the same size.
	armWith := func(memory string) map[string]corev1.ResourceList {
		return map[string]corev1.ResourceList{"small.arm": {
			corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse(memory), corev1.ResourcePods: resource.MustParse("10"),
		}}
	}
	runSolveCases(t, []solveCase{
		{name: "a type keeps its own allocatable where nothing sizes it", pods: []*corev1.Pod{pod(withCPU("1"), withMemory("3Gi"))},
			want: outcome{instanceType: "small.arm"}},
		{name: "the pool's smaller figure for a type turns a pod away from it", pods: []*corev1.Pod{pod(withCPU("1"), withMemory("3Gi"))},
			sized: map[string]map[string]corev1.ResourceList{"default": armWith("2Gi")}, want: outcome{instanceType: "small.amd"}},
		{name: "the pool's larger figure for a type lets it take a pod", pods: []*corev1.Pod{pod(withCPU("1"), withMemory("6Gi"))},
			sized: map[string]map[string]corev1.ResourceList{"default": armWith("8Gi")}, want: outcome{instanceType: "small.arm"}},
		{name: "another pool's figures leave this pool's types as they are", pods: []*corev1.Pod{pod(withCPU("1"), withMemory("3Gi"))},
			sized: map[string]map[string]corev1.ResourceList{"other": armWith("2Gi")}, want: outcome{instanceType: "small.arm"}},
		{name: "daemonsets take their share of the pool's figure", pods: []*corev1.Pod{pod(withCPU("1"), withMemory("2560Mi"))},
			daemons: []*corev1.Pod{pod(withName("logger"), withMemory("1Gi"))},
			sized:   map[string]map[string]corev1.ResourceList{"default": armWith("3Gi")}, want: outcome{instanceType: "small.amd"}},
	})
}

func TestSolveHonoursNodeSelectorsAndAffinity(t *testing.T) {
	runSolveCases(t, []solveCase{
		{name: "a nodeSelector on arch picks a type of that arch", pods: []*corev1.Pod{pod(withCPU("1"), withSelector(v1.LabelArch, "amd64"))}, want: outcome{instanceType: "small.amd"}},
		{name: "a nodeSelector no type matches says so", pods: []*corev1.Pod{pod(withSelector(v1.LabelArch, "s390x"))},
			want: outcome{unschedulable: "nodeSelector kubernetes.io/arch=s390x matches no instance type in any NodePool"}},
		{name: "In picks among the listed types", pods: []*corev1.Pod{pod(withAffinity(expr(v1.LabelInstanceType, corev1.NodeSelectorOpIn, "large.amd", "small.amd")))}, want: outcome{instanceType: "small.amd"}},
		{name: "In with only unknown types is unschedulable", pods: []*corev1.Pod{pod(withAffinity(expr(v1.LabelInstanceType, corev1.NodeSelectorOpIn, "huge.amd")))},
			want: outcome{unschedulable: "node affinity node.kubernetes.io/instance-type In [huge.amd] matches no instance type in any NodePool"}},
		{name: "NotIn skips the excluded type", pods: []*corev1.Pod{pod(withCPU("1"), withAffinity(expr(v1.LabelInstanceType, corev1.NodeSelectorOpNotIn, "small.arm")))}, want: outcome{instanceType: "small.amd"}},
		{name: "NotIn of every type is unschedulable", pods: []*corev1.Pod{pod(withAffinity(expr(v1.LabelArch, corev1.NodeSelectorOpNotIn, "amd64", "arm64")))},
			want: outcome{unschedulable: "matches no instance type"}},
		{name: "Exists picks a type with the label", pods: []*corev1.Pod{pod(withAffinity(expr(gpuLabel, corev1.NodeSelectorOpExists)))}, want: outcome{instanceType: "gpu.amd"}},
		{name: "Exists on a label no pool sets is unschedulable", pods: []*corev1.Pod{pod(withAffinity(expr("team", corev1.NodeSelectorOpExists)))},
			want: outcome{unschedulable: `NodePool "default" does not set label team that node affinity team Exists needs`}},
		{name: "DoesNotExist avoids types with the label", pods: []*corev1.Pod{pod(withCPU("3"), withAffinity(expr(gpuLabel, corev1.NodeSelectorOpDoesNotExist)))}, want: outcome{instanceType: "large.amd"}},
		{name: "DoesNotExist together with a GPU request cannot be met", pods: []*corev1.Pod{pod(withRequest(nvidiaGPU, "1"), withAffinity(expr(gpuLabel, corev1.NodeSelectorOpDoesNotExist)))},
			want: outcome{unschedulable: "has nvidia.com/gpu >= 1 (largest allows 0)"}},
		{name: "Gt compares numerically", pods: []*corev1.Pod{pod(withAffinity(expr(cpuLabel, corev1.NodeSelectorOpGt, "4")))}, want: outcome{instanceType: "large.amd"}},
		{name: "Gt above every type is unschedulable", pods: []*corev1.Pod{pod(withAffinity(expr(cpuLabel, corev1.NodeSelectorOpGt, "100")))},
			want: outcome{unschedulable: "node affinity karpenter.k8s.aws/instance-cpu Gt [100] matches no instance type in any NodePool"}},
		{name: "Lt compares numerically", pods: []*corev1.Pod{pod(withCPU("1"), withSelector(v1.LabelArch, "amd64"), withAffinity(expr(cpuLabel, corev1.NodeSelectorOpLt, "4")))}, want: outcome{instanceType: "small.amd"}},
		{name: "Lt below every type is unschedulable", pods: []*corev1.Pod{pod(withAffinity(expr(cpuLabel, corev1.NodeSelectorOpLt, "1")))},
			want: outcome{unschedulable: "matches no instance type"}},
		{name: "Gt with a word is refused with a reason", pods: []*corev1.Pod{pod(withAffinity(expr(cpuLabel, corev1.NodeSelectorOpGt, "four")))},
			want: outcome{unschedulable: "node affinity cannot be evaluated"}},
		{name: "terms are ORed: an impossible first term falls through to the second",
			pods: []*corev1.Pod{pod(withAffinity(expr(v1.LabelArch, corev1.NodeSelectorOpIn, "s390x")), withAffinity(expr(v1.LabelArch, corev1.NodeSelectorOpIn, "amd64")))},
			want: outcome{instanceType: "small.amd"}},
		{name: "a zone requirement pins the zone label", pods: []*corev1.Pod{pod(withSelector(v1.LabelZone, zoneB))},
			want: outcome{labels: map[string]string{v1.LabelZone: zoneB}, zones: []string{zoneB}}},
		{name: "a zone no type is offered in is unschedulable", pods: []*corev1.Pod{pod(withSelector(v1.LabelZone, "elsewhere-1z"))},
			want: outcome{unschedulable: "nodeSelector topology.kubernetes.io/zone=elsewhere-1z matches no instance type in any NodePool"}},
		{name: "a capacity-type requirement limits offerings", pods: []*corev1.Pod{pod(withSelector(v1.LabelCapacityType, v1.CapacityTypeOnDemand))},
			want: outcome{capacityTypes: []string{v1.CapacityTypeOnDemand}, labels: map[string]string{v1.LabelCapacityType: v1.CapacityTypeOnDemand}}},
		{name: "a nodepool selector picks that pool over a heavier one",
			pods:  []*corev1.Pod{pod(withSelector(v1.LabelNodePool, "b"))},
			pools: []v1.NodePool{nodePool("a", withWeight(50)), nodePool("b")},
			want:  outcome{pool: "b", labels: map[string]string{v1.LabelNodePool: "b"}}},
		{name: "a nodepool selector for a missing pool is unschedulable",
			pods: []*corev1.Pod{pod(withSelector(v1.LabelNodePool, "gone"))},
			want: outcome{unschedulable: `NodePool "default" requires karpenter.sh/nodepool In [default], which conflicts with nodeSelector karpenter.sh/nodepool=gone`}},
	})
}

func TestSolveHonoursTaints(t *testing.T) {
	tainted := []v1.NodePool{nodePool("gpu", withPoolTaint("nvidia.com/gpu", "true", corev1.TaintEffectNoSchedule))}
	runSolveCases(t, []solveCase{
		{name: "a pod tolerating the pool's taint is placed", pods: []*corev1.Pod{pod(withToleration("nvidia.com/gpu", "true", corev1.TaintEffectNoSchedule))}, pools: tainted, want: outcome{pool: "gpu"}},
		{name: "a pod not tolerating any pool's taint is unschedulable", pods: []*corev1.Pod{pod()}, pools: tainted,
			want: outcome{unschedulable: "no NodePool's taints are tolerated"}},
		{name: "a toleration for another value does not help", pods: []*corev1.Pod{pod(withToleration("nvidia.com/gpu", "false", corev1.TaintEffectNoSchedule))}, pools: tainted,
			want: outcome{unschedulable: `NodePool "gpu" has taint nvidia.com/gpu=true:NoSchedule, not tolerated`}},
		{name: "NoExecute blocks as NoSchedule does", pods: []*corev1.Pod{pod()}, pools: []v1.NodePool{nodePool("x", withPoolTaint("dedicated", "x", corev1.TaintEffectNoExecute))},
			want: outcome{unschedulable: "no NodePool's taints are tolerated"}},
		{name: "PreferNoSchedule does not block", pods: []*corev1.Pod{pod()}, pools: []v1.NodePool{nodePool("soft", withPoolTaint("dedicated", "x", corev1.TaintEffectPreferNoSchedule))},
			want: outcome{pool: "soft"}},
		{name: "startupTaints are not scheduling constraints", pods: []*corev1.Pod{pod()},
			pools: []v1.NodePool{nodePool("cni", func(p *v1.NodePool) {
				p.Spec.Template.Spec.StartupTaints = []corev1.Taint{{Key: "node.cilium.io/agent-not-ready", Value: "true", Effect: corev1.TaintEffectNoSchedule}}
			})},
			want: outcome{pool: "cni"}},
		{name: "an untolerated heavier pool is skipped for a lighter one", pods: []*corev1.Pod{pod()},
			pools: []v1.NodePool{nodePool("gpu", withWeight(100), withPoolTaint("nvidia.com/gpu", "true", corev1.TaintEffectNoSchedule)), nodePool("general")},
			want:  outcome{pool: "general"}},
	})
}

func TestSolveTriesPoolsByWeightThenName(t *testing.T) {
	runSolveCases(t, []solveCase{
		{name: "the heavier pool wins", pods: []*corev1.Pod{pod()}, pools: []v1.NodePool{nodePool("a", withWeight(10)), nodePool("b", withWeight(20))}, want: outcome{pool: "b"}},
		{name: "equal weights go by name", pods: []*corev1.Pod{pod()}, pools: []v1.NodePool{nodePool("b"), nodePool("a")}, want: outcome{pool: "a"}},
		{name: "a heavier pool that cannot take the pod falls through", pods: []*corev1.Pod{pod(withSelector(v1.LabelArch, "arm64"))},
			pools: []v1.NodePool{nodePool("amd", withWeight(90), withPoolRequirement(v1.LabelArch, corev1.NodeSelectorOpIn, "amd64")), nodePool("any")},
			want:  outcome{pool: "any", instanceType: "small.arm"}},
		{name: "pool requirements are obeyed", pods: []*corev1.Pod{pod()},
			pools: []v1.NodePool{nodePool("amd", withPoolRequirement(v1.LabelArch, corev1.NodeSelectorOpIn, "amd64"))},
			want:  outcome{instanceType: "small.amd"}},
		{name: "a pool requirement against the pod's selector is explained", pods: []*corev1.Pod{pod(withSelector(v1.LabelArch, "arm64"))},
			pools: []v1.NodePool{nodePool("amd", withPoolRequirement(v1.LabelArch, corev1.NodeSelectorOpIn, "amd64"))},
			want:  outcome{unschedulable: `NodePool "amd" requires kubernetes.io/arch In [amd64], which conflicts with nodeSelector kubernetes.io/arch=arm64`}},
		{name: "a pool's Gt requirement on the instance type is obeyed", pods: []*corev1.Pod{pod()},
			pools: []v1.NodePool{nodePool("big", withPoolRequirement(cpuLabel, v1.NodeSelectorOpGte, "8"), withPoolRequirement(gpuLabel, corev1.NodeSelectorOpDoesNotExist))},
			want:  outcome{instanceType: "large.amd"}},
	})
}

func TestSolveHonoursPoolTemplateLabels(t *testing.T) {
	pools := []v1.NodePool{nodePool("general", withWeight(100)), nodePool("ml", withPoolLabel("team", "ml"))}
	runSolveCases(t, []solveCase{
		{name: "a pod selecting a label only one pool sets goes to that pool", pods: []*corev1.Pod{pod(withSelector("team", "ml"))}, pools: pools,
			want: outcome{pool: "ml", labels: map[string]string{"team": "ml", v1.LabelNodePool: "ml"}}},
		{name: "a pod without the selector takes the heavier pool", pods: []*corev1.Pod{pod()}, pools: pools, want: outcome{pool: "general"}},
		{name: "a pod selecting a value no pool sets is unschedulable", pods: []*corev1.Pod{pod(withSelector("team", "web"))}, pools: pools,
			want: outcome{unschedulable: `NodePool "general" does not set label team that nodeSelector team=web needs; NodePool "ml" requires team In [ml], which conflicts with nodeSelector team=web`}},
		{name: "a pool requirement on a custom label is pinned by the pod", pods: []*corev1.Pod{pod(withSelector("team", "b"))},
			pools: []v1.NodePool{nodePool("teams", withPoolRequirement("team", corev1.NodeSelectorOpIn, "a", "b"))},
			want:  outcome{pool: "teams", labels: map[string]string{"team": "b"}}},
	})
}

func TestSolveNormalisesBetaLabels(t *testing.T) {
	runSolveCases(t, []solveCase{
		{name: "a beta arch selector picks a type of that arch", pods: []*corev1.Pod{pod(withSelector("beta.kubernetes.io/arch", "amd64"))}, want: outcome{instanceType: "small.amd"}},
		{name: "a beta zone affinity pins the zone", pods: []*corev1.Pod{pod(withAffinity(expr("failure-domain.beta.kubernetes.io/zone", corev1.NodeSelectorOpIn, zoneB)))},
			want: outcome{zones: []string{zoneB}, labels: map[string]string{v1.LabelZone: zoneB}}},
		{name: "a beta instance-type selector no type has is explained in the pod's words", pods: []*corev1.Pod{pod(withSelector("beta.kubernetes.io/instance-type", "m9.huge"))},
			want: outcome{unschedulable: "nodeSelector beta.kubernetes.io/instance-type=m9.huge matches no instance type in any NodePool"}},
		{name: "an existing node with only beta labels matches a GA selector", pods: []*corev1.Pod{pod(withSelector(v1.LabelArch, "arm64"))},
			existing: []ExistingNode{existingNode("old", "4", map[string]string{"beta.kubernetes.io/arch": "arm64"})}, want: outcome{node: "old"}},
	})
}

func TestSolveKeepsMinValuesOfInstanceTypes(t *testing.T) {
	flexible := func(n int) []v1.NodePool {
		pool := nodePool("default", withPoolRequirement(v1.LabelInstanceType, corev1.NodeSelectorOpExists))
		pool.Spec.Template.Spec.Requirements[0].MinValues = &n
		return []v1.NodePool{pool}
	}
	runSolveCases(t, []solveCase{
		{name: "a small pod leaves enough types", pods: []*corev1.Pod{pod(withCPU("1"))}, pools: flexible(3), want: outcome{instanceType: "small.arm"}},
		{name: "a pod only two types hold cannot meet minValues 3", pods: []*corev1.Pod{pod(withCPU("3"))}, pools: flexible(3),
			want: outcome{unschedulable: `NodePool "default" requires at least 3 distinct values of node.kubernetes.io/instance-type (minValues), but the instance types that fit offer 2 (gpu.amd, large.amd)`}},
		{name: "a pool whose types cannot meet minValues at all says so", pods: []*corev1.Pod{pod()}, pools: flexible(5),
			want: outcome{unschedulable: "offer 4 (gpu.amd, large.amd, small.amd, small.arm)"}},
	})
}

func TestSolveOpensANewClaimRatherThanBreakMinValues(t *testing.T) {
	n := 3
	pool := nodePool("default", withPoolRequirement(v1.LabelInstanceType, corev1.NodeSelectorOpExists))
	pool.Spec.Template.Spec.Requirements[0].MinValues = &n
	pods := []*corev1.Pod{pod(withName("a"), withCPU("1")), pod(withName("b"), withCPU("1500m"))}
	plan, err := Solve(Input{Pods: pods, NodePools: []v1.NodePool{pool}, InstanceTypes: smallCatalog()})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Unschedulable) > 0 || len(plan.NewNodes) != 2 {
		t.Fatalf("got %d claims and unschedulable %v; want two claims, since one claim of 2.5 cpu keeps only 2 types", len(plan.NewNodes), plan.Unschedulable)
	}
	for _, nc := range plan.NewNodes {
		if len(nc.InstanceTypes) < n {
			t.Errorf("claim for %v keeps %d types %v, want at least %d", nc.Pods, len(nc.InstanceTypes), nc.InstanceTypes, n)
		}
	}
}

func TestSolveSizesNodesForTheirDaemonSets(t *testing.T) {
	daemon := func(opts ...podOption) []*corev1.Pod {
		return []*corev1.Pod{pod(append([]podOption{withName("ds"), withCPU("1")}, opts...)...)}
	}
	tainted := []v1.NodePool{nodePool("default", withPoolTaint("dedicated", "x", corev1.TaintEffectNoSchedule))}
	tolerating := withToleration("dedicated", "x", corev1.TaintEffectNoSchedule)
	runSolveCases(t, []solveCase{
		{name: "a daemonset's requests are added to every new node", pods: []*corev1.Pod{pod(withCPU("1500m"))}, daemons: daemon(),
			want: outcome{instanceType: "large.amd"}},
		{name: "without the daemonset the pod fits the small type", pods: []*corev1.Pod{pod(withCPU("1500m"))},
			want: outcome{instanceType: "small.arm"}},
		{name: "a daemonset not tolerating the pool's taint is not counted", pods: []*corev1.Pod{pod(withCPU("1500m"), tolerating)}, pools: tainted, daemons: daemon(),
			want: outcome{instanceType: "small.arm"}},
		{name: "a daemonset tolerating the pool's taint is counted", pods: []*corev1.Pod{pod(withCPU("1500m"), tolerating)}, pools: tainted, daemons: daemon(tolerating),
			want: outcome{instanceType: "large.amd"}},
		{name: "a daemonset selecting another arch is not counted on this one", pods: []*corev1.Pod{pod(withCPU("1500m"))}, daemons: daemon(withSelector(v1.LabelArch, "amd64")),
			want: outcome{instanceType: "small.arm"}},
		{name: "a daemonset selecting this arch is counted", pods: []*corev1.Pod{pod(withCPU("1500m"), withSelector(v1.LabelArch, "amd64"))}, daemons: daemon(withSelector(v1.LabelArch, "amd64")),
			want: outcome{instanceType: "large.amd"}},
		{name: "a daemonset selecting another pool's label is not counted", pods: []*corev1.Pod{pod(withCPU("1500m"))}, daemons: daemon(withSelector("team", "ml")),
			want: outcome{instanceType: "small.arm"}},
		{name: "a daemonset's required node affinity is honoured", pods: []*corev1.Pod{pod(withCPU("1500m"))},
			daemons: daemon(withAffinity(expr(gpuLabel, corev1.NodeSelectorOpExists))), want: outcome{instanceType: "small.arm"}},
		{name: "a pod that no longer fits beside the daemonsets says so", pods: []*corev1.Pod{pod(withCPU("7500m"), withSelector(v1.LabelArch, "amd64"))}, daemons: daemon(),
			want: outcome{unschedulable: "has cpu >= 7.5 (largest allows 7 after daemonset overhead)"}},
	})
}

func TestSolveUsesExistingNodesFirst(t *testing.T) {
	runSolveCases(t, []solveCase{
		{name: "a pod that fits an existing node goes there", pods: []*corev1.Pod{pod(withCPU("1"))},
			existing: []ExistingNode{existingNode("n2", "4", nil), existingNode("n1", "4", nil)}, want: outcome{node: "n1"}},
		{name: "a full node is passed over", pods: []*corev1.Pod{pod(withCPU("2"))},
			existing: []ExistingNode{existingNode("n1", "1", nil)}, want: outcome{instanceType: "small.arm"}},
		{name: "a tainted node is passed over", pods: []*corev1.Pod{pod(withCPU("1"))},
			existing: []ExistingNode{existingNode("n1", "4", nil, corev1.Taint{Key: v1.TaintKeyDisrupted, Effect: corev1.TaintEffectNoSchedule})},
			want:     outcome{instanceType: "small.arm"}},
		{name: "a node whose labels miss the selector is passed over", pods: []*corev1.Pod{pod(withSelector(v1.LabelArch, "amd64"))},
			existing: []ExistingNode{existingNode("n1", "4", map[string]string{v1.LabelArch: "arm64"})}, want: outcome{instanceType: "small.amd"}},
		{name: "a node whose labels match the selector is used", pods: []*corev1.Pod{pod(withSelector(v1.LabelArch, "arm64"))},
			existing: []ExistingNode{existingNode("n1", "4", map[string]string{v1.LabelArch: "arm64"})}, want: outcome{node: "n1"}},
	})
}

func TestSolvePacksPodsOntoTheCheapestTypeThatHoldsThemAll(t *testing.T) {
	var pods []*corev1.Pod
	for _, name := range []string{"a", "b", "c", "d"} {
		pods = append(pods, pod(withName(name), withCPU("1"), withSelector(v1.LabelArch, "amd64")))
	}
	plan, err := Solve(Input{Pods: pods, NodePools: []v1.NodePool{nodePool("default")}, InstanceTypes: smallCatalog()})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.NewNodes) != 1 {
		t.Fatalf("got %d nodes, want the 4 pods on one", len(plan.NewNodes))
	}
	nc := plan.NewNodes[0]
	if nc.InstanceTypes[0] != "large.amd" || nc.PricePerHour != 0.40/3 {
		t.Errorf("node is %s at $%v/h, want large.amd at its spot price", nc.InstanceTypes[0], nc.PricePerHour)
	}
	if slices.Contains(nc.InstanceTypes, "small.amd") {
		t.Errorf("options %v include small.amd, which cannot hold 4 cpu", nc.InstanceTypes)
	}
	if got := nc.Requests[corev1.ResourceCPU]; got.Cmp(resource.MustParse("4")) != 0 {
		t.Errorf("claim requests cpu %s, want 4", got.String())
	}
	if got := nc.Requests[corev1.ResourcePods]; got.Value() != 4 {
		t.Errorf("claim requests %d pod slots, want 4", got.Value())
	}
}

func TestSolveKeepsTypesInPriceOrder(t *testing.T) {
	plan, err := Solve(Input{Pods: []*corev1.Pod{pod(withCPU("1"))}, NodePools: []v1.NodePool{nodePool("default")}, InstanceTypes: smallCatalog()})
	if err != nil {
		t.Fatal(err)
	}
	nc := plan.NewNodes[0]
	want := []string{"small.arm", "small.amd", "large.amd", "gpu.amd"}
	if !slices.Equal(nc.InstanceTypes, want) {
		t.Errorf("options %v, want cheapest first %v", nc.InstanceTypes, want)
	}
	if !slices.Equal(nc.Zones, []string{zoneA, zoneB}) || !slices.Equal(nc.CapacityTypes, []string{v1.CapacityTypeOnDemand, v1.CapacityTypeSpot}) {
		t.Errorf("zones %v capacity types %v, want both of each", nc.Zones, nc.CapacityTypes)
	}
}

func TestSolveRejectsContradictoryInput(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{name: "two pools with one name", in: Input{NodePools: []v1.NodePool{nodePool("a"), nodePool("a", withWeight(3))}}, want: `nodepool "a" is listed twice`},
		{name: "a pod listed twice", in: Input{Pods: []*corev1.Pod{pod(), pod()}}, want: "pod default/pod is listed twice"},
		{name: "a pool requirement that cannot be evaluated", in: Input{NodePools: []v1.NodePool{nodePool("a", withPoolRequirement("k", corev1.NodeSelectorOpGt, "x"))}},
			want: `nodepool "a": spec.template.spec.requirements[0]`},
		{name: "an instance type listed twice", in: Input{InstanceTypes: append(smallCatalog(), smallCatalog()[0])}, want: `instance type "small.amd" is listed twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Solve(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSolveTreatsAMissingLabelSelectorAsSelectingNoPod(t *testing.T) {
	// Two pods whose anti-affinity and spread have no labelSelector: as in Kubernetes, such
	// terms select nothing, so both pods share one node.
	var pods []*corev1.Pod
	for _, name := range []string{"a", "b"} {
		p := pod(withName(name), withCPU("1"), withLabels("app", "x"))
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: v1.LabelHostname}},
		}}
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: v1.LabelHostname, WhenUnsatisfiable: corev1.DoNotSchedule}}
		pods = append(pods, p)
	}
	plan, err := Solve(Input{Pods: pods, NodePools: []v1.NodePool{nodePool("default")}, InstanceTypes: smallCatalog()})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Unschedulable) > 0 || len(plan.NewNodes) != 1 {
		t.Fatalf("got %d new nodes, unschedulable %v; want both pods on one node", len(plan.NewNodes), plan.Unschedulable)
	}
}

func TestSolveOrdersEveryPlacedPodOnce(t *testing.T) {
	in := mixedInput()
	plan, err := Solve(in)
	if err != nil {
		t.Fatal(err)
	}
	placed := map[string]bool{}
	for k := range plan.Existing {
		placed[k] = true
	}
	for _, nc := range plan.NewNodes {
		for _, k := range nc.Pods {
			placed[k] = true
		}
	}
	seen := map[string]bool{}
	for _, k := range plan.Order {
		if !placed[k] || seen[k] {
			t.Fatalf("Order lists %s, which is not placed or listed twice", k)
		}
		seen[k] = true
	}
	if len(seen) != len(placed) {
		t.Fatalf("Order lists %d pods, the plan places %d", len(seen), len(placed))
	}
}
