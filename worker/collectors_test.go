package worker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/nodewright/nodewright/activities"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// podsCreated is when every test pod was created.
func podsCreated() time.Time { return time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) }

// clusterNode is a Ready node with 2 CPUs, 8Gi and 29 pods; a pool name makes it
// Nodewright's.
func clusterNode(name, pool string) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelTopologyZone: "us-east-1a", corev1.LabelArchStable: "amd64", corev1.LabelInstanceTypeStable: "m5.large",
			"karpenter.k8s.aws/instance-family": "m5",
		}},
		Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("8Gi"),
				corev1.ResourcePods: resource.MustParse("29")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1930m"), corev1.ResourceMemory: resource.MustParse("7Gi"),
				corev1.ResourcePods: resource.MustParse("29")},
		},
	}
	if pool != "" {
		n.Labels[v1.LabelNodePool] = pool
		n.Labels[activities.LabelManaged] = "true"
		n.Labels[v1.LabelCapacityType] = "spot"
	}
	return n
}

// clusterPod is a pod of a ReplicaSet in phase, bound to node when it is not empty.
func clusterPod(name, node string, phase corev1.PodPhase, opts ...podOption) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(podsCreated()),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1234"}}},
		Spec:   corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: phase},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// readyAfter marks the pod Ready, d after its creation.
func readyAfter(d time.Duration) podOption {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(podsCreated().Add(d)),
		})
	}
}

func poolWithLimits(name string, limits corev1.ResourceList) v1.NodePool {
	p := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: name}}
	p.Spec.Limits = limits
	return p
}

// runClusterMetrics starts the collector on a fake cluster holding objs, waits for its
// caches, and registers it on fresh worker metrics.
func runClusterMetrics(t *testing.T, pools activities.NodePoolSource, objs ...*corev1.Pod) (*clusterMetrics, *metrics, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset()
	for _, p := range objs {
		if err := client.Tracker().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	c := newClusterMetrics(activities.NewInformerFactory(client), pools)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cluster metrics: %v", err)
		}
	})
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		t.Fatal("caches did not sync")
	}
	m := newMetrics()
	m.registry.MustRegister(c)
	return c, m, client
}

func TestClusterMetricsDescribeTheClusterAsKarpentersGauges(t *testing.T) {
	pools := activities.StaticNodePools{
		poolWithLimits("default", corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100"), "nodes": resource.MustParse("10")}),
		poolWithLimits("idle", nil),
	}
	_, m, client := runClusterMetrics(t, pools,
		clusterPod("web-1", "n1", corev1.PodRunning, readyAfter(5*time.Second)),
		clusterPod("web-2", "", corev1.PodPending),
		clusterPod("other", "foreign", corev1.PodRunning))
	// A node a Karpenter beside Nodewright launched has a NodePool but is not Nodewright's.
	karpenters := clusterNode("karpenters", "theirs")
	delete(karpenters.Labels, activities.LabelManaged)
	for _, n := range []*corev1.Node{clusterNode("n1", "default"), clusterNode("n2", "default"), clusterNode("foreign", ""), karpenters} {
		if _, err := client.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	owner := "/apis/apps/v1/namespaces/ns/replicasets/web-1234"
	want := []string{
		// a pod Running and Ready on a Nodewright node, one pending, one on a node of its own
		fmt.Sprintf(`karpenter_pods_state{arch="amd64",capacity_type="spot",instance_type="m5.large",managed="true",name="web-1",namespace="ns",node="n1",nodepool="default",owner=%q,phase="Running",ready="true",scheduled="true",zone="us-east-1a"} 1`, owner),
		fmt.Sprintf(`karpenter_pods_state{arch="",capacity_type="",instance_type="",managed="false",name="web-2",namespace="ns",node="",nodepool="",owner=%q,phase="Pending",ready="false",scheduled="false",zone=""} 1`, owner),
		fmt.Sprintf(`karpenter_pods_state{arch="amd64",capacity_type="",instance_type="m5.large",managed="false",name="other",namespace="ns",node="foreign",nodepool="",owner=%q,phase="Running",ready="false",scheduled="true",zone="us-east-1a"} 1`, owner),
		// the pool's usage is its nodes' capacity, and their count; an idle pool is all zeros
		`karpenter_nodepools_usage{nodepool="default",resource_type="cpu"} 4`,
		`karpenter_nodepools_usage{nodepool="default",resource_type="memory"} 1.7179869184e+10`,
		`karpenter_nodepools_usage{nodepool="default",resource_type="pods"} 58`,
		`karpenter_nodepools_usage{nodepool="default",resource_type="nodes"} 2`,
		`karpenter_nodepools_usage{nodepool="idle",resource_type="ephemeral_storage"} 0`,
		`karpenter_nodepools_usage{nodepool="idle",resource_type="nodes"} 0`,
		`karpenter_nodepools_limit{nodepool="default",resource_type="cpu"} 100`,
		`karpenter_nodepools_limit{nodepool="default",resource_type="nodes"} 10`,
	}
	unwanted := []string{`karpenter_nodepools_limit{nodepool="idle"`}
	// Nodes arrive through the informer; wait for all four before reading (the pool's two
	// alone left a loaded run reading before the last node was cached).
	deadline := time.Now().Add(5 * time.Second)
	cached := func(body string) bool {
		return strings.Contains(body, `karpenter_nodepools_usage{nodepool="default",resource_type="nodes"} 2`) &&
			countPrefix(body, "karpenter_nodes_allocatable{") == 12
	}
	for body := scrapeMux(t, m); !cached(body); body = scrapeMux(t, m) {
		if time.Now().After(deadline) {
			t.Fatalf("nodes never reached the cache:\n%s", relevant(body))
		}
		time.Sleep(10 * time.Millisecond)
	}
	body := scrapeMux(t, m)
	assertLines(t, body, want, unwanted)

	// Every node, with Karpenter's well-known labels and its allocatable per resource.
	for _, line := range []string{
		`karpenter_nodes_allocatable{arch="amd64",`,
		`instance_family="m5",`, `managed="true",node_name="n1",nodepool="default",`, `resource_type="cpu",`,
		`managed="false",node_name="karpenters",nodepool="theirs",`,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("no karpenter_nodes_allocatable series with %s", line)
		}
	}
	if got := countPrefix(body, "karpenter_nodes_allocatable{"); got != 12 {
		t.Errorf("%d karpenter_nodes_allocatable series, want 4 nodes × 3 resources", got)
	}
	if !strings.Contains(body, `node_name="n1",nodepool="default",os="",phase="",placement_group_id="",placement_group_partition="",region="",resource_type="cpu",windows_build="",zone="us-east-1a",zone_id=""} 1.93`) {
		t.Errorf("n1's allocatable CPU is not 1.93 cores:\n%s", relevant(body))
	}
}

func TestPodStartupIsObservedOnceWhenAPodSeenPendingIsReady(t *testing.T) {
	tests := []struct {
		name string
		// seen are the pod's states, in the order the informer delivers them.
		seen      []*corev1.Pod
		wantCount int
		wantSum   float64
	}{
		{
			name:      "a pod seen pending, then Running and Ready 12s after its creation",
			seen:      []*corev1.Pod{clusterPod("a", "", corev1.PodPending), clusterPod("a", "n1", corev1.PodRunning, readyAfter(12*time.Second))},
			wantCount: 1, wantSum: 12,
		},
		{
			name: "later updates of a started pod observe nothing more",
			seen: []*corev1.Pod{clusterPod("a", "", corev1.PodPending), clusterPod("a", "n1", corev1.PodRunning, readyAfter(3*time.Second)),
				clusterPod("a", "n1", corev1.PodRunning, readyAfter(3*time.Second))},
			wantCount: 1, wantSum: 3,
		},
		{
			name: "a pod running but not yet Ready waits for Ready",
			seen: []*corev1.Pod{clusterPod("a", "", corev1.PodPending), clusterPod("a", "n1", corev1.PodRunning),
				clusterPod("a", "n1", corev1.PodRunning, readyAfter(7*time.Second))},
			wantCount: 1, wantSum: 7,
		},
		{
			name:      "a pod already running when first seen is not observed",
			seen:      []*corev1.Pod{clusterPod("a", "n1", corev1.PodRunning, readyAfter(time.Second))},
			wantCount: 0,
		},
		{
			name:      "a pod that fails before it is Ready is not observed",
			seen:      []*corev1.Pod{clusterPod("a", "", corev1.PodPending), clusterPod("a", "n1", corev1.PodFailed), clusterPod("a", "n1", corev1.PodRunning, readyAfter(time.Second))},
			wantCount: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, m, _ := runClusterMetrics(t, nil)
			for _, p := range tt.seen {
				c.observePod(p)
			}
			assertLines(t, scrapeMux(t, m), []string{
				fmt.Sprintf("karpenter_pods_startup_duration_seconds_count %d", tt.wantCount),
				fmt.Sprintf("karpenter_pods_startup_duration_seconds_sum %g", tt.wantSum),
			}, nil)
		})
	}
}

func countPrefix(body, prefix string) int {
	n := 0
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}
