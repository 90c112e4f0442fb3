package disruption

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name        string
		snap        func() Snapshot
		wantMethod  string // "" = nothing to do
		wantNodes   []string
		wantReplace string // replacement's cheapest type, "" = none
		wantSkipped map[string]string
	}{
		{
			name: "an empty node is deleted, daemonset pods notwithstanding",
			snap: func() Snapshot {
				return snapshot(node("a", 4, pod("ds-a", "100m", daemon)), node("b", 4, pod("web", "1")))
			},
			wantMethod: MethodEmptiness, wantNodes: []string{"a"},
		},
		{
			name: "every empty node goes in one pass",
			snap: func() Snapshot {
				return snapshot(node("a", 2), node("b", 2), node("c", 4, pod("web", "3")))
			},
			wantMethod: MethodEmptiness, wantNodes: []string{"a", "b"},
		},
		{
			name: "a budget of one node limits emptiness to one",
			snap: func() Snapshot {
				s := snapshot(node("a", 2), node("b", 2))
				s.NodePools[0].Spec.Disruption.Budgets = []v1.Budget{{Nodes: "1"}}
				return s
			},
			wantMethod: MethodEmptiness, wantNodes: []string{"a"},
		},
		{
			name: "a budget already used by a NotReady node allows nothing",
			snap: func() Snapshot {
				sick := node("sick", 2, pod("x", "1"))
				sick.Ready = false
				s := snapshot(node("a", 2), sick)
				s.NodePools[0].Spec.Disruption.Budgets = []v1.Budget{{Nodes: "1"}}
				return s
			},
			wantSkipped: map[string]string{"a": "budget for Empty is used up"},
		},
		{
			name: "a node told to go by the last decision holds its budget while it drains",
			snap: func() Snapshot {
				going := node("going", 2)
				going.Deleting = true
				s := snapshot(node("a", 2), node("b", 2), going)
				s.NodePools[0].Spec.Disruption.Budgets = []v1.Budget{{Nodes: "1"}}
				return s
			},
			wantSkipped: map[string]string{"a": "budget for Empty is used up"},
		},
		{
			// The controller decides ahead while the last decision's nodes drain and
			// validates once they are gone, so the budget counts them gone already.
			name: "a departed node counts as gone",
			snap: func() Snapshot {
				going := node("going", 2)
				going.Deleting, going.Departed = true, true
				s := snapshot(node("a", 2), node("b", 2), going)
				s.NodePools[0].Spec.Disruption.Budgets = []v1.Budget{{Nodes: "1"}}
				return s
			},
			wantMethod: MethodEmptiness, wantNodes: []string{"a"},
		},
		{
			name: "a percentage budget counts the pool without its departed nodes",
			snap: func() Snapshot {
				var nodes []Node
				for i := range 11 {
					nodes = append(nodes, node(fmt.Sprintf("e%02d", i), 2))
				}
				for i := range 9 {
					n := node(fmt.Sprintf("gone%d", i), 2)
					n.Deleting, n.Departed = true, true
					nodes = append(nodes, n)
				}
				s := snapshot(nodes...)
				// 10 % of the 11 staying nodes is 2 (rounded up); of all 20 it would be 2
				// less the 9 leaving, nothing.
				s.NodePools[0].Spec.Disruption.Budgets = []v1.Budget{{Nodes: "10%"}}
				return s
			},
			wantMethod: MethodEmptiness, wantNodes: []string{"e00", "e01"},
		},
		{
			name: "two half-used nodes consolidate onto one of them",
			snap: func() Snapshot {
				return snapshot(node("a", 4, pod("w1", "1")), node("b", 4, pod("w2", "1500m")))
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"},
		},
		{
			// Without the moving pod a's would go onto b and a be deleted; with it, a is
			// replaced by a smaller node.
			name: "the pods of a node already going need the room a consolidation would take",
			snap: func() Snapshot {
				going := node("going", 4, pod("moving", "2"))
				going.Deleting = true
				return snapshot(going, node("a", 4, pod("w1", "1")), node("b", 4, pod("w2", "1500m")))
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"}, wantReplace: "m.2x",
		},
		{
			name: "pods of a node already going that fit on no node that stays hold nothing back",
			snap: func() Snapshot {
				going := node("going", 4, pod("stuck", "3500m"))
				going.Deleting = true
				return snapshot(going, node("a", 4, pod("w1", "1")), node("b", 4, pod("w2", "1500m")))
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"},
		},
		{
			// The decision that moves them may have launched a replacement for some: those
			// are the Provisioner's, the others still need the room.
			name: "the pods of a node already going that fit count beside others of it that fit nowhere",
			snap: func() Snapshot {
				going := node("going", 4, pod("moving", "2"), pod("stuck", "3500m"))
				going.Deleting = true
				return snapshot(going, node("a", 4, pod("w1", "1")), node("b", 4, pod("w2", "1500m")))
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"}, wantReplace: "m.2x",
		},
		{
			name: "terminating pods of a node already going are not counted",
			snap: func() Snapshot {
				going := node("going", 4, pod("moving", "2", func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: now} }))
				going.Deleting = true
				return snapshot(going, node("a", 4, pod("w1", "1")), node("b", 4, pod("w2", "1500m")))
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"},
		},
		{
			// A pod a decision moments ago evicted, recreated and not bound yet: without it
			// a's would go onto b and a be deleted; with it, a is replaced by a smaller node.
			name: "a pod waiting for a node needs the room a consolidation would take",
			snap: func() Snapshot {
				s := snapshot(node("a", 4, pod("w1", "1")), node("b", 4, pod("w2", "1500m")))
				s.Pending = []*corev1.Pod{pod("moved", "2")}
				return s
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"}, wantReplace: "m.2x",
		},
		{
			name: "a pod waiting for a node that no node that stays can hold holds nothing back",
			snap: func() Snapshot {
				s := snapshot(node("a", 4, pod("w1", "1")), node("b", 4, pod("w2", "1500m")))
				s.Pending = []*corev1.Pod{pod("big", "3500m")}
				return s
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"},
		},
		{
			name: "an empty node the pods waiting for a node need is kept until they are bound",
			snap: func() Snapshot {
				s := snapshot(node("a", 2), node("b", 4, pod("w", "3")))
				s.Pending = []*corev1.Pod{pod("moved", "1500m")}
				return s
			},
			wantSkipped: map[string]string{"a": "pods waiting for a node need its room"},
		},
		{
			name: "an empty node the pods waiting for a node do not need goes",
			snap: func() Snapshot {
				s := snapshot(node("a", 2), node("b", 4, pod("w", "2")))
				s.Pending = []*corev1.Pod{pod("moved", "500m")}
				return s
			},
			wantMethod: MethodEmptiness, wantNodes: []string{"a"},
		},
		{
			// Its replacement is counted where it is, bound or waiting: moving it as well
			// would size a replacement for both.
			name: "a candidate's terminating pod is not moved",
			snap: func() Snapshot {
				old := pod("old", "2", func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: now} })
				return snapshot(node("a", 4, pod("w1", "1"), old), node("b", 4, pod("w2", "1500m")))
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"},
		},
		{
			name: "the pods of a node already going that fit beside the candidate's leave it free to go",
			snap: func() Snapshot {
				going := node("going", 4, pod("moving", "500m"))
				going.Deleting = true
				return snapshot(going, node("a", 4, pod("w1", "1")), node("b", 4, pod("w2", "1500m")))
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"},
		},
		{
			name: "three small nodes are replaced by one cheaper node",
			snap: func() Snapshot {
				return snapshot(node("a", 8, pod("w1", "2")), node("b", 8, pod("w2", "2")), node("c", 8, pod("w3", "2")))
			},
			wantMethod: MethodMultiNodeConsolidation, wantNodes: []string{"a", "b", "c"}, wantReplace: "m.8x",
		},
		{
			name:       "an oversized node is replaced by a cheaper one",
			snap:       func() Snapshot { return snapshot(node("big", 8, pod("w1", "1"))) },
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"big"}, wantReplace: "m.2x",
		},
		{
			name: "a do-not-disrupt pod protects its node",
			snap: func() Snapshot {
				return snapshot(node("a", 4, pod("w1", "1", annotated(v1.AnnotationDoNotDisrupt, "true"))), node("b", 4, pod("w2", "1")))
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"b"},
			wantSkipped: map[string]string{"a": "annotated karpenter.sh/do-not-disrupt"},
		},
		{
			name: "a do-not-disrupt duration protects only until it elapses",
			snap: func() Snapshot {
				return snapshot(node("a", 8, pod("w1", "1", annotated(v1.AnnotationDoNotDisrupt, "30m"))))
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"}, wantReplace: "m.2x",
		},
		{
			name: "a pod whose PodDisruptionBudget allows nothing protects its node",
			snap: func() Snapshot {
				s := snapshot(node("a", 8, pod("w1", "1")))
				s.BlockedPods = map[string]bool{"default/w1": true}
				return s
			},
			wantSkipped: map[string]string{"a": "PodDisruptionBudget"},
		},
		{
			name: "recent pod events hold consolidation back until consolidateAfter",
			snap: func() Snapshot {
				n := node("a", 8, pod("w1", "1"))
				n.LastPodEvent = now.Add(-20 * time.Second)
				return snapshot(n)
			},
			wantSkipped: map[string]string{"a": "consolidatable in 40s"},
		},
		{
			name: "WhenEmpty pools are not consolidated when underutilized",
			snap: func() Snapshot {
				s := snapshot(node("a", 8, pod("w1", "1")))
				s.NodePools[0].Spec.Disruption.ConsolidationPolicy = v1.ConsolidationPolicyWhenEmpty
				return s
			},
			wantSkipped: map[string]string{"a": "consolidates only when empty"},
		},
		{
			name: "a drifted node is replaced even when nothing is cheaper",
			snap: func() Snapshot {
				n := node("a", 2, pod("w1", "1500m"))
				n.Drifted = true
				return snapshot(n)
			},
			wantMethod: MethodDrift, wantNodes: []string{"a"}, wantReplace: "m.2x",
		},
		{
			name: "the pool's own allocatable sizes the replacement",
			snap: func() Snapshot {
				n := node("a", 2, pod("w1", "1500m"))
				n.Drifted = true
				s := snapshot(n)
				s.PoolAllocatable = map[string]map[string]corev1.ResourceList{"default": {"m.2x": {
					corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110"),
				}}}
				return s
			},
			wantMethod: MethodDrift, wantNodes: []string{"a"}, wantReplace: "m.4x",
		},
		{
			name: "a full cluster has nothing to consolidate",
			snap: func() Snapshot {
				return snapshot(node("a", 2, pod("w1", "1500m")), node("b", 2, pod("w2", "1500m")))
			},
		},
		{
			name: "nodes Nodewright did not launch are never disrupted but take pods",
			snap: func() Snapshot {
				other := node("theirs", 8)
				other.NodePool = ""
				return snapshot(other, node("a", 2, pod("w1", "1")))
			},
			wantMethod: MethodSingleNodeConsolidation, wantNodes: []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, skipped := Decide(tt.snap())
			if tt.wantMethod == "" {
				if cmd != nil {
					t.Fatalf("Decide = %+v, want nothing to do", cmd)
				}
			} else {
				if cmd == nil {
					t.Fatalf("Decide found nothing, want %s of %v (skipped: %v)", tt.wantMethod, tt.wantNodes, skipped)
				}
				if cmd.Method != tt.wantMethod || !slices.Equal(cmd.Nodes, tt.wantNodes) {
					t.Errorf("Decide = %s of %v, want %s of %v", cmd.Method, cmd.Nodes, tt.wantMethod, tt.wantNodes)
				}
				switch {
				case tt.wantReplace == "" && cmd.Replacement != nil:
					t.Errorf("replacement %v, want none", cmd.Replacement.InstanceTypes)
				case tt.wantReplace != "" && (cmd.Replacement == nil || cmd.Replacement.InstanceTypes[0] != tt.wantReplace):
					t.Errorf("replacement %+v, want cheapest type %s", cmd.Replacement, tt.wantReplace)
				}
				if cmd.Savings <= 0 && cmd.Method != MethodDrift {
					t.Errorf("savings %v, want positive", cmd.Savings)
				}
			}
			for n, want := range tt.wantSkipped {
				if !strings.Contains(skipped[n].Why, want) {
					t.Errorf("skipped[%s] = %q, want it to mention %q", n, skipped[n].Why, want)
				}
			}
		})
	}
}
