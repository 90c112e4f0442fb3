package disruption

import (
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
