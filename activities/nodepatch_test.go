package activities

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The patch writes only what changed, tests what the change was judged from, and declines a
// change it cannot write.
func TestGuardedNodePatch(t *testing.T) {
	cached := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "u1", Labels: map[string]string{"kubernetes.io/hostname": "n1", "old": "x"}},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute}}},
	}
	tests := []struct {
		name   string
		change func(n *corev1.Node)
		want   string // the patch; "" when declined
	}{
		{name: "labels added, changed and removed, each tested first; keys escaped", change: func(n *corev1.Node) {
			n.Labels["karpenter.sh/nodepool"] = "default"
			n.Labels["a~b"] = ""
			n.Labels["kubernetes.io/hostname"] = "n2"
			delete(n.Labels, "old")
		}, want: `[{"op":"test","path":"/metadata/uid","value":"u1"},` +
			`{"op":"test","path":"/metadata/labels/a~0b","value":null},{"op":"add","path":"/metadata/labels/a~0b","value":""},` +
			`{"op":"test","path":"/metadata/labels/karpenter.sh~1nodepool","value":null},{"op":"add","path":"/metadata/labels/karpenter.sh~1nodepool","value":"default"},` +
			`{"op":"test","path":"/metadata/labels/kubernetes.io~1hostname","value":"n1"},{"op":"add","path":"/metadata/labels/kubernetes.io~1hostname","value":"n2"},` +
			`{"op":"test","path":"/metadata/labels/old","value":"x"},{"op":"remove","path":"/metadata/labels/old","value":null}]`},
		{name: "the first annotation and finalizer, tested absent", change: func(n *corev1.Node) {
			n.Annotations = map[string]string{"a": "1"}
			n.Finalizers = []string{FinalizerTermination}
		}, want: `[{"op":"test","path":"/metadata/uid","value":"u1"},` +
			`{"op":"test","path":"/metadata/annotations","value":null},{"op":"add","path":"/metadata/annotations","value":{"a":"1"}},` +
			`{"op":"test","path":"/metadata/finalizers","value":null},{"op":"add","path":"/metadata/finalizers","value":["karpenter.sh/termination"]}]`},
		{name: "the last taint removed, tested first", change: func(n *corev1.Node) { n.Spec.Taints = nil },
			want: `[{"op":"test","path":"/metadata/uid","value":"u1"},` +
				`{"op":"test","path":"/spec/taints/0","value":{"key":"karpenter.sh/unregistered","effect":"NoExecute"}},{"op":"remove","path":"/spec/taints/0","value":null}]`},
		{name: "a taint's value corrected, another added", change: func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "karpenter.sh/unregistered", Value: "v", Effect: corev1.TaintEffectNoExecute}, {Key: "gpu", Effect: corev1.TaintEffectNoSchedule}}
		}, want: `[{"op":"test","path":"/metadata/uid","value":"u1"},` +
			`{"op":"test","path":"/spec/taints/0","value":{"key":"karpenter.sh/unregistered","effect":"NoExecute"}},` +
			`{"op":"replace","path":"/spec/taints/0","value":{"key":"karpenter.sh/unregistered","value":"v","effect":"NoExecute"}},` +
			`{"op":"add","path":"/spec/taints/-","value":{"key":"gpu","effect":"NoSchedule"}}]`},
		{name: "anything else is declined", change: func(n *corev1.Node) { n.Spec.Unschedulable = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := cached.DeepCopy()
			tt.change(changed)
			patch, ok := guardedNodePatch(cached, changed)
			if got := string(patch); ok != (tt.want != "") || got != tt.want {
				t.Errorf("patch %s (%v), want %s", got, ok, tt.want)
			}
			if ok && !json.Valid(patch) {
				t.Errorf("patch %s is not JSON", patch)
			}
		})
	}
}
