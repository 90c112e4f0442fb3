package disruption

import (
	"slices"
	"testing"

	"github.com/nodewright/nodewright/schedulerengine"
)

// A drift replacement is launched only within the cluster-wide limits, as the Provisioner's
// claims are: with the drifted node gone, the rest and the replacement must fit them.
func TestDriftReplacementStaysWithinClusterLimits(t *testing.T) {
	for _, tt := range []struct {
		name      string
		maxCost   float64
		wantDrift bool
	}{
		{name: "a cost limit the replacement would pass holds the drift back", maxCost: 0.45},
		{name: "a cost limit with room lets it go", maxCost: 0.55, wantDrift: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			drifted := node("a", 2, pod("w1", "1500m"))
			drifted.Drifted = true
			s := snapshot(drifted, node("b", 8, pod("w2", "7"))) // b costs $0.40, a replacement at least $0.10
			s.ClusterLimits = schedulerengine.ClusterLimits{MaxHourlyCost: &tt.maxCost}
			cmd, skipped := Decide(s)
			if got := cmd != nil && cmd.Method == MethodDrift; got != tt.wantDrift {
				t.Fatalf("Decide = %+v (skipped %v), want drift %v", cmd, skipped, tt.wantDrift)
			}
		})
	}
}

// A consolidation that lowers the cost goes on when the cluster is over a cost limit lowered
// since: holding it back would keep the dearer node.
func TestConsolidationOverALoweredCostLimitGoesOn(t *testing.T) {
	s := snapshot(node("big", 8, pod("w1", "1")))
	limit := 0.05 // big costs $0.40, its replacement $0.10
	s.ClusterLimits = schedulerengine.ClusterLimits{MaxHourlyCost: &limit}
	cmd, skipped := Decide(s)
	if cmd == nil || cmd.Method != MethodSingleNodeConsolidation || !slices.Equal(cmd.Nodes, []string{"big"}) {
		t.Fatalf("Decide = %+v (skipped %v), want big replaced by a cheaper node", cmd, skipped)
	}
}
