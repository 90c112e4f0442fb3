package disruption

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// NextChange is the earliest moment after s.Now at which Decide could answer differently for
// s with nothing else changed: a node's consolidateAfter running out, or a pod's
// do-not-disrupt duration ending. It is the zero time when no such moment is ahead. ok is
// false when the moment cannot be named: a budget with a schedule opens and closes with the
// clock alone.
func NextChange(s Snapshot) (at time.Time, ok bool) {
	for _, pool := range s.NodePools {
		for _, b := range pool.Spec.Disruption.Budgets {
			if b.Schedule != nil {
				return time.Time{}, false
			}
		}
	}
	earliest := func(t time.Time) {
		if t.After(s.Now) && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	pools := map[string]*v1.NodePool{}
	for i := range s.NodePools {
		pools[s.NodePools[i].Name] = &s.NodePools[i]
	}
	for _, n := range s.Nodes {
		if pool := pools[n.NodePool]; pool != nil && !pool.Spec.Disruption.ConsolidateAfter.Never {
			earliest(n.LastPodEvent.Add(pool.Spec.Disruption.ConsolidateAfter.Duration))
		}
		for _, p := range n.Pods {
			if until, ok := doNotDisruptUntil(p); ok {
				earliest(until)
			}
		}
	}
	return at, true
}

// doNotDisruptUntil is when the pod's karpenter.sh/do-not-disrupt duration ends; false for a
// pod without one (none, or "true": for ever).
func doNotDisruptUntil(p *corev1.Pod) (time.Time, bool) {
	v, ok := p.Annotations[v1.AnnotationDoNotDisrupt]
	if !ok {
		return time.Time{}, false
	}
	forever, d := v1.DoNotDisrupt(v)
	if forever || d <= 0 {
		return time.Time{}, false
	}
	start := p.CreationTimestamp.Time
	if p.Status.StartTime != nil {
		start = p.Status.StartTime.Time
	}
	return start.Add(d), true
}
