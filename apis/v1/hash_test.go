package v1

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestTemplateHash(t *testing.T) {
	base := func() NodePool {
		var p NodePool
		p.Name = "default"
		p.Spec.Template.ObjectMeta.Labels = map[string]string{"team": "web", "tier": "1"}
		p.Spec.Template.Spec.Requirements = []NodeSelectorRequirementWithMinValues{{Key: LabelArch, Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}}
		p.Spec.Template.Spec.ExpireAfter = NillableDuration{Duration: 720 * time.Hour, Set: true}
		return p
	}
	tests := []struct {
		name   string
		change func(*NodePool)
		drifts bool
	}{
		{name: "the same template hashes the same", change: func(*NodePool) {}, drifts: false},
		{name: "a new template label drifts", change: func(p *NodePool) { p.Spec.Template.ObjectMeta.Labels["tier"] = "2" }, drifts: true},
		{name: "a new taint drifts", change: func(p *NodePool) {
			p.Spec.Template.Spec.Taints = []corev1.Taint{{Key: "gpu", Effect: corev1.TaintEffectNoSchedule}}
		}, drifts: true},
		{name: "a new expireAfter drifts", change: func(p *NodePool) { p.Spec.Template.Spec.ExpireAfter.Duration = time.Hour }, drifts: true},
		{name: "requirements drift semantically, not by hash", change: func(p *NodePool) {
			p.Spec.Template.Spec.Requirements[0].Values = []string{"arm64"}
		}, drifts: false},
		{name: "weight and limits never drift", change: func(p *NodePool) { w := int32(50); p.Spec.Weight = &w }, drifts: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := base(), base()
			tt.change(&b)
			if got := a.TemplateHash() != b.TemplateHash(); got != tt.drifts {
				t.Errorf("hash changed = %v, want %v", got, tt.drifts)
			}
		})
	}
}
