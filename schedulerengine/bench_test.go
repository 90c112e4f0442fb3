package schedulerengine_test

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// BenchmarkSolve measures Solve alone, as issue 3 specifies:
//
//   - diverse-N: the synthetic 400-type catalog (syntheticInstanceTypes), one NodePool
//     without limits, and N pods in five fifths (diversePods);
//   - generic-5000: the real us-east-1 catalog, a production-like NodePool (c/m/r,
//     generation > 2, spot or on-demand) and 5,000 generic pods of the same sizes.
//   - live-5000: the same, with the catalog as a live market gives it: six zones, a spot
//     price of its own in each zone and a few families missing from some zones
//     (liveMarket), so every type has up to 12 offerings instead of 6.
//
// Each reports pods/s, nodes, $/h and cost/bound (the plan's cost over its fractional lower
// bound). Run with -benchtime=1x for a quick reading.
func BenchmarkSolve(b *testing.B) {
	synthetic := syntheticInstanceTypes()
	for _, n := range []int{1000, 5000, 20000} {
		b.Run(fmt.Sprintf("diverse-%d", n), func(b *testing.B) {
			benchmarkSolve(b, schedulerengine.Input{Pods: diversePods(n), NodePools: []v1.NodePool{{ObjectMeta: metav1.ObjectMeta{Name: "default"}}}, InstanceTypes: synthetic})
		})
	}
	b.Run("generic-5000", func(b *testing.B) {
		benchmarkSolve(b, schedulerengine.Input{Pods: genericPods(5000), NodePools: []v1.NodePool{benchmarkPool()}, InstanceTypes: realInstanceTypes(b)})
	})
	b.Run("live-5000", func(b *testing.B) {
		benchmarkSolve(b, schedulerengine.Input{Pods: genericPods(5000), NodePools: []v1.NodePool{benchmarkPool()}, InstanceTypes: liveInstanceTypes(b)})
	})
}

// liveZones are the six zones of the live-market benchmark.
var liveZones = []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}

// liveMarket is the catalog as the worker's live market gives it: six zones; each family
// missing from a zone one time in fifty; spot prices that differ by zone, within 10% of the
// modelled price either way. Draws are a hash of their key, so the catalog is the same on
// every run.
type liveMarket struct{ byName map[string]catalog.Type }

func (m liveMarket) Zones(name string) []string {
	family, _, _ := strings.Cut(name, ".")
	var out []string
	for _, z := range liveZones {
		if draw("offered", family, z) >= 0.02 {
			out = append(out, z)
		}
	}
	return out
}

func (m liveMarket) OnDemandPrice(name string) (float64, bool) {
	t, ok := m.byName[name]
	return t.OnDemandPrice, ok && t.OnDemandPrice > 0
}

func (m liveMarket) SpotPrice(name, zone string) (float64, bool) {
	t, ok := m.byName[name]
	return t.SpotPrice() * (0.9 + 0.2*draw("spot", name, zone)), ok && t.OnDemandPrice > 0
}

// draw is a number in [0, 1) fixed by its key.
func draw(key ...string) float64 {
	h := fnv.New64a()
	h.Write([]byte(strings.Join(key, "/")))
	x := h.Sum64()
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return float64((x^x>>31)>>11) / (1 << 53)
}

func liveInstanceTypes(tb testing.TB) []schedulerengine.InstanceType {
	tb.Helper()
	types, err := catalog.Load()
	if err != nil {
		tb.Fatalf("load catalog: %v", err)
	}
	return catalog.InstanceTypesIn(types, catalog.DefaultRegion, liveMarket{byName: catalog.Index(types)})
}

func benchmarkSolve(b *testing.B, in schedulerengine.Input) {
	var plan schedulerengine.Plan
	for b.Loop() {
		var err error
		if plan, err = schedulerengine.Solve(in); err != nil {
			b.Fatal(err)
		}
	}
	if len(plan.Unschedulable) > 0 {
		for k, reason := range plan.Unschedulable {
			b.Fatalf("%d of %d pods unschedulable, e.g. %s: %s", len(plan.Unschedulable), len(in.Pods), k, reason)
		}
	}
	b.ReportMetric(float64(len(in.Pods))*float64(b.N)/b.Elapsed().Seconds(), "pods/s")
	b.ReportMetric(float64(len(plan.NewNodes)), "nodes")
	b.ReportMetric(plan.Cost, "$/h")
	b.ReportMetric(plan.Cost/plan.CostLowerBound, "cost/bound")
}

// syntheticInstanceTypes is the catalog: type i (from 0) has i+1 vCPU, 2(i+1) GiB and
// 10(i+1) pods, linux/amd64, spot in test-zone-1 and -2 and on-demand in test-zone-1, -2
// and -3, all at 0.1 $/h per vCPU plus 0.1 $/h per GB (10^9 bytes) of memory. Allocatable
// is the whole machine.
func syntheticInstanceTypes() []schedulerengine.InstanceType {
	types := make([]schedulerengine.InstanceType, 400)
	for i := range types {
		cpu, gib := int64(i+1), int64(2*(i+1))
		memory := resource.NewQuantity(gib<<30, resource.BinarySI)
		rl := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewQuantity(cpu, resource.DecimalSI),
			corev1.ResourceMemory: *memory,
			corev1.ResourcePods:   *resource.NewQuantity(10*cpu, resource.DecimalSI),
		}
		price := 0.1*float64(cpu) + 0.1*float64(gib<<30)/1e9
		name := fmt.Sprintf("synthetic-%03d", i)
		var offerings []schedulerengine.Offering
		for _, z := range []string{"test-zone-1", "test-zone-2"} {
			offerings = append(offerings, schedulerengine.Offering{Zone: z, CapacityType: v1.CapacityTypeSpot, PricePerHour: price, Available: true})
		}
		for _, z := range []string{"test-zone-1", "test-zone-2", "test-zone-3"} {
			offerings = append(offerings, schedulerengine.Offering{Zone: z, CapacityType: v1.CapacityTypeOnDemand, PricePerHour: price, Available: true})
		}
		types[i] = schedulerengine.InstanceType{
			Name: name,
			Labels: map[string]string{
				v1.LabelInstanceType: name, v1.LabelArch: "amd64", v1.LabelOS: "linux",
				catalog.LabelInstanceCPU: fmt.Sprint(cpu), catalog.LabelInstanceMemory: fmt.Sprint(gib * 1024),
			},
			Capacity:    rl,
			Allocatable: rl.DeepCopy(),
			Offerings:   offerings,
		}
	}
	return types
}

// diversePods is the mix, drawn from a fixed seed: a fifth generic; a fifth labelled
// my-label=a..g with a zonal spread (maxSkew 1, DoNotSchedule) over my-label=a..g (drawn
// separately); a fifth the same on hostname; a fifth labelled my-affinity=a..g with required
// affinity to their own label on zone; a fifth labelled app=nginx with required
// anti-affinity to app=nginx on hostname. Any remainder is generic.
func diversePods(n int) []*corev1.Pod {
	r := rand.New(rand.NewPCG(42, 42))
	fifth := n / 5
	pods := make([]*corev1.Pod, 0, n)
	add := func(kind string, shape func(p *corev1.Pod)) {
		p := simplePod("bench", fmt.Sprintf("%s-%05d", kind, len(pods)), randomCPU(r), randomMemory(r))
		shape(p)
		pods = append(pods, p)
	}
	for range fifth {
		add("generic", func(*corev1.Pod) {})
	}
	for _, key := range []string{v1.LabelZone, v1.LabelHostname} {
		for range fifth {
			add("spread", func(p *corev1.Pod) {
				p.Labels = map[string]string{"my-label": randomLetter(r)}
				p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
					MaxSkew: 1, TopologyKey: key, WhenUnsatisfiable: corev1.DoNotSchedule,
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"my-label": randomLetter(r)}},
				}}
			})
		}
	}
	for range fifth {
		add("affinity", func(p *corev1.Pod) {
			p.Labels = map[string]string{"my-affinity": randomLetter(r)}
			p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey: v1.LabelZone, LabelSelector: &metav1.LabelSelector{MatchLabels: p.Labels},
			}}}}
		})
	}
	for range fifth {
		add("nginx", func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": "nginx"}
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey: v1.LabelHostname, LabelSelector: &metav1.LabelSelector{MatchLabels: p.Labels},
			}}}}
		})
	}
	for len(pods) < n {
		add("generic", func(*corev1.Pod) {})
	}
	return pods
}

func randomLetter(r *rand.Rand) string { return string(rune('a' + r.IntN(7))) }

func randomCPU(r *rand.Rand) string {
	return []string{"100m", "250m", "500m", "1", "1.5"}[r.IntN(5)]
}

func randomMemory(r *rand.Rand) string {
	return []string{"100Mi", "256Mi", "512Mi", "1Gi", "2Gi", "4Gi"}[r.IntN(6)]
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
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		pods[i] = simplePod("bench", fmt.Sprintf("generic-%05d", i), randomCPU(r), randomMemory(r))
	}
	return pods
}
