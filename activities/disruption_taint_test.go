package activities

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

func beingDeleted() nodeOption {
	return func(n *corev1.Node) {
		ts := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		n.DeletionTimestamp, n.Finalizers = &ts, []string{FinalizerTermination}
	}
}

// ours labels a node as Nodewright's, of the default pool and the claim named after it.
func ours() nodeOption {
	return func(n *corev1.Node) {
		n.Labels = map[string]string{v1.LabelNodePool: "default", v1.LabelNodeClaim: "claim-" + n.Name, v1.LabelRegistered: "true"}
	}
}

// disruptingClaim is a NodeClaim whose node's workflow has begun its own disruption.
func disruptingClaim(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	nc := &v1.NodeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1.SchemeGroupVersion.String(), Kind: v1.KindNodeClaim},
		ObjectMeta: metav1.ObjectMeta{Name: name},
	}
	nc.Status.Conditions = []metav1.Condition{{Type: v1.ConditionDisrupting, Status: metav1.ConditionTrue, Reason: "Expired"}}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: obj}
}

// taintsOf lists the keys of the node's taints.
func taintsOf(t *testing.T, client *fake.Clientset, name string) []string {
	t.Helper()
	n, err := client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get node %s: %v", name, err)
	}
	var keys []string
	for _, taint := range n.Spec.Taints {
		keys = append(keys, taint.Key)
	}
	return keys
}

func TestTaintAndUntaintCandidates(t *testing.T) {
	t.Parallel()
	gpu := corev1.Taint{Key: "gpu", Effect: corev1.TaintEffectNoSchedule}
	client := fake.NewClientset(
		node("free", withNodeTaints(gpu)),
		node("deleted", beingDeleted()),
		node("leaving"),
	)
	claims, dyn, _ := newNodeClaims(t)
	if _, err := dyn.Resource(v1.NodeClaimResource).Create(context.Background(), disruptingClaim(t, "claim-leaving"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := &Disruption{Planner: &Planner{Kube: client}, NodeClaims: claims}
	refs := []NodeRef{{Name: "free", Claim: "claim-free"}, {Name: "deleted", Claim: "claim-deleted"}, {Name: "leaving", Claim: "claim-leaving"}, {Name: "gone", Claim: "claim-gone"}}

	if _, err := runActivity(t, d.TaintCandidates, refs); err != nil {
		t.Fatalf("taint candidates: %v", err)
	}
	for _, name := range []string{"free", "deleted", "leaving"} {
		if !slices.Contains(taintsOf(t, client, name), v1.TaintKeyDisrupted) {
			t.Errorf("node %s taints %v, want %s", name, taintsOf(t, client, name), v1.TaintKeyDisrupted)
		}
	}

	if _, err := runActivity(t, d.UntaintCandidates, refs); err != nil {
		t.Fatalf("untaint candidates: %v", err)
	}
	want := map[string][]string{
		"free":    {"gpu"},                // its own taints stay
		"deleted": {v1.TaintKeyDisrupted}, // being deleted: its drain relies on the taint
		"leaving": {v1.TaintKeyDisrupted}, // its NodeClaim is Disrupting for another reason
	}
	for name, keys := range want {
		if got := taintsOf(t, client, name); !slices.Equal(got, keys) {
			t.Errorf("node %s taints %v after untainting, want %v", name, got, keys)
		}
	}
}

func TestRecheckDisruption(t *testing.T) {
	t.Parallel()
	disrupted := withNodeTaints(DisruptedTaint())
	webPod := pod("web-1", onNode("a"), labelled("app", "web"))
	tests := []struct {
		name  string
		nodes []*corev1.Node
		pdbs  []policyv1.PodDisruptionBudget
		want  string
	}{
		{
			name:  "a candidate the controller tainted itself may still go",
			nodes: []*corev1.Node{node("a", ours(), withReady(corev1.ConditionTrue), disrupted)},
		},
		{
			name:  "a candidate being deleted meanwhile is left to its deletion",
			nodes: []*corev1.Node{node("a", ours(), withReady(corev1.ConditionTrue), disrupted, beingDeleted())},
			want:  "node a is already being deleted",
		},
		{
			name:  "a namespace-wide budget created meanwhile keeps the candidate",
			nodes: []*corev1.Node{node("a", ours(), withReady(corev1.ConditionTrue), disrupted)},
			pdbs:  []policyv1.PodDisruptionBudget{pdb("all", &metav1.LabelSelector{}, 0)},
			want:  "node a: pod ns/web-1 has a PodDisruptionBudget that allows no disruption",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			planner := newTestPlanner(t, &fakeEC2{typePages: [][]string{{"m5.large"}}}, webPod.DeepCopy())
			client := planner.Kube.(*fake.Clientset)
			for _, n := range tt.nodes {
				if err := client.Tracker().Add(n); err != nil {
					t.Fatal(err)
				}
			}
			for i := range tt.pdbs {
				if err := client.Tracker().Add(&tt.pdbs[i]); err != nil {
					t.Fatal(err)
				}
			}
			d := &Disruption{Planner: planner, PodEvents: &PodEvents{}}
			cmd := disruption.Command{Method: disruption.MethodDrift, Reason: disruption.ReasonDrifted, Nodes: []string{"a"}}
			v, err := runActivity(t, d.RecheckDisruption, cmd)
			if err != nil {
				t.Fatalf("recheck: %v", err)
			}
			var got string
			if err := v.Get(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("recheck says %q, want %q", got, tt.want)
			}
		})
	}
}
