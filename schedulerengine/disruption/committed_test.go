package disruption

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nodewright/nodewright/schedulerengine"
)

// A drift replacement is held to the cluster's limits with the nodes that take no pods
// counted too: one still registering, one already going. Without them the replacement
// would pass a limit they fill.
func TestDriftCountsNodesThatTakeNoPodsAgainstTheLimits(t *testing.T) {
	cost := func(v float64) schedulerengine.ClusterLimits { return schedulerengine.ClusterLimits{MaxHourlyCost: &v} }
	cpu := func(v string) schedulerengine.ClusterLimits {
		return schedulerengine.ClusterLimits{Resources: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(v)}}
	}
	tests := []struct {
		name      string
		other     func(*Node)
		limits    schedulerengine.ClusterLimits
		wantDrift bool
	}{
		{"registering node fills the cost limit", func(n *Node) { n.Ready = false }, cost(0.55), false},
		{"registering node fills the cpu limit", func(n *Node) { n.Ready = false }, cpu("13"), false},
		{"going node fills the cost limit", func(n *Node) { n.Deleting = true }, cost(0.55), false},
		{"room left for the replacement", func(n *Node) { n.Ready = false }, cost(1.00), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drifted := node("a", 2, pod("w1", "1500m"))
			drifted.Drifted = true
			other := node("c", 4)
			tt.other(&other)
			s := snapshot(drifted, node("b", 8, pod("w2", "7")), other)
			s.ClusterLimits = tt.limits
			cmd, skipped := Decide(s)
			if got := cmd != nil && cmd.Method == MethodDrift; got != tt.wantDrift {
				t.Errorf("drift decided %v (command %+v, skipped %v), want %v", got, cmd, skipped, tt.wantDrift)
			}
		})
	}
}
