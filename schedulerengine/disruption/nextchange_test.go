package disruption

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func TestNextChange(t *testing.T) {
	quietFor := func(d time.Duration) func(*Node) { return func(n *Node) { n.LastPodEvent = now.Add(-d) } }
	started := func(ago time.Duration) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Status.StartTime = &metav1.Time{Time: now.Add(-ago)} }
	}
	tests := []struct {
		name   string
		pool   func(*v1.NodePool)
		node   func(*Node)
		pods   []*corev1.Pod
		want   time.Duration // after now; 0: none ahead
		wantOK bool
	}{
		{name: "a node quiet for longer than consolidateAfter: nothing ahead", node: quietFor(time.Hour), wantOK: true},
		{name: "a node's consolidateAfter runs out", node: quietFor(20 * time.Second), want: 40 * time.Second, wantOK: true},
		{name: "consolidateAfter Never", pool: func(p *v1.NodePool) { p.Spec.Disruption.ConsolidateAfter = v1.Never },
			node: quietFor(20 * time.Second), wantOK: true},
		{name: "a pod's do-not-disrupt duration ends first", node: quietFor(20 * time.Second),
			pods: []*corev1.Pod{pod("web", "1", annotated(v1.AnnotationDoNotDisrupt, "30s"), started(20*time.Second))},
			want: 10 * time.Second, wantOK: true},
		{name: "do-not-disrupt for ever has no end", node: quietFor(time.Hour),
			pods: []*corev1.Pod{pod("web", "1", annotated(v1.AnnotationDoNotDisrupt, "true"))}, wantOK: true},
		{name: "a budget with a schedule changes with the clock alone", node: quietFor(time.Hour),
			pool: func(p *v1.NodePool) {
				p.Spec.Disruption.Budgets = append(p.Spec.Disruption.Budgets, v1.Budget{Nodes: "0",
					Schedule: new("0 9 * * 1-5"), Duration: &metav1.Duration{Duration: 8 * time.Hour}})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := node("n1", 2, tt.pods...)
			tt.node(&n)
			s := snapshot(n)
			if tt.pool != nil {
				tt.pool(&s.NodePools[0])
			}
			at, ok := NextChange(s)
			var want time.Time
			if tt.want > 0 {
				want = now.Add(tt.want)
			}
			if ok != tt.wantOK || (ok && !at.Equal(want)) {
				t.Errorf("NextChange = %v, %v; want %v, %v", at, ok, want, tt.wantOK)
			}
		})
	}
}
