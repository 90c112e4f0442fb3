package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestNewNodeTakesLabelsAndTaintsFromUserData(t *testing.T) {
	m := Machine{InstanceID: "i-0123", Type: "m5.large", Zone: "us-east-1a", CapacityType: "spot", Hostname: "ip-10-0-0-9.ec2.internal"}
	tests := []struct {
		name       string
		cfg        bootConfig
		wantLabels map[string]string
		wantTaints int
	}{
		{name: "well-known labels alone without user-data labels", cfg: boot(),
			wantLabels: map[string]string{"node.kubernetes.io/instance-type": "m5.large", "karpenter.sh/capacity-type": "spot", "topology.kubernetes.io/region": "us-east-1"}},
		{name: "user-data labels join the well-known ones", cfg: boot(withLabels("team", "web")),
			wantLabels: map[string]string{"team": "web", "kubernetes.io/os": "linux"}},
		{name: "--node-labels override what the kubelet would set, as in the kubelet", cfg: boot(withLabels("karpenter.sh/capacity-type", "on-demand")),
			wantLabels: map[string]string{"karpenter.sh/capacity-type": "on-demand"}},
		{name: "taints registered as given", cfg: boot(withTaints(corev1.Taint{Key: "karpenter.sh/unregistered", Effect: corev1.TaintEffectNoExecute})),
			wantTaints: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node, err := newNode(m, catalogType(t, m.Type), tt.cfg)
			if err != nil {
				t.Fatalf("newNode: %v", err)
			}
			for k, v := range tt.wantLabels {
				if node.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, node.Labels[k], v)
				}
			}
			if len(node.Spec.Taints) != tt.wantTaints {
				t.Errorf("taints = %v, want %d", node.Spec.Taints, tt.wantTaints)
			}
		})
	}
}
