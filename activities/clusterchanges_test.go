package activities

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Only what a disruption decision reads counts as a change: a kubelet's periodic status
// report does not, or no pass would ever be at rest.
func TestClusterChangesCountWhatADisruptionReads(t *testing.T) {
	heartbeat := metav1.NewTime(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	baseNode := func() *corev1.Node {
		n := node("n1", withProviderID("aws:///us-east-1a/i-1"), withAllocatable("2", "7Gi", "29"))
		n.Labels = map[string]string{"karpenter.sh/nodepool": "default"}
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: heartbeat}}
		return n
	}
	basePod := func() *corev1.Pod { return pod("web-1", onNode("n1"), requesting("1", "1Gi")) }
	nodeTests := []changeCase[*corev1.Node]{
		{name: "a heartbeat", change: func(n *corev1.Node) {
			n.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(heartbeat.Add(time.Minute))
			n.Status.Images = []corev1.ContainerImage{{Names: []string{"web:1"}}}
		}},
		{name: "Ready turns False", change: func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }, want: true},
		{name: "a taint", change: func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "karpenter.sh/disrupted", Effect: corev1.TaintEffectNoSchedule}}
		}, want: true},
		{name: "a label", change: func(n *corev1.Node) { n.Labels["team"] = "web" }, want: true},
		{name: "do-not-disrupt", change: func(n *corev1.Node) {
			n.Annotations = map[string]string{"karpenter.sh/do-not-disrupt": "true"}
		}, want: true},
		{name: "allocatable", change: func(n *corev1.Node) { n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("1") }, want: true},
		{name: "deleted", change: func(n *corev1.Node) { n.DeletionTimestamp = &heartbeat }, want: true},
	}
	checkCounted(t, "node", baseNode, nodeChanged, nodeTests)
	podTests := []changeCase[*corev1.Pod]{
		{name: "its containers' states", change: func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true}}
		}},
		{name: "bound elsewhere", change: func(p *corev1.Pod) { p.Spec.NodeName = "n2" }, want: true},
		{name: "finished", change: func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }, want: true},
		{name: "do-not-disrupt", change: func(p *corev1.Pod) {
			p.Annotations = map[string]string{"karpenter.sh/do-not-disrupt": "true"}
		}, want: true},
		{name: "a label a budget selects by", change: func(p *corev1.Pod) { p.Labels = map[string]string{"app": "web"} }, want: true},
		{name: "started (a do-not-disrupt duration runs from then)", change: func(p *corev1.Pod) { p.Status.StartTime = &heartbeat }, want: true},
		{name: "adopted by a DaemonSet", change: func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: "DaemonSet", Name: "agent"}}
		}, want: true},
		{name: "resized", change: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("2")
		}, want: true},
	}
	checkCounted(t, "pod", basePod, podChanged, podTests)

	// An unbound pod the kube-scheduler finds no room for no longer holds room in a
	// disruption's simulations (waitingForNode).
	pending := pod("web-2", onNode(""))
	unschedulable := pending.DeepCopy()
	unschedulable.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
	if !podChanged(pending, unschedulable) {
		t.Error("a pending pod found unschedulable is not counted as a change")
	}
}

// changeCase is one update of an object and whether it counts as a change.
type changeCase[T any] struct {
	name   string
	change func(T)
	want   bool
}

// checkCounted applies each case's change to a fresh object and asks counted about it.
func checkCounted[T any](t *testing.T, kind string, fresh func() T, counted func(old, obj any) bool, cases []changeCase[T]) {
	t.Helper()
	for _, tt := range cases {
		t.Run(kind+": "+tt.name, func(t *testing.T) {
			old, updated := fresh(), fresh()
			tt.change(updated)
			if got := counted(old, updated); got != tt.want {
				t.Errorf("counted %v, want %v", got, tt.want)
			}
		})
	}
}
