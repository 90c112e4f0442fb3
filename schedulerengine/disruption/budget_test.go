package disruption

import (
	"fmt"
	"math"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func poolWithBudgets(b ...v1.Budget) *v1.NodePool {
	p := &v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	p.Spec.Disruption.Budgets = b
	return p
}

func TestAllowed(t *testing.T) {
	monday9 := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC) // a Monday, 09:30 UTC
	schedule := func(s string, d time.Duration) v1.Budget {
		return v1.Budget{Nodes: "0", Schedule: &s, Duration: &metav1.Duration{Duration: d}}
	}
	tests := []struct {
		name              string
		pool              *v1.NodePool
		reason            string
		total, disrupting int
		now               time.Time
		want              int
	}{
		{name: "no budgets means Karpenter's default of 10% rounded up", pool: poolWithBudgets(), reason: ReasonEmpty, total: 11, want: 2},
		{name: "a count", pool: poolWithBudgets(v1.Budget{Nodes: "1"}), reason: ReasonEmpty, total: 10, want: 1},
		{name: "nodes already disrupting use the budget", pool: poolWithBudgets(v1.Budget{Nodes: "1"}), reason: ReasonEmpty, total: 10, disrupting: 1, want: 0},
		{name: "a percentage rounds up", pool: poolWithBudgets(v1.Budget{Nodes: "25%"}), reason: ReasonDrifted, total: 5, want: 2},
		{name: "the smallest active budget wins", pool: poolWithBudgets(v1.Budget{Nodes: "5"}, v1.Budget{Nodes: "2"}), reason: ReasonEmpty, total: 10, want: 2},
		{name: "a budget for other reasons does not apply", pool: poolWithBudgets(v1.Budget{Nodes: "0", Reasons: []v1.DisruptionReason{ReasonDrifted}}), reason: ReasonEmpty, total: 10, want: math.MaxInt},
		{name: "a scheduled budget inside its window applies", pool: poolWithBudgets(v1.Budget{Nodes: "3"}, schedule("0 9 * * 1", time.Hour)), reason: ReasonEmpty, total: 10, now: monday9, want: 0},
		{name: "a scheduled budget outside its window does not", pool: poolWithBudgets(v1.Budget{Nodes: "3"}, schedule("0 9 * * 1", 10*time.Minute)), reason: ReasonEmpty, total: 10, now: monday9, want: 3},
		{name: "an unreadable schedule fails closed", pool: poolWithBudgets(v1.Budget{Nodes: "3"}, schedule("not cron", time.Hour)), reason: ReasonEmpty, total: 10, now: monday9, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Allowed(tt.pool, tt.reason, tt.total, tt.disrupting, tt.now); got != tt.want {
				t.Errorf("Allowed = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRoomAfter(t *testing.T) {
	nodes := func(n int) []Node {
		var out []Node
		for i := range n {
			out = append(out, node(fmt.Sprintf("n%d", i), 2))
		}
		return out
	}
	withBudget := func(s Snapshot, b ...v1.Budget) Snapshot {
		s.NodePools[0].Spec.Disruption.Budgets = b
		return s
	}
	other := func(s Snapshot) Snapshot {
		p := testPool()
		p.Name = "other"
		p.Spec.Disruption.Budgets = []v1.Budget{{Nodes: "1"}}
		s.NodePools = append(s.NodePools, p)
		for i := range 4 {
			n := node(fmt.Sprintf("o%d", i), 2)
			n.NodePool, n.Labels[v1.LabelNodePool] = "other", "other"
			s.Nodes = append(s.Nodes, n)
		}
		return s
	}
	tests := []struct {
		name    string
		snap    Snapshot
		command Command
		want    int
	}{
		{name: "a budget of half a pool leaves the other half less what the command takes",
			snap: withBudget(snapshot(nodes(20)...), v1.Budget{Nodes: "50%"}), command: Command{Reason: ReasonUnderutilized, Nodes: []string{"n0", "n1", "n2"}}, want: 7},
		{name: "a command that takes the whole budget leaves no room",
			snap: withBudget(snapshot(nodes(20)...), v1.Budget{Nodes: "2"}), command: Command{Reason: ReasonEmpty, Nodes: []string{"n0", "n1"}}, want: 0},
		{name: "nodes already leaving hold their share",
			snap: func() Snapshot {
				s := withBudget(snapshot(nodes(20)...), v1.Budget{Nodes: "5"})
				s.Nodes[19].Deleting = true
				return s
			}(), command: Command{Reason: ReasonEmpty, Nodes: []string{"n0"}}, want: 3},
		{name: "the budget of the command's reason counts, not another's",
			snap:    withBudget(snapshot(nodes(20)...), v1.Budget{Nodes: "10"}, v1.Budget{Nodes: "1", Reasons: []v1.DisruptionReason{ReasonDrifted}}),
			command: Command{Reason: ReasonEmpty, Nodes: []string{"n0"}}, want: 9},
		{name: "with two pools the tighter one counts",
			snap: other(withBudget(snapshot(nodes(20)...), v1.Budget{Nodes: "10"})), command: Command{Reason: ReasonEmpty, Nodes: []string{"n0", "o0"}}, want: 0},
		{name: "a pool without budgets for the reason leaves room for every node",
			snap:    withBudget(snapshot(nodes(3)...), v1.Budget{Nodes: "0", Reasons: []v1.DisruptionReason{ReasonDrifted}}),
			command: Command{Reason: ReasonEmpty, Nodes: []string{"n0"}}, want: 3},
		{name: "a command whose nodes are all gone leaves no room to count on",
			snap: snapshot(nodes(3)...), command: Command{Reason: ReasonEmpty, Nodes: []string{"gone"}}, want: 0},
		{name: "a command whose pool is gone leaves no room",
			snap: func() Snapshot {
				s := snapshot(nodes(3)...)
				s.NodePools = nil
				return s
			}(), command: Command{Reason: ReasonEmpty, Nodes: []string{"n0"}}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RoomAfter(tt.snap, tt.command); got != tt.want {
				t.Errorf("RoomAfter = %d, want %d", got, tt.want)
			}
		})
	}
}
