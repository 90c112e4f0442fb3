package activities

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestTierOf(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		want drainTier
	}{
		{name: "a plain pod is in the first tier", pod: pod("web"), want: tierNonCritical},
		{name: "a daemonset pod is in the second", pod: pod("logs", ownedByDaemonSet()), want: tierNonCriticalDaemonSet},
		{name: "a cluster-critical pod is in the third", pod: pod("dns", priorityClass("system-cluster-critical")), want: tierCritical},
		{name: "a node-critical daemonset pod is in the last", pod: pod("proxy", ownedByDaemonSet(), priorityClass("system-node-critical")), want: tierCriticalDaemonSet},
		{name: "another priority class is not critical", pod: pod("batch", priorityClass("high")), want: tierNonCritical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tierOf(tt.pod); got != tt.want {
				t.Errorf("tier %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDeadlineDelete(t *testing.T) {
	deadline := drainStart().Add(time.Minute)
	seconds := func(s int64) *int64 { return &s }
	tests := []struct {
		name      string
		pod       *corev1.Pod
		deadline  time.Time
		now       time.Time
		wantDue   bool
		wantGrace time.Duration
	}{
		{name: "without a deadline nothing is due", pod: pod("web"), now: drainStart().Add(time.Hour)},
		{name: "before the deadline minus the pod's grace period the pod is evicted, not deleted",
			pod: pod("web", gracePeriod(30)), deadline: deadline, now: deadline.Add(-31 * time.Second)},
		{name: "from the deadline minus the pod's grace period it is deleted with the time left",
			pod: pod("web", gracePeriod(30)), deadline: deadline, now: deadline.Add(-30 * time.Second), wantDue: true, wantGrace: 30 * time.Second},
		{name: "a pod without a grace period gets the API's default 30 s",
			pod: pod("web"), deadline: deadline, now: deadline.Add(-30 * time.Second), wantDue: true, wantGrace: 30 * time.Second},
		{name: "a pod asking for more time than is left gets what is left",
			pod: pod("db", gracePeriod(3600)), deadline: deadline, now: drainStart(), wantDue: true, wantGrace: time.Minute},
		{name: "past the deadline a pod is deleted without grace",
			pod: pod("web", gracePeriod(30)), deadline: deadline, now: deadline.Add(time.Second), wantDue: true},
		{name: "a pod shutting down past the deadline is deleted again to end by it",
			pod: pod("db", terminatingUntil(deadline.Add(time.Hour))), deadline: deadline, now: deadline.Add(-10 * time.Second), wantDue: true, wantGrace: 10 * time.Second},
		{name: "a pod shutting down by the deadline is left to finish",
			pod: pod("db", terminatingUntil(deadline)), deadline: deadline, now: deadline.Add(-10 * time.Second)},
		{name: "past the deadline a pod still shutting down is deleted without grace",
			pod: pod("db", terminatingUntil(deadline)), deadline: deadline, now: deadline, wantDue: true},
		{name: "a pod already deleted without grace is not deleted again",
			pod: pod("db", terminatingUntil(deadline), func(p *corev1.Pod) { p.DeletionGracePeriodSeconds = seconds(0) }), deadline: deadline, now: deadline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grace, due := deadlineDelete(tt.pod, tt.deadline, tt.now)
			if due != tt.wantDue || grace != tt.wantGrace {
				t.Errorf("due %v with grace %s, want due %v with grace %s", due, grace, tt.wantDue, tt.wantGrace)
			}
		})
	}
}

func TestEvictionBackoff(t *testing.T) {
	keys := []string{"ns/web-1", "ns/web-2", "ns/web-3", "ns/db-0", "kube-system/dns"}
	tests := []struct {
		name     string
		refusals int
		min, max time.Duration
	}{
		{name: "the first refusal waits 100 ms", refusals: 1, min: evictionBackoffMin, max: evictionBackoffMin},
		{name: "the third waits about 400 ms", refusals: 3, min: 300 * time.Millisecond, max: 400 * time.Millisecond},
		{name: "the seventh waits about 6.4 s", refusals: 7, min: 4800 * time.Millisecond, max: 6400 * time.Millisecond},
		{name: "from then on it stays at about 10 s", refusals: 50, min: 7500 * time.Millisecond, max: evictionBackoffMax},
		{name: "however many refusals there were", refusals: 1 << 20, min: 7500 * time.Millisecond, max: evictionBackoffMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, key := range keys {
				if d := evictionBackoff(key, tt.refusals); d < tt.min || d > tt.max {
					t.Errorf("%s after %d refusals waits %s, want %s to %s", key, tt.refusals, d, tt.min, tt.max)
				}
			}
		})
	}
	t.Run("pods behind one budget do not retry in lockstep, and each pod always waits the same", func(t *testing.T) {
		seen := map[time.Duration]bool{}
		for _, key := range keys {
			d := evictionBackoff(key, 50)
			if again := evictionBackoff(key, 50); again != d {
				t.Errorf("%s waits %s, then %s", key, d, again)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("%d pods all wait %v", len(keys), fmt.Sprint(seen))
		}
	})
}
