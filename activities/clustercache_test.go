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
	"k8s.io/client-go/kubernetes/fake"
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
