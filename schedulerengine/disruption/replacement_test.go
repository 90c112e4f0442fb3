package disruption

import (
	"fmt"
	"math"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// allowing sets the pool's capacity types.
func allowing(capacityTypes ...string) func(*v1.NodePool) {
	return func(p *v1.NodePool) {
		p.Spec.Template.Spec.Requirements = []v1.NodeSelectorRequirementWithMinValues{
			{Key: v1.LabelCapacityType, Operator: corev1.NodeSelectorOpIn, Values: capacityTypes},
		}
	}
}

// spotTypes are n two-vCPU types s.1 … s.n, spot at $0.01·i and on-demand at $0.05·i.
func spotTypes(n int) []schedulerengine.InstanceType {
	var out []schedulerengine.InstanceType
	for i := 1; i <= n; i++ {
		it := testTypes()[0]
		it.Name = fmt.Sprintf("s.%d", i)
		it.Labels = map[string]string{v1.LabelInstanceType: it.Name, v1.LabelArch: "amd64", v1.LabelOS: "linux", "family": fmt.Sprint(i % 3)}
		it.Offerings = []schedulerengine.Offering{
			{Zone: "z1", CapacityType: v1.CapacityTypeOnDemand, PricePerHour: 0.05 * float64(i), Available: true},
			{Zone: "z1", CapacityType: v1.CapacityTypeSpot, PricePerHour: 0.01 * float64(i), Available: true},
		}
		out = append(out, it)
	}
	return out
}

// spotSnapshot is one spot node priced price, with a one-vCPU pod, in a spot pool of
// spotTypes(20).
func spotSnapshot(price float64, mod ...func(*v1.NodePool)) Snapshot {
	n := node("spotty", 2, pod("w1", "1"))
	n.CapacityType, n.PricePerHour = v1.CapacityTypeSpot, price
	n.Labels[v1.LabelCapacityType], n.Labels[v1.LabelInstanceType] = v1.CapacityTypeSpot, "s.20"
	s := snapshot(n)
	s.InstanceTypes = spotTypes(20)
	s.NodePools = []v1.NodePool{testPool(append([]func(*v1.NodePool){allowing(v1.CapacityTypeSpot)}, mod...)...)}
	return s
}

func TestConsolidationReplacementCostsLessThanItsNodes(t *testing.T) {
	tests := []struct {
		name      string
		snap      func() Snapshot
		wantTypes []string // nil: no replacement, the node Unconsolidatable
		wantCTs   []string
		wantMax   float64
	}{
		{
			name:      "only types cheaper than the node are kept",
			snap:      func() Snapshot { return snapshot(node("a", 4, pod("w1", "1"))) }, // $0.20
			wantTypes: []string{"m.2x"}, wantCTs: []string{v1.CapacityTypeOnDemand}, wantMax: 0.10,
		},
		{
			name: "a claim allowing spot is priced by spot and pinned to it",
			snap: func() Snapshot {
				s := snapshot(node("big", 8, pod("w1", "1"))) // $0.40 on-demand
				s.NodePools = []v1.NodePool{testPool(allowing(v1.CapacityTypeOnDemand, v1.CapacityTypeSpot))}
				return s
			},
			wantTypes: []string{"m.2x", "m.4x", "m.8x"}, wantCTs: []string{v1.CapacityTypeSpot}, wantMax: 0.16,
		},
		{
			name: "a type dearer in another zone is no cheaper",
			snap: func() Snapshot {
				s := snapshot(node("a", 4, pod("w1", "1"))) // $0.20
				s.InstanceTypes[0].Offerings = append(s.InstanceTypes[0].Offerings,
					schedulerengine.Offering{Zone: "z2", CapacityType: v1.CapacityTypeOnDemand, PricePerHour: 0.25, Available: true})
				return s
			},
		},
		{
			name:      "spot to spot keeps the fifteen cheapest of the cheaper types",
			snap:      func() Snapshot { return spotSnapshot(0.195) },
			wantTypes: typeNames(1, 15), wantCTs: []string{v1.CapacityTypeSpot}, wantMax: 0.15,
		},
		{
			name: "spot to spot needs fifteen cheaper types, not three",
			snap: func() Snapshot {
				n := node("spotty", 8, pod("w1", "1"))
				n.CapacityType, n.PricePerHour, n.Labels[v1.LabelCapacityType] = v1.CapacityTypeSpot, 0.16, v1.CapacityTypeSpot
				s := snapshot(n)
				s.NodePools = []v1.NodePool{testPool(allowing(v1.CapacityTypeSpot))}
				return s
			},
		},
		{
			name: "spot to spot needs fifteen cheaper types, not fifteen types",
			snap: func() Snapshot { return spotSnapshot(0.145) },
		},
		{
			name:      "spot to spot in a pool with minValues keeps every cheaper type",
			snap:      func() Snapshot { return spotSnapshot(0.195, minValues("family", 3)) },
			wantTypes: typeNames(1, 19), wantCTs: []string{v1.CapacityTypeSpot}, wantMax: 0.19,
		},
		{
			name: "a cut that leaves fewer values than minValues asks is no replacement",
			snap: func() Snapshot {
				s := snapshot(node("a", 4, pod("w1", "1")))
				s.NodePools = []v1.NodePool{testPool(minValues(v1.LabelInstanceType, 2))}
				return s
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.snap()
			cmd, skipped := Decide(s)
			if tt.wantTypes == nil {
				if cmd != nil {
					t.Fatalf("Decide = %s with %+v, want nothing", cmd.Method, cmd.Replacement)
				}
				if k := skipped[s.Nodes[0].Name].Kind; k != SkipUnconsolidatable {
					t.Errorf("skipped = %v, want %s", skipped, SkipUnconsolidatable)
				}
				return
			}
			if cmd == nil || cmd.Replacement == nil {
				t.Fatalf("Decide = %+v (skipped %v), want a replacement", cmd, skipped)
			}
			r := cmd.Replacement
			if !slices.Equal(r.InstanceTypes, tt.wantTypes) || !slices.Equal(r.CapacityTypes, tt.wantCTs) || !near(r.MaxPricePerHour, tt.wantMax) {
				t.Errorf("replacement %v %v up to $%v, want %v %v up to $%v", r.InstanceTypes, r.CapacityTypes, r.MaxPricePerHour, tt.wantTypes, tt.wantCTs, tt.wantMax)
			}
			if price := s.Nodes[0].PricePerHour; !near(cmd.Savings, price-r.PricePerHour) || r.MaxPricePerHour >= price {
				t.Errorf("savings $%v from a replacement at $%v–$%v, want it to cost less than $%v", cmd.Savings, r.PricePerHour, r.MaxPricePerHour, price)
			}
			if err := Validate(s, *cmd); err != nil {
				t.Errorf("Validate on the same snapshot: %v", err)
			}
		})
	}
}

func typeNames(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("s.%d", i))
	}
	return out
}

func minValues(key string, n int) func(*v1.NodePool) {
	return func(p *v1.NodePool) {
		p.Spec.Template.Spec.Requirements = append(p.Spec.Template.Spec.Requirements,
			v1.NodeSelectorRequirementWithMinValues{Key: key, Operator: corev1.NodeSelectorOpExists, MinValues: &n})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// A consolidation that lowers a pool's cost is not refused by the pool's limits lowered below
// what it holds, as the cluster's are not; it still may not hold more than the limit or what
// it removes. Drift stays held to the limits.
func TestPoolLimitsLoweredBelowUsage(t *testing.T) {
	limits := func(l corev1.ResourceList) func(*v1.NodePool) {
		return func(p *v1.NodePool) { p.Spec.Limits = l }
	}
	maxCost := func(v string) func(*v1.NodePool) {
		return func(p *v1.NodePool) { p.Annotations = map[string]string{v1.AnnotationMaxHourlyCost: v} }
	}
	big := func() Node { return node("big", 8, pod("w1", "1")) } // $0.40, 8 vCPU
	tests := []struct {
		name       string
		pool       []func(*v1.NodePool)
		node       func() Node
		also       func() Node // another node of the pool, not a candidate; nil for none
		wantMethod string      // "" = nothing
		wantTypes  []string
	}{
		{name: "a node without a price counts at its labels' offering, as Solve charges it", pool: []func(*v1.NodePool){maxCost("0.05")},
			node: big, also: func() Node {
				n := node("other", 8, pod("w2", "7500m"))
				n.PricePerHour = 0 // its spot or zone price unknown: Solve prices it from its labels
				return n
			}, wantMethod: MethodSingleNodeConsolidation, wantTypes: []string{"m.2x", "m.4x"}},
		{name: "a cost limit below the pool's cost lets a cheaper replacement through", pool: []func(*v1.NodePool){maxCost("0.05")},
			node: big, wantMethod: MethodSingleNodeConsolidation, wantTypes: []string{"m.2x", "m.4x"}},
		{name: "a cpu limit below the pool's cpu lets a smaller replacement through", pool: []func(*v1.NodePool){limits(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")})},
			node: big, wantMethod: MethodSingleNodeConsolidation, wantTypes: []string{"m.2x", "m.4x"}},
		{name: "a node limit below the pool's count lets a replacement through", pool: []func(*v1.NodePool){limits(corev1.ResourceList{"nodes": resource.MustParse("0")})},
			node: big, wantMethod: MethodSingleNodeConsolidation, wantTypes: []string{"m.2x", "m.4x"}},
		{name: "over a cpu limit the replacement holds no more cpu than it removes",
			pool: []func(*v1.NodePool){allowing(v1.CapacityTypeOnDemand, v1.CapacityTypeSpot), limits(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")})},
			node: func() Node { return node("a", 4, pod("w1", "3")) }, wantMethod: MethodSingleNodeConsolidation, wantTypes: []string{"m.4x"}},
		{name: "a limit above the pool's usage still holds",
			pool: []func(*v1.NodePool){allowing(v1.CapacityTypeOnDemand, v1.CapacityTypeSpot), limits(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("6")})},
			node: func() Node { return node("a", 4, pod("w1", "3")) }, wantMethod: MethodSingleNodeConsolidation, wantTypes: []string{"m.4x"}},
		{name: "an unreadable cost limit still launches nothing", pool: []func(*v1.NodePool){maxCost("cheap")}, node: big},
		{name: "drift stays held to a cost limit below the pool's cost", pool: []func(*v1.NodePool){maxCost("0.05")},
			node: func() Node { n := node("a", 2, pod("w1", "1500m")); n.Drifted = true; return n }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := []Node{tt.node()}
			if tt.also != nil {
				nodes = append(nodes, tt.also())
			}
			s := snapshot(nodes...)
			s.NodePools = []v1.NodePool{testPool(tt.pool...)}
			cmd, skipped := Decide(s)
			if tt.wantMethod == "" {
				if cmd != nil {
					t.Fatalf("Decide = %+v, want nothing", cmd)
				}
				return
			}
			if cmd == nil || cmd.Method != tt.wantMethod || cmd.Replacement == nil || !slices.Equal(cmd.Replacement.InstanceTypes, tt.wantTypes) {
				t.Fatalf("Decide = %+v (skipped %v), want %s to one of %v", cmd, skipped, tt.wantMethod, tt.wantTypes)
			}
			if err := Validate(s, *cmd); err != nil {
				t.Errorf("Validate on the same snapshot: %v", err)
			}
		})
	}
}
