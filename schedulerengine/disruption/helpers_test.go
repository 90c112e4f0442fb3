package disruption

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1 "k8s.io/api/core/v1"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// Three sizes of one family, on-demand and spot in one zone, priced per vCPU.
func testTypes() []schedulerengine.InstanceType {
	var out []schedulerengine.InstanceType
	for _, cpu := range []int64{2, 4, 8} {
		name := fmt.Sprintf("m.%dx", cpu)
		res := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewQuantity(cpu, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(cpu*4<<30, resource.BinarySI),
			corev1.ResourcePods:   *resource.NewQuantity(110, resource.DecimalSI),
		}
		out = append(out, schedulerengine.InstanceType{
			Name:        name,
			Labels:      map[string]string{v1.LabelInstanceType: name, v1.LabelArch: "amd64", v1.LabelOS: "linux"},
			Capacity:    res,
			Allocatable: res,
			Offerings: []schedulerengine.Offering{
				{Zone: "z1", CapacityType: v1.CapacityTypeOnDemand, PricePerHour: 0.05 * float64(cpu), Available: true},
				{Zone: "z1", CapacityType: v1.CapacityTypeSpot, PricePerHour: 0.02 * float64(cpu), Available: true},
			},
		})
	}
	return out
}

func testPool(mod ...func(*v1.NodePool)) v1.NodePool {
	p := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	p.Spec.Template.Spec.Requirements = []v1.NodeSelectorRequirementWithMinValues{
		{Key: v1.LabelCapacityType, Operator: corev1.NodeSelectorOpIn, Values: []string{v1.CapacityTypeOnDemand}},
	}
	p.Spec.Disruption = v1.Disruption{
		ConsolidationPolicy: v1.ConsolidationPolicyWhenEmptyOrUnderutilized,
		ConsolidateAfter:    v1.NillableDuration{Duration: time.Minute, Set: true},
		Budgets:             []v1.Budget{{Nodes: "100%"}},
	}
	for _, m := range mod {
		m(&p)
	}
	return p
}

func pod(name string, cpu string, mod ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("1Gi")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, m := range mod {
		m(p)
	}
	return p
}

func annotated(k, v string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{k: v} }
}

func daemon(p *corev1.Pod) {
	p.OwnerReferences = []metav1.OwnerReference{{Kind: "DaemonSet", Name: "ds"}}
}

// node builds a Ready Nodewright node of an m.<cpu>x type, quiet for an hour.
func node(name string, cpu int64, pods ...*corev1.Pod) Node {
	it := testTypes()[map[int64]int{2: 0, 4: 1, 8: 2}[cpu]]
	labels := map[string]string{v1.LabelNodePool: "default", v1.LabelCapacityType: v1.CapacityTypeOnDemand, v1.LabelZone: "z1", v1.LabelHostname: name}
	for k, v := range it.Labels {
		labels[k] = v
	}
	for _, p := range pods {
		p.Spec.NodeName = name
	}
	return Node{
		Name: name, NodePool: "default", Claim: name, Labels: labels, Allocatable: it.Allocatable,
		PricePerHour: it.Offerings[0].PricePerHour, CapacityType: v1.CapacityTypeOnDemand,
		Pods: pods, Ready: true, Initialized: true, LastPodEvent: now.Add(-time.Hour),
	}
}

func snapshot(nodes ...Node) Snapshot {
	return Snapshot{Now: now, Nodes: nodes, NodePools: []v1.NodePool{testPool()}, InstanceTypes: testTypes()}
}
