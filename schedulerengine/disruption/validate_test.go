package disruption

import (
	"strings"
	"testing"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func TestValidateRejectsADecisionOvertakenByEvents(t *testing.T) {
	s := snapshot(node("a", 4, pod("w1", "1")), node("b", 4, pod("w2", "1500m")))
	cmd, _ := Decide(s)
	if cmd == nil {
		t.Fatal("no decision to validate")
	}
	if err := Validate(s, *cmd); err != nil {
		t.Fatalf("Validate on the same snapshot: %v", err)
	}
	later := snapshot(node("a", 4, pod("w1", "1")), node("b", 4, pod("w2", "1500m"), pod("w3", "2")))
	if err := Validate(later, *cmd); err == nil {
		t.Error("Validate accepted a move whose destination filled up")
	}
	busy := snapshot(node("a", 4, pod("w1", "1", annotated(v1.AnnotationDoNotDisrupt, "true"))), node("b", 4, pod("w2", "1500m")))
	if err := Validate(busy, *cmd); err == nil || !strings.Contains(err.Error(), "do-not-disrupt") {
		t.Errorf("Validate = %v, want a do-not-disrupt rejection", err)
	}
}

func TestRecheckRejectsNodesSomethingNowProtects(t *testing.T) {
	cmd := Command{Method: MethodSingleNodeConsolidation, Reason: ReasonUnderutilized, Nodes: []string{"a"}}
	tests := []struct {
		name    string
		snap    func() Snapshot
		wantErr string // "" when the nodes may still go
	}{
		{
			name: "a node nothing protects may go, even where its pods no longer fit elsewhere",
			snap: func() Snapshot { return snapshot(node("a", 4, pod("w1", "3")), node("b", 2, pod("w2", "1500m"))) },
		},
		{
			name: "a pod annotated do-not-disrupt since keeps the node",
			snap: func() Snapshot {
				return snapshot(node("a", 4, pod("w1", "1", annotated(v1.AnnotationDoNotDisrupt, "true"))))
			},
			wantErr: "node a: pod default/w1 is annotated karpenter.sh/do-not-disrupt",
		},
		{
			name: "a pod whose PodDisruptionBudget allows no disruption now keeps the node",
			snap: func() Snapshot {
				s := snapshot(node("a", 4, pod("w1", "1")))
				s.BlockedPods = map[string]bool{"default/w1": true}
				return s
			},
			wantErr: "node a: pod default/w1 has a PodDisruptionBudget that allows no disruption",
		},
		{
			name: "a budget used up by another node leaving keeps the node",
			snap: func() Snapshot {
				other := node("b", 4)
				other.Deleting = true
				s := snapshot(node("a", 4, pod("w1", "1")), other)
				s.NodePools[0].Spec.Disruption.Budgets = []v1.Budget{{Nodes: "1"}}
				return s
			},
			wantErr: "disruption budgets no longer allow 1 nodes for Underutilized",
		},
		{
			name:    "a node gone is reported",
			snap:    func() Snapshot { return snapshot(node("b", 4)) },
			wantErr: "node a is gone",
		},
		{
			name: "a node being deleted is left to its deletion",
			snap: func() Snapshot {
				a := node("a", 4)
				a.Deleting = true
				return snapshot(a)
			},
			wantErr: "node a is already being deleted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Recheck(tt.snap(), cmd)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Recheck = %v, want the node still free to go", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("Recheck = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
