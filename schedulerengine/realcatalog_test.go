package schedulerengine_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

func TestSolveOnTheRealCatalogPacksSmallPodsOntoOneCheapNode(t *testing.T) {
	types := realInstanceTypes(t)
	var pods []*corev1.Pod
	for i := range 10 {
		pods = append(pods, simplePod("web", fmt.Sprintf("web-%d", i), "500m", "1Gi"))
	}
	pool := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	pool.Spec.Template.Spec.Requirements = []v1.NodeSelectorRequirementWithMinValues{
		{Key: catalog.LabelInstanceCategory, Operator: corev1.NodeSelectorOpIn, Values: []string{"c", "m", "r"}},
		{Key: v1.LabelCapacityType, Operator: corev1.NodeSelectorOpIn, Values: []string{v1.CapacityTypeOnDemand}},
	}
	plan, err := schedulerengine.Solve(schedulerengine.Input{Pods: pods, NodePools: []v1.NodePool{pool}, InstanceTypes: types})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Unschedulable) > 0 {
		t.Fatalf("pods left unschedulable: %v", plan.Unschedulable)
	}
	if len(plan.NewNodes) != 1 {
		t.Fatalf("10 pods of 500m/1Gi (5 cpu, 10Gi) went to %d nodes, want 1", len(plan.NewNodes))
	}
	nc := plan.NewNodes[0]
	byName := map[string]schedulerengine.InstanceType{}
	for _, it := range types {
		byName[it.Name] = it
	}
	cheapest := byName[nc.InstanceTypes[0]]
	if c := cheapest.Labels[catalog.LabelInstanceCategory]; !slices.Contains([]string{"c", "m", "r"}, c) {
		t.Errorf("cheapest type %s is of category %q, outside the pool's c/m/r", cheapest.Name, c)
	}
	if !slices.Equal(nc.CapacityTypes, []string{v1.CapacityTypeOnDemand}) || !slices.Equal(nc.Zones, realZones()) {
		t.Errorf("capacity types %v zones %v, want on-demand in all three zones", nc.CapacityTypes, nc.Zones)
	}
	// An 8-vCPU c-family node costs about $0.30-0.40/h on-demand in us-east-1; anything near
	// a dollar means the packing or the price choice went wrong.
	if nc.PricePerHour <= 0.1 || nc.PricePerHour > 0.5 {
		t.Errorf("node %s costs $%.4f/h, want a sane on-demand price for ~8 vCPU", cheapest.Name, nc.PricePerHour)
	}
	if len(nc.InstanceTypes) != schedulerengine.MaxInstanceTypes {
		t.Errorf("claim keeps %d types, want the %d cheapest for launch flexibility", len(nc.InstanceTypes), schedulerengine.MaxInstanceTypes)
	}
	t.Logf("10 pods -> %s at $%.4f/h (options: %s ...)", cheapest.Name, nc.PricePerHour, strings.Join(nc.InstanceTypes[:5], ", "))
}

func TestSolveOnTheRealCatalogExplainsAnImpossiblePod(t *testing.T) {
	pool := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	plan, err := schedulerengine.Solve(schedulerengine.Input{
		Pods:          []*corev1.Pod{simplePod("batch", "huge", "2000", "1Gi")},
		NodePools:     []v1.NodePool{pool},
		InstanceTypes: realInstanceTypes(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `no instance type in NodePool "default" has cpu >= 2000 (largest allows`
	if got := plan.Unschedulable["batch/huge"]; !strings.Contains(got, want) {
		t.Fatalf("reason %q, want one containing %q", got, want)
	}
}

func TestSolveOnTheRealCatalogKeepsMinValuesWhenTruncatingTo60Types(t *testing.T) {
	const families = 55
	n := families
	pool := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	pool.Spec.Template.Spec.Requirements = []v1.NodeSelectorRequirementWithMinValues{
		{Key: catalog.LabelInstanceFamily, Operator: corev1.NodeSelectorOpExists, MinValues: &n},
	}
	plan, err := schedulerengine.Solve(schedulerengine.Input{
		Pods:          []*corev1.Pod{simplePod("web", "small", "250m", "512Mi")},
		NodePools:     []v1.NodePool{pool},
		InstanceTypes: realInstanceTypes(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.NewNodes) != 1 {
		t.Fatalf("want one claim, got %d (unschedulable %v)", len(plan.NewNodes), plan.Unschedulable)
	}
	byName := map[string]schedulerengine.InstanceType{}
	for _, it := range realInstanceTypes(t) {
		byName[it.Name] = it
	}
	nc := plan.NewNodes[0]
	seen := map[string]bool{}
	for _, name := range nc.InstanceTypes {
		seen[byName[name].Labels[catalog.LabelInstanceFamily]] = true
	}
	if len(nc.InstanceTypes) != schedulerengine.MaxInstanceTypes || len(seen) < families {
		t.Fatalf("claim keeps %d types of %d families, want %d types covering at least %d families",
			len(nc.InstanceTypes), len(seen), schedulerengine.MaxInstanceTypes, families)
	}
}
