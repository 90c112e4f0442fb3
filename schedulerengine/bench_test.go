package schedulerengine_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// BenchmarkSolve measures Solve alone on the real us-east-1 catalog with Karpenter's
// "generic" pod mix (scheduling_benchmark_test.go makeGenericPods: cpu 100m-1500m,
// memory 100Mi-4Gi, seeded RNG 42). Run with -benchtime=1x for a quick reading.
func BenchmarkSolve(b *testing.B) {
	types := realInstanceTypes(b)
	pool := benchmarkPool()
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("generic-%d", n), func(b *testing.B) {
			in := schedulerengine.Input{Pods: genericPods(n), NodePools: []v1.NodePool{pool}, InstanceTypes: types}
			var plan schedulerengine.Plan
			for b.Loop() {
				var err error
				if plan, err = schedulerengine.Solve(in); err != nil {
					b.Fatal(err)
				}
			}
			if len(plan.Unschedulable) > 0 {
				b.Fatalf("%d generic pods unschedulable, e.g. %v", len(plan.Unschedulable), plan.Unschedulable)
			}
			price := 0.0
			for _, nc := range plan.NewNodes {
				price += nc.PricePerHour
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "pods/s")
			b.ReportMetric(float64(len(plan.NewNodes)), "nodes")
			b.ReportMetric(price, "$/h")
		})
	}
}

// benchmarkPool is a common production NodePool: current c/m/r families, spot or on-demand.
func benchmarkPool() v1.NodePool {
	pool := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	pool.Spec.Template.Spec.Requirements = []v1.NodeSelectorRequirementWithMinValues{
		{Key: catalog.LabelInstanceCategory, Operator: corev1.NodeSelectorOpIn, Values: []string{"c", "m", "r"}},
		{Key: catalog.LabelInstanceGeneration, Operator: corev1.NodeSelectorOpGt, Values: []string{"2"}},
		{Key: v1.LabelCapacityType, Operator: corev1.NodeSelectorOpIn, Values: []string{v1.CapacityTypeSpot, v1.CapacityTypeOnDemand}},
	}
	return pool
}

func genericPods(n int) []*corev1.Pod {
	r := rand.New(rand.NewPCG(42, 42))
	cpus := []string{"100m", "250m", "500m", "1000m", "1500m"}
	mems := []string{"100Mi", "256Mi", "512Mi", "1Gi", "2Gi", "4Gi"}
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		pods[i] = simplePod("bench", fmt.Sprintf("generic-%05d", i), cpus[r.IntN(len(cpus))], mems[r.IntN(len(mems))])
	}
	return pods
}
