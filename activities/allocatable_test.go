package activities

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// m5LargePool is the default pool allowing m5.large alone, whose ENIs give 29 pods.
var m5LargePool = strings.Replace(defaultPool, `["m5.large", "m5.xlarge", "c5.large"]`, `["m5.large"]`, 1)

// tinyPods are n pending pods that only a node's pod count limits.
func tinyPods(n int) []*corev1.Pod {
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = pod(fmt.Sprintf("web-%02d", i), pending(), requesting("10m", "10Mi"))
	}
	return out
}

func classWithKubelet(k *awsv1.KubeletConfiguration) *awsv1.EC2NodeClass {
	c := labClass()
	c.Spec.Kubelet = k
	return c
}

// The Done-when, without the lab: with maxPods 110 on the class, the planner sizes
// m5.large as NodeResources does (110 pods) and so packs 40 pods on one node.
func TestPlanSizesNodesByTheirClassKubelet(t *testing.T) {
	tests := []struct {
		name       string
		classes    NodeClassSource
		wantClaims int
	}{
		{name: "without classes the catalog's 29 pods a node", classes: nil, wantClaims: 2},
		{name: "a class without kubelet settings sizes as the catalog", classes: staticClasses{"default": labClass()}, wantClaims: 2},
		{name: "a class with maxPods 110", classes: staticClasses{"default": classWithKubelet(&awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](110)})}, wantClaims: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeEC2{typePages: [][]string{{"m5.large"}}}
			p := newTestPlannerFor(t, m5LargePool, api, tinyPods(40)...)
			p.Classes = tt.classes
			got, err := p.Plan(context.Background(), PlanRequest{})
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if len(got.Claims) != tt.wantClaims {
				t.Errorf("%d claims for 40 pods, want %d", len(got.Claims), tt.wantClaims)
			}
		})
	}
}

func TestPoolAllocatableIsNodeResourcesOfTheClass(t *testing.T) {
	class := classWithKubelet(&awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](110), SystemReserved: map[string]string{"memory": "200Mi"}})
	api := &fakeEC2{typePages: [][]string{{"m5.large"}}}
	p := newTestPlannerFor(t, m5LargePool, api)
	p.Classes = staticClasses{"default": class}
	pools := p.Pools.NodePools()
	types, err := p.instanceTypes(context.Background(), p.offeringZones(pools))
	if err != nil {
		t.Fatal(err)
	}
	got := p.poolAllocatable(pools, types)["default"]["m5.large"]
	_, want, err := catalog.NodeResources(catalog.Index(p.Catalog)["m5.large"], KubeletSettingsOf(class))
	if err != nil {
		t.Fatal(err)
	}
	// 7577Mi after the VM overhead, less 574Mi kube-reserved, 200Mi system-reserved, 100Mi eviction.
	expectAllocatable(t, got, map[corev1.ResourceName]string{"cpu": "1930m", "memory": "6703Mi", "ephemeral-storage": "17Gi", "pods": "110"})
	for name, q := range want {
		if g := got[name]; g.Cmp(q) != 0 {
			t.Errorf("planned %s %s, NodeResources says %s", name, g.String(), q.String())
		}
	}
}

func TestKubeletSettingsOfReadsTheClass(t *testing.T) {
	gi := func(n int) *resource.Quantity { q := resource.MustParse(fmt.Sprintf("%dGi", n)); return &q }
	mapping := func(device string, size *resource.Quantity, root bool) *awsv1.BlockDeviceMapping {
		return &awsv1.BlockDeviceMapping{DeviceName: ptr.To(device), EBS: &awsv1.BlockDevice{VolumeSize: size}, RootVolume: root}
	}
	tests := []struct {
		name     string
		family   string // alias family
		mappings []*awsv1.BlockDeviceMapping
		want     *resource.Quantity
	}{
		{name: "no mappings: the family's default", family: "al2023"},
		{name: "the mapping marked rootVolume", family: "al2023", mappings: []*awsv1.BlockDeviceMapping{mapping("/dev/xvda", gi(50), false), mapping("/dev/xvdc", gi(80), true)}, want: gi(80)},
		{name: "AL2023's /dev/xvda", family: "al2023", mappings: []*awsv1.BlockDeviceMapping{mapping("/dev/xvdc", gi(80), false), mapping("/dev/xvda", gi(50), false)}, want: gi(50)},
		{name: "Bottlerocket's data volume /dev/xvdb, not its OS volume", family: "bottlerocket", mappings: []*awsv1.BlockDeviceMapping{mapping("/dev/xvda", gi(4), false), mapping("/dev/xvdb", gi(60), false)}, want: gi(60)},
		{name: "a mapping of another device: the default", family: "al2023", mappings: []*awsv1.BlockDeviceMapping{mapping("/dev/xvdc", gi(80), false)}},
		{name: "a size in decimal units, rounded up to the whole GiB EC2 gives the volume", family: "al2023",
			mappings: []*awsv1.BlockDeviceMapping{mapping("/dev/xvda", ptr.To(resource.MustParse("100G")), false)}, want: gi(94)},
		{name: "a rootVolume without a size is passed over", family: "al2023", mappings: []*awsv1.BlockDeviceMapping{mapping("/dev/xvdc", nil, true), mapping("/dev/xvda", gi(30), false)}, want: gi(30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class := &awsv1.EC2NodeClass{Spec: awsv1.EC2NodeClassSpec{AMISelectorTerms: []awsv1.AMISelectorTerm{{Alias: tt.family + "@latest"}}, BlockDeviceMappings: tt.mappings}}
			got := KubeletSettingsOf(class).RootVolume
			switch {
			case tt.want == nil && got != nil:
				t.Errorf("root volume %s, want the default", got.String())
			case tt.want != nil && (got == nil || got.Cmp(*tt.want) != 0):
				t.Errorf("root volume %v, want %s", got, tt.want.String())
			}
		})
	}
	t.Run("a Custom family's last mapping", func(t *testing.T) {
		class := &awsv1.EC2NodeClass{Spec: awsv1.EC2NodeClassSpec{AMIFamily: ptr.To(awsv1.AMIFamilyCustom),
			BlockDeviceMappings: []*awsv1.BlockDeviceMapping{mapping("/dev/xvda", gi(30), false), mapping("/dev/sdf", gi(90), false)}}}
		if got := KubeletSettingsOf(class).RootVolume; got == nil || got.Cmp(*gi(90)) != 0 {
			t.Errorf("root volume %v, want 90Gi", got)
		}
	})
	t.Run("the kubelet settings and family", func(t *testing.T) {
		class := classWithKubelet(&awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](50), PodsPerCore: ptr.To[int32](4),
			KubeReserved: map[string]string{"cpu": "1"}, SystemReserved: map[string]string{"memory": "1Gi"}, EvictionHard: map[string]string{"memory.available": "5%"}})
		got := KubeletSettingsOf(class)
		if got.AMIFamily != awsv1.AMIFamilyAL2023 || *got.MaxPods != 50 || *got.PodsPerCore != 4 ||
			got.KubeReserved["cpu"] != "1" || got.SystemReserved["memory"] != "1Gi" || got.EvictionHard["memory.available"] != "5%" {
			t.Errorf("settings %+v, want the class's", got)
		}
	})
}

// A node of ours that reports another allocatable than planned keeps its own in the plan, and
// the difference is logged once per instance type.
func TestPlanLogsANodeReportingAnotherAllocatableOncePerType(t *testing.T) {
	var logs bytes.Buffer
	api := &fakeEC2{typePages: [][]string{{"m5.large", "c5.large"}}}
	p := newTestPlannerFor(t, defaultPool, api, pod("web-1", pending(), requesting("1", "1Gi")))
	p.Classes = staticClasses{"default": labClass()}
	p.Log = slog.New(slog.NewTextHandler(&logs, nil))
	ours := func(name, typ, memory string) *corev1.Node {
		return node(name, withReady(corev1.ConditionTrue), withAllocatable("1930m", memory, "29"), withNodeLabels(map[string]string{
			apisv1.LabelNodePool: "default", apisv1.LabelInstanceType: typ,
		}), func(n *corev1.Node) {
			n.Status.Allocatable[corev1.ResourceEphemeralStorage] = resource.MustParse("17Gi")
		})
	}
	for _, n := range []*corev1.Node{
		ours("as-planned", "m5.large", "6903Mi"),
		ours("short-1", "m5.large", "6000Mi"), ours("short-2", "m5.large", "5000Mi"),
		ours("other-type", "c5.large", "1Gi"),
		node("not-ours", withReady(corev1.ConditionTrue), withAllocatable("1", "1Gi", "10"), withNodeLabels(map[string]string{apisv1.LabelInstanceType: "m5.large"})),
	} {
		if err := p.Kube.(*fake.Clientset).Tracker().Add(n); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := p.Plan(context.Background(), PlanRequest{}); err != nil {
			t.Fatalf("plan: %v", err)
		}
	}
	got := logs.String()
	if n := strings.Count(got, "\n"); n != 2 {
		t.Fatalf("logged %d lines, want one for m5.large and one for c5.large:\n%s", n, got)
	}
	for _, want := range []string{
		`instanceType=m5.large node=short-1 nodepool=default planned="memory=6903Mi" reported="memory=6000Mi"`,
		`instanceType=c5.large node=other-type`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log\n%s\nhas no %s", got, want)
		}
	}
}

// A class whose kubelet settings cannot be read still launches, sized as the catalog, and
// the operator is told which setting to fix.
func TestPlanSizesAsTheCatalogWhenTheClassKubeletIsUnreadable(t *testing.T) {
	var logs bytes.Buffer
	api := &fakeEC2{typePages: [][]string{{"m5.large"}}}
	p := newTestPlannerFor(t, m5LargePool, api, tinyPods(40)...)
	p.Classes = staticClasses{"default": classWithKubelet(&awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](110), KubeReserved: map[string]string{"memory": "lots"}})}
	p.Log = slog.New(slog.NewTextHandler(&logs, nil))
	for range 2 {
		got, err := p.Plan(context.Background(), PlanRequest{})
		if err != nil {
			t.Fatalf("plan: %v", err)
		}
		if len(got.Claims) != 2 {
			t.Errorf("%d claims for 40 pods, want 2: the catalog's 29 pods a node", len(got.Claims))
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), `spec.kubelet kubeReserved memory: \"lots\" is not a quantity`) {
		t.Errorf("logged %d lines:\n%s\nwant one naming spec.kubelet kubeReserved memory", n, logs.String())
	}
}

func expectAllocatable(t *testing.T, got corev1.ResourceList, want map[corev1.ResourceName]string) {
	t.Helper()
	for name, w := range want {
		if q, ok := got[name]; !ok || q.Cmp(resource.MustParse(w)) != 0 {
			t.Errorf("allocatable %s = %s, want %s", name, q.String(), w)
		}
	}
}

// A sizing handed to one Solve is read without the lock while another plan or a disruption
// pass sizes more types: it must never change after it is handed out.
func TestASizingHandedOutNeverChanges(t *testing.T) {
	class := classWithKubelet(&awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](110)})
	p := newTestPlannerFor(t, m5LargePool, &fakeEC2{typePages: [][]string{{"m5.large", "m5.xlarge", "c5.large"}}})
	p.Classes = staticClasses{"default": class}
	pools := p.Pools.NodePools()
	types, err := p.instanceTypes(context.Background(), p.offeringZones(pools))
	if err != nil || len(types) < 2 {
		t.Fatalf("types %d, %v", len(types), err)
	}
	first := p.poolAllocatable(pools, types[:1])["default"]
	done := make(chan int)
	go func() {
		n := 0
		for range 100 {
			n = len(first) // what a Solve does while the next plan runs
		}
		done <- n
	}()
	all := p.poolAllocatable(pools, types)["default"]
	if n := <-done; n != 1 || len(first) != 1 {
		t.Errorf("the sizing handed out grew to %d types", len(first))
	}
	if len(all) != len(types) {
		t.Errorf("the later sizing has %d types, want %d", len(all), len(types))
	}
}
