package schedulerengine

import (
	"math"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func TestLowerBoundIsTheBindingResourcesCheapestCover(t *testing.T) {
	// cpu-rich: 4 cpu 4Gi for $1; memory-rich: 1 cpu 16Gi for $1. Per unit the cheapest
	// cpu is $0.25 and the cheapest GiB $0.0625.
	cpuRich := typeWith("cpu-rich", "4", "4Gi", 100, 1.0)
	memRich := typeWith("mem-rich", "1", "16Gi", 100, 1.0)
	tests := []struct {
		name  string
		pods  []*corev1.Pod
		types []InstanceType
		want  float64
	}{
		{name: "cpu binds when pods need more cpu than memory", pods: pods(8, "1", "1Gi"), types: []InstanceType{cpuRich, memRich}, want: 8 * 0.25},
		{name: "memory binds when pods need more memory", pods: pods(2, "100m", "16Gi"), types: []InstanceType{cpuRich, memRich}, want: 32 * 0.0625},
		{name: "pod slots can bind", pods: pods(300, "1m", "1Mi"), types: []InstanceType{cpuRich}, want: 3},
		{name: "unavailable offerings do not count", pods: pods(8, "1", "1Gi"), types: []InstanceType{withoutOfferings(cpuRich), memRich}, want: 8},
		{name: "no pods cost nothing", types: []InstanceType{cpuRich}, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LowerBound(tc.pods, tc.types); math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("LowerBound = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSolveReportsCostAndABoundBelowIt(t *testing.T) {
	in := Input{Pods: pods(20, "700m", "1Gi"), NodePools: []v1.NodePool{nodePool("default")}, InstanceTypes: smallCatalog()}
	plan, err := Solve(in)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, nc := range plan.NewNodes {
		sum += nc.PricePerHour
	}
	if math.Abs(plan.Cost-sum) > 1e-9 {
		t.Errorf("Cost %v, but the claims add up to %v", plan.Cost, sum)
	}
	if plan.CostLowerBound <= 0 || plan.CostLowerBound > plan.Cost {
		t.Errorf("CostLowerBound %v, want in (0, Cost %v]", plan.CostLowerBound, plan.Cost)
	}
	if bound := LowerBound(in.Pods, in.InstanceTypes); math.Abs(bound-plan.CostLowerBound) > 1e-9 {
		t.Errorf("plan's bound %v differs from LowerBound %v over the same types", plan.CostLowerBound, bound)
	}
}

func typeWith(name, cpu, memory string, pods int64, price float64) InstanceType {
	rl := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(memory),
		corev1.ResourcePods:   *resource.NewQuantity(pods, resource.DecimalSI),
	}
	return InstanceType{Name: name, Capacity: rl, Allocatable: rl.DeepCopy(),
		Offerings: []Offering{{Zone: zoneA, CapacityType: v1.CapacityTypeOnDemand, PricePerHour: price, Available: true}}}
}

func withoutOfferings(it InstanceType) InstanceType {
	it.Offerings = []Offering{{Zone: zoneA, CapacityType: v1.CapacityTypeOnDemand, PricePerHour: 0.01, Available: false}}
	return it
}

func pods(n int, cpu, memory string) []*corev1.Pod {
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = pod(withName("p"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676))), withCPU(cpu), withMemory(memory))
	}
	return out
}
