package schedulerengine

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// running is a full node of a pool (it takes no pods) with the labels that price it.
func running(name, pool, instanceType, capacityType string) ExistingNode {
	labels := map[string]string{v1.LabelInstanceType: instanceType, v1.LabelZone: zoneA, v1.LabelCapacityType: capacityType}
	if pool != "" {
		labels[v1.LabelNodePool] = pool
	}
	return existingNode(name, "0", labels)
}

func dollars(v float64) *float64 { return &v }

func cpuLimit(q string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}
}

func TestSolveRespectsClusterLimits(t *testing.T) {
	onDemand := v1.CapacityTypeOnDemand
	runSolveCases(t, []solveCase{
		{name: "nodes of every pool count against the cluster cpu limit", pods: []*corev1.Pod{pod(withCPU("3"))},
			existing: []ExistingNode{running("n1", "other", "large.amd", onDemand)}, cluster: ClusterLimits{Resources: cpuLimit("10")},
			want: outcome{unschedulable: "cluster limit cpu 10 reached"}},
		{name: "a claim within the cluster cpu limit is made", pods: []*corev1.Pod{pod(withCPU("3"))},
			existing: []ExistingNode{running("n1", "other", "large.amd", onDemand)}, cluster: ClusterLimits{Resources: cpuLimit("16")},
			want: outcome{instanceType: "large.amd"}},
		{name: "nodes no pool manages do not count", pods: []*corev1.Pod{pod(withCPU("3"))},
			existing: []ExistingNode{running("n1", "", "large.amd", onDemand)}, cluster: ClusterLimits{Resources: cpuLimit("10")},
			want: outcome{instanceType: "large.amd"}},
		{name: "claims in flight count against the cluster node limit", pods: []*corev1.Pod{pod(withCPU("1"))},
			committed: []CommittedCapacity{{NodePool: "other"}}, cluster: ClusterLimits{Resources: corev1.ResourceList{"nodes": resource.MustParse("1")}},
			want: outcome{unschedulable: "cluster limit nodes 1 reached"}},
		{name: "the cluster node limit leaves room for one more", pods: []*corev1.Pod{pod(withCPU("1"))},
			committed: []CommittedCapacity{{NodePool: "other"}}, cluster: ClusterLimits{Resources: corev1.ResourceList{"nodes": resource.MustParse("2")}},
			want: outcome{instanceType: "small.arm"}},
		{name: "running nodes are priced from their labels for the cluster cost limit", pods: []*corev1.Pod{pod(withCPU("1"))},
			existing: []ExistingNode{running("n1", "other", "large.amd", onDemand)}, cluster: ClusterLimits{MaxHourlyCost: dollars(0.45)},
			want: outcome{unschedulable: "cluster hourly cost would be $0.48, limit $0.45"}},
		{name: "a spot node costs the spot price", pods: []*corev1.Pod{pod(withCPU("1"))},
			existing: []ExistingNode{running("n1", "other", "large.amd", v1.CapacityTypeSpot)}, cluster: ClusterLimits{MaxHourlyCost: dollars(0.45)},
			want: outcome{instanceType: "small.arm"}},
		{name: "an in-flight claim's price counts", pods: []*corev1.Pod{pod(withCPU("1"))},
			committed: []CommittedCapacity{{NodePool: "other", PricePerHour: 0.40}}, cluster: ClusterLimits{MaxHourlyCost: dollars(0.45)},
			want: outcome{unschedulable: "cluster hourly cost would be $0.48, limit $0.45"}},
		{name: "a new claim is charged its dearest allowed offering", pods: []*corev1.Pod{pod(withCPU("1"))},
			cluster: ClusterLimits{MaxHourlyCost: dollars(0.05)},
			want:    outcome{unschedulable: "cluster hourly cost would be $0.08, limit $0.05"}},
		{name: "a spot-only pool is charged spot prices", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools:   []v1.NodePool{nodePool("default", withPoolRequirement(v1.LabelCapacityType, corev1.NodeSelectorOpIn, v1.CapacityTypeSpot))},
			cluster: ClusterLimits{MaxHourlyCost: dollars(0.05)},
			want:    outcome{instanceType: "small.arm", capacityTypes: []string{v1.CapacityTypeSpot}}},
	})
}

// TestSolveHugeLimitsCapNothing: a limit past what the engine's units hold is no limit, not a
// wrapped one that launches nothing.
func TestSolveHugeLimitsCapNothing(t *testing.T) {
	huge := func(name corev1.ResourceName, q string) corev1.ResourceList {
		return corev1.ResourceList{name: resource.MustParse(q)}
	}
	runSolveCases(t, []solveCase{
		{name: "cluster cpu", pods: []*corev1.Pod{pod(withCPU("1"))}, cluster: ClusterLimits{Resources: huge(corev1.ResourceCPU, "1e16")},
			want: outcome{instanceType: "small.arm"}},
		{name: "cluster cpu past any int64", pods: []*corev1.Pod{pod(withCPU("1"))}, cluster: ClusterLimits{Resources: huge(corev1.ResourceCPU, "1e30")},
			want: outcome{instanceType: "small.arm"}},
		{name: "cluster memory", pods: []*corev1.Pod{pod(withCPU("1"))}, cluster: ClusterLimits{Resources: huge(corev1.ResourceMemory, "1e17")},
			want: outcome{instanceType: "small.arm"}},
		{name: "cluster nodes", pods: []*corev1.Pod{pod(withCPU("1"))}, cluster: ClusterLimits{Resources: huge("nodes", "1e30")},
			want: outcome{instanceType: "small.arm"}},
		{name: "cluster cost", pods: []*corev1.Pod{pod(withCPU("1"))}, cluster: ClusterLimits{MaxHourlyCost: dollars(1e30)},
			want: outcome{instanceType: "small.arm"}},
		{name: "a pool's spec.limits", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools: []v1.NodePool{nodePool("default", withLimit(corev1.ResourceCPU, "1e16"))},
			want:  outcome{instanceType: "small.arm"}},
	})
}

// TestSolveCountsNodesOfUnknownPrice: what a cost limit is charged must not drop to $0 when
// the catalog cannot price a node, or the limit passes unseen.
func TestSolveCountsNodesOfUnknownPrice(t *testing.T) {
	onDemand := v1.CapacityTypeOnDemand
	elsewhere := existingNode("n1", "0", map[string]string{v1.LabelNodePool: "other", v1.LabelInstanceType: "large.amd",
		v1.LabelZone: "test-1z", v1.LabelCapacityType: onDemand})
	runSolveCases(t, []solveCase{
		{name: "a node of a type the catalog does not price stops the cluster cost limit", pods: []*corev1.Pod{pod(withCPU("1"))},
			existing: []ExistingNode{running("n1", "other", "mystery.metal", onDemand)}, cluster: ClusterLimits{MaxHourlyCost: dollars(100)},
			want: outcome{unschedulable: `cluster hourly cost is unknown: no price for node "n1" (instance type "mystery.metal")`}},
		{name: "a node of unknown price stops its pool's cost limit", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools:    []v1.NodePool{nodePool("default", withAnnotation(v1.AnnotationMaxHourlyCost, "100"))},
			existing: []ExistingNode{running("n1", "default", "mystery.metal", onDemand)},
			want:     outcome{unschedulable: `NodePool "default" hourly cost is unknown`}},
		{name: "a node of unknown price leaves limits without a cost alone", pods: []*corev1.Pod{pod(withCPU("1"))},
			existing: []ExistingNode{running("n1", "other", "mystery.metal", onDemand)}, cluster: ClusterLimits{Resources: cpuLimit("100")},
			want: outcome{instanceType: "small.arm"}},
		{name: "a node in a zone its type is not priced in costs the type's dearest offering", pods: []*corev1.Pod{pod(withCPU("1"))},
			existing: []ExistingNode{elsewhere}, cluster: ClusterLimits{MaxHourlyCost: dollars(0.45)},
			want: outcome{unschedulable: "cluster hourly cost would be $0.48, limit $0.45"}},
		{name: "a claim in flight recorded without a price costs its pool's dearest type", pods: []*corev1.Pod{pod(withCPU("1"))},
			committed: []CommittedCapacity{{NodePool: "default"}}, cluster: ClusterLimits{MaxHourlyCost: dollars(1)},
			want: outcome{unschedulable: "cluster hourly cost would be $2.08, limit $1.00"}},
		{name: "a claim in flight of an unlisted pool recorded without a price stops the cost limit", pods: []*corev1.Pod{pod(withCPU("1"))},
			committed: []CommittedCapacity{{NodePool: "retired"}}, cluster: ClusterLimits{MaxHourlyCost: dollars(100)},
			want: outcome{unschedulable: `no price for a claim in flight of NodePool "retired"`}},
	})
}

func TestSolveRespectsNodePoolCostLimits(t *testing.T) {
	onDemand := v1.CapacityTypeOnDemand
	costCap := func(v string) poolOption { return withAnnotation(v1.AnnotationMaxHourlyCost, v) }
	runSolveCases(t, []solveCase{
		{name: "the pool's nodes count against its cost limit", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools:    []v1.NodePool{nodePool("default", costCap("0.45"))},
			existing: []ExistingNode{running("n1", "default", "large.amd", onDemand)},
			want:     outcome{unschedulable: `NodePool "default" hourly cost would be $0.48, limit $0.45`}},
		{name: "other pools' nodes do not count against a pool's cost limit", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools:    []v1.NodePool{nodePool("default", costCap("0.45"))},
			existing: []ExistingNode{running("n1", "other", "large.amd", onDemand)},
			want:     outcome{instanceType: "small.arm"}},
		{name: "the pool's in-flight claims count", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools:     []v1.NodePool{nodePool("default", costCap("0.45"))},
			committed: []CommittedCapacity{{NodePool: "default", PricePerHour: 0.40}},
			want:      outcome{unschedulable: `NodePool "default" hourly cost would be $0.48, limit $0.45`}},
		{name: "a registering node is priced from its labels", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools:     []v1.NodePool{nodePool("default", costCap("0.45"))},
			committed: []CommittedCapacity{{NodePool: "default", Labels: map[string]string{v1.LabelInstanceType: "large.amd", v1.LabelZone: zoneA, v1.LabelCapacityType: onDemand}}},
			want:      outcome{unschedulable: `NodePool "default" hourly cost would be $0.48, limit $0.45`}},
		{name: "a pool over its cost limit falls through to the next", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools: []v1.NodePool{nodePool("default", withWeight(10), costCap("0.01")), nodePool("overflow")},
			want:  outcome{pool: "overflow"}},
		{name: "an unreadable cost limit blocks the pool", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools: []v1.NodePool{nodePool("default", costCap("$10"))},
			want:  outcome{unschedulable: `NodePool "default" launches nothing: annotation nodewright.io/max-hourly-cost: "$10" is not a dollars-per-hour figure`}},
		{name: "an unreadable cost limit leaves other pools alone", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools: []v1.NodePool{nodePool("default", withWeight(10), costCap("ten")), nodePool("overflow")},
			want:  outcome{pool: "overflow"}},
	})
}

// TestSolveCostLimitNarrowsOptions: rather than refuse a claim whose dearest option would
// pass the limit, the engine keeps the options within it, so the claim is charged less.
func TestSolveCostLimitNarrowsOptions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		limit     float64
		wantTypes []string
	}{
		{name: "a tight limit keeps the cheap types", limit: 0.15, wantTypes: []string{"small.arm", "small.amd"}},
		{name: "a loose limit keeps them all", limit: 10, wantTypes: []string{"small.arm", "small.amd", "large.amd", "gpu.amd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Solve(Input{Pods: []*corev1.Pod{pod(withCPU("1"))}, NodePools: []v1.NodePool{nodePool("default")},
				InstanceTypes: smallCatalog(), ClusterLimits: ClusterLimits{MaxHourlyCost: &tc.limit}})
			if err != nil {
				t.Fatalf("Solve: %v", err)
			}
			if len(plan.NewNodes) != 1 {
				t.Fatalf("plan has %d new nodes, want 1 (unschedulable: %v)", len(plan.NewNodes), plan.Unschedulable)
			}
			nc := plan.NewNodes[0]
			if !slices.Equal(nc.InstanceTypes, tc.wantTypes) {
				t.Errorf("options %v, want %v", nc.InstanceTypes, tc.wantTypes)
			}
			if nc.MaxPricePerHour > tc.limit {
				t.Errorf("the claim's dearest option costs $%.2f, over the limit $%.2f", nc.MaxPricePerHour, tc.limit)
			}
		})
	}
}

// TestSolveTellsAClusterLimitOnce: every pool is turned away by the same cluster limit, and
// the pod's reason says so once rather than once per pool.
func TestSolveTellsAClusterLimitOnce(t *testing.T) {
	plan, err := Solve(Input{Pods: []*corev1.Pod{pod(withCPU("1"))}, NodePools: []v1.NodePool{nodePool("a"), nodePool("b")},
		InstanceTypes: smallCatalog(), ClusterLimits: ClusterLimits{MaxHourlyCost: dollars(0.05)}})
	if err != nil {
		t.Fatalf("Solve: %v", err)
	}
	const want = "cluster hourly cost would be $0.08, limit $0.05"
	if got := plan.Unschedulable["default/pod"]; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}

func TestSolveRefusesNegativeClusterLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits ClusterLimits
		want   string
	}{
		{name: "resource", limits: ClusterLimits{Resources: cpuLimit("-1")}, want: "cluster limits: cpu -1 is negative"},
		{name: "cost", limits: ClusterLimits{MaxHourlyCost: dollars(-1)}, want: "cluster limits: maxHourlyCost -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Solve(Input{Pods: []*corev1.Pod{pod(withCPU("1"))}, NodePools: []v1.NodePool{nodePool("default")},
				InstanceTypes: smallCatalog(), ClusterLimits: tc.limits})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Solve error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A cost just over its limit is told apart from it: both with as many decimals as it takes.
func TestDollarsApart(t *testing.T) {
	tests := []struct {
		v, other int64
		want     string
	}{
		{480_000, 450_000, "0.48"},
		{450_000, 480_000, "0.45"},
		{10_004_000, 10_000_000, "10.004"},
		{10_000_000, 10_004_000, "10.000"}, // as many decimals as the cost beside it
		{10_000_001, 10_000_000, "10.000001"},
		{5_000_000, 5_000_000, "5.000000"},
	}
	for _, tt := range tests {
		if got := dollarsApart(tt.v, tt.other); got != tt.want {
			t.Errorf("dollarsApart(%d, %d) = %q, want %q", tt.v, tt.other, got, tt.want)
		}
	}
}

func TestSolveRespectsNodePoolLimits(t *testing.T) {
	// Full nodes of the pool: they count against its limits but take no pods.
	ofPool := func(name, instanceType string) ExistingNode {
		return existingNode(name, "0", map[string]string{v1.LabelNodePool: "default", v1.LabelInstanceType: instanceType})
	}
	runSolveCases(t, []solveCase{
		{name: "a claim within the cpu limit is made", pods: []*corev1.Pod{pod(withCPU("3"))},
			pools: []v1.NodePool{nodePool("default", withLimit(corev1.ResourceCPU, "20"))}, existing: []ExistingNode{ofPool("n1", "large.amd")},
			want: outcome{instanceType: "large.amd"}},
		{name: "existing nodes of the pool count against the cpu limit", pods: []*corev1.Pod{pod(withCPU("3"))},
			pools: []v1.NodePool{nodePool("default", withLimit(corev1.ResourceCPU, "10"))}, existing: []ExistingNode{ofPool("n1", "large.amd")},
			want: outcome{unschedulable: `NodePool "default" limit cpu 10 reached`}},
		{name: "nodes of other pools do not count", pods: []*corev1.Pod{pod(withCPU("3"))},
			pools:    []v1.NodePool{nodePool("default", withLimit(corev1.ResourceCPU, "10"))},
			existing: []ExistingNode{existingNode("other", "0", map[string]string{v1.LabelNodePool: "other", v1.LabelInstanceType: "large.amd"})},
			want:     outcome{instanceType: "large.amd"}},
		{name: "the node-count limit stops a new claim", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools: []v1.NodePool{nodePool("default", withLimit("nodes", "1"))}, existing: []ExistingNode{ofPool("n1", "small.amd")},
			want: outcome{unschedulable: `NodePool "default" limit nodes 1 reached`}},
		{name: "committed capacity counts against the cpu limit", pods: []*corev1.Pod{pod(withCPU("3"))},
			pools:     []v1.NodePool{nodePool("default", withLimit(corev1.ResourceCPU, "10"))},
			committed: []CommittedCapacity{{NodePool: "default", Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}}},
			want:      outcome{unschedulable: `NodePool "default" limit cpu 10 reached`}},
		{name: "committed capacity counts against the node limit", pods: []*corev1.Pod{pod(withCPU("1"))},
			pools:     []v1.NodePool{nodePool("default", withLimit("nodes", "1"))},
			committed: []CommittedCapacity{{NodePool: "default"}},
			want:      outcome{unschedulable: `NodePool "default" limit nodes 1 reached`}},
		{name: "another pool's committed capacity does not count", pods: []*corev1.Pod{pod(withCPU("3"))},
			pools:     []v1.NodePool{nodePool("default", withLimit(corev1.ResourceCPU, "10"))},
			committed: []CommittedCapacity{{NodePool: "other", Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}}},
			want:      outcome{instanceType: "large.amd"}},
		{name: "a full pool falls through to the next", pods: []*corev1.Pod{pod(withCPU("3"))},
			pools:    []v1.NodePool{nodePool("default", withWeight(10), withLimit(corev1.ResourceCPU, "10")), nodePool("overflow")},
			existing: []ExistingNode{ofPool("n1", "large.amd")},
			want:     outcome{pool: "overflow"}},
	})
}

// TestSolveLimitsHoldWhicheverTypeLaunches: EC2 Fleet may launch any of a claim's types, so
// the largest of every claim's options together must stay within the pool's limits.
func TestSolveLimitsHoldWhicheverTypeLaunches(t *testing.T) {
	apart := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	var pods []*corev1.Pod
	for i := range 6 {
		pods = append(pods, pod(withName(fmt.Sprintf("web-%d", i)), withLabels("app", "web"), withCPU("1"),
			withAntiAffinity(corev1.LabelHostname, apart)))
	}
	types := map[string]InstanceType{}
	for _, it := range smallCatalog() {
		types[it.Name] = it
	}
	for _, limit := range []string{"4", "10", "16"} {
		t.Run("cpu limit "+limit, func(t *testing.T) {
			plan, err := Solve(Input{Pods: pods, InstanceTypes: smallCatalog(),
				NodePools: []v1.NodePool{nodePool("default", withLimit(corev1.ResourceCPU, limit))}})
			if err != nil {
				t.Fatal(err)
			}
			worst := resource.Quantity{}
			for _, nc := range plan.NewNodes {
				largest := resource.Quantity{}
				for _, name := range nc.InstanceTypes {
					if q := types[name].Capacity[corev1.ResourceCPU]; q.Cmp(largest) > 0 {
						largest = q
					}
				}
				worst.Add(largest)
			}
			if worst.Cmp(resource.MustParse(limit)) > 0 {
				t.Errorf("%d claims could launch %s cpu together, over the limit of %s", len(plan.NewNodes), worst.String(), limit)
			}
			if len(plan.NewNodes) == 0 {
				t.Errorf("no claim made within a limit of %s", limit)
			}
		})
	}
}
