package activities

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
)

// The cache answers what the API server lists, without managedFields, and keeps following
// it; before its first list it refuses to answer rather than say the cluster is empty.
func TestClusterCacheReadsWhatTheAPIServerLists(t *testing.T) {
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}
	client := fake.NewClientset(
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", ManagedFields: managed}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-0-0-1"}},
		&policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}},
	)
	factory := NewInformerFactory(client)
	c := NewClusterCache(factory, NewNodeCache(factory))
	if _, err := c.Pods(context.Background()); err == nil || !strings.Contains(err.Error(), "not synced") {
		t.Errorf("pods before the first list: error %v, want one saying the cache has not synced", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	go func() { _ = c.nodes.Run(ctx) }()
	waitFor(t, "the cache to sync", c.Synced)

	pods, err := c.Pods(ctx)
	if err != nil || len(pods) != 1 || pods[0].Name != "web-1" || pods[0].ManagedFields != nil {
		t.Errorf("pods = %v, %v; want web-1 without managedFields", pods, err)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil || len(nodes) != 1 || nodes[0].Name != "ip-10-0-0-1" {
		t.Errorf("nodes = %v, %v; want ip-10-0-0-1", nodes, err)
	}
	pdbs, err := c.PodDisruptionBudgets(ctx)
	if err != nil || len(pdbs) != 1 || pdbs[0].Name != "web" {
		t.Errorf("PodDisruptionBudgets = %v, %v; want web", pdbs, err)
	}

	if _, err := client.CoreV1().Pods("ns").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-2", Namespace: "ns"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new pod in the cache", func() bool {
		pods, _ := c.Pods(ctx)
		return slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.Name == "web-2" })
	})
}

// The cache counts the changes its watches see that a disruption pass reads, and not a
// kubelet's heartbeat.
func TestClusterCacheCountsChanges(t *testing.T) {
	client := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-0-0-1"}})
	factory := NewInformerFactory(client)
	c := NewClusterCache(factory, NewNodeCache(factory))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	go func() { _ = c.nodes.Run(ctx) }()
	waitFor(t, "the cache to sync", c.Synced)
	waitFor(t, "the listed Node counted", func() bool { return c.Changes() == 1 })

	n, err := client.CoreV1().Nodes().Get(ctx, "ip-10-0-0-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}
	if n, err = client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Ready counted", func() bool { return c.Changes() == 2 })
	n.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(time.Now().Add(time.Minute))
	if n, err = client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	n.Labels = map[string]string{"team": "web"}
	if _, err := client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// One watch delivers its events in order: once the label is counted, so would the
	// heartbeat before it have been.
	waitFor(t, "the label counted", func() bool { return c.Changes() >= 3 })
	time.Sleep(100 * time.Millisecond)
	if got := c.Changes(); got != 3 {
		t.Errorf("%d changes counted, want 3: the Node listed, its Ready, its label; not its heartbeat", got)
	}

	// Pods and PodDisruptionBudgets are counted too.
	if _, err := client.CoreV1().Pods("ns").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new pod counted", func() bool { return c.Changes() == 4 })
	budget, err := client.PolicyV1().PodDisruptionBudgets("ns").Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new budget counted", func() bool { return c.Changes() == 5 })
	budget.Status.DisruptionsAllowed = 1
	if _, err := client.PolicyV1().PodDisruptionBudgets("ns").UpdateStatus(ctx, budget, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the budget's allowed disruptions counted", func() bool { return c.Changes() == 6 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The worker's NodeClaims, NodePools and EC2NodeClasses are cached without their managed
// fields, as its pods and Nodes are: every status write adds to them. NodeClaims are cached
// without their requirements too, which no reader of the cache uses; a NodePool keeps its.
func TestDynamicInformersDropWhatNoReaderUses(t *testing.T) {
	managed := []any{map[string]any{"manager": "worker", "operation": "Update", "apiVersion": "karpenter.sh/v1"}}
	requirements := []any{map[string]any{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": []any{"m5.large", "c5.large"}}}
	tests := []struct {
		resource schema.GroupVersionResource
		list     string
		object   map[string]any
		// gone must be absent from the cached object, kept still there.
		gone, kept [][]string
	}{
		{
			resource: apisv1.NodeClaimResource, list: "NodeClaimList",
			object: map[string]any{
				"apiVersion": "karpenter.sh/v1", "kind": "NodeClaim",
				"metadata": map[string]any{"name": "default-abcde", "managedFields": managed},
				"spec":     map[string]any{"requirements": requirements, "nodeClassRef": map[string]any{"group": "karpenter.k8s.aws", "name": "default"}},
				"status":   map[string]any{"providerID": "aws:///us-east-1a/i-1", "capacity": map[string]any{"cpu": "2"}},
			},
			gone: [][]string{{"metadata", "managedFields"}, {"spec", "requirements"}},
			kept: [][]string{{"spec", "nodeClassRef", "group"}, {"status", "providerID"}, {"status", "capacity"}},
		},
		{
			resource: apisv1.NodePoolResource, list: "NodePoolList",
			object: map[string]any{
				"apiVersion": "karpenter.sh/v1", "kind": "NodePool",
				"metadata": map[string]any{"name": "default-abcde", "managedFields": managed},
				"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"requirements": requirements}}},
			},
			gone: [][]string{{"metadata", "managedFields"}},
			kept: [][]string{{"spec", "template", "spec", "requirements"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.resource.Resource, func(t *testing.T) {
			dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
				map[schema.GroupVersionResource]string{tt.resource: tt.list}, &unstructured.Unstructured{Object: tt.object})
			factory := NewDynamicInformerFactory(dyn)
			informer := factory.ForResource(tt.resource).Informer()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			factory.Start(ctx.Done())
			if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
				t.Fatal("the cache did not sync")
			}
			obj, ok, err := informer.GetStore().GetByKey("default-abcde")
			if err != nil || !ok {
				t.Fatalf("cached object: %v, %v", ok, err)
			}
			cached := obj.(*unstructured.Unstructured).Object
			for _, path := range tt.gone {
				if _, found, _ := unstructured.NestedFieldNoCopy(cached, path...); found {
					t.Errorf("the cache keeps %v", path)
				}
			}
			for _, path := range tt.kept {
				if _, found, _ := unstructured.NestedFieldNoCopy(cached, path...); !found {
					t.Errorf("the cache lost %v", path)
				}
			}
			if again := factory.ForResource(tt.resource).Informer(); again != informer {
				t.Error("a second ForResource gave another informer; the factory must share one")
			}
		})
	}
}
