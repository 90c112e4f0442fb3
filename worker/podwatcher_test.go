package worker

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/nodewright/nodewright/activities"
)

func TestIsUnschedulable(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"an unbound pod the scheduler marked Unschedulable is unschedulable", pendingPod("ns", "web"), true},
		{"a pod bound to a node is not", pendingPod("ns", "web", boundTo("node-1")), false},
		{"a bound pod whose stale condition still says Unschedulable is not", pendingPod("ns", "web", func(p *corev1.Pod) { p.Spec.NodeName = "node-1" }), false},
		{"a terminating pod is not", pendingPod("ns", "web", terminating()), false},
		{"a succeeded pod is not", pendingPod("ns", "web", inPhase(corev1.PodSucceeded)), false},
		{"a failed pod is not", pendingPod("ns", "web", inPhase(corev1.PodFailed)), false},
		{"a pod the scheduler has not looked at yet is not", pendingPod("ns", "web", withoutConditions()), false},
		{"a pod held back by scheduling gates is not", pendingPod("ns", "web", scheduledCondition(corev1.ConditionFalse, corev1.PodReasonSchedulingGated)), false},
		{"a pod whose PodScheduled is Unknown is not", pendingPod("ns", "web", scheduledCondition(corev1.ConditionUnknown, corev1.PodReasonUnschedulable)), false},
		{"a pod the scheduler placed is not", pendingPod("ns", "web", scheduledCondition(corev1.ConditionTrue, "")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := activities.Unschedulable(tt.pod); got != tt.want {
				t.Errorf("Unschedulable(%s) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

// harness drives a watcher by hand: the test plays the informer and the ticker.
type harness struct {
	watcher *podWatcher
	metrics *metrics
	rec     *signalRecorder
	now     time.Time
}

// step is one thing that happens to the watcher in a scenario.
type step func(h *harness)

func observe(p *corev1.Pod) step { return func(h *harness) { h.watcher.observe(p) } }
func forget(obj any) step        { return func(h *harness) { h.watcher.forget(obj) } }
func flush() step                { return func(h *harness) { h.watcher.flush(context.Background()) } }
func advance(d time.Duration) step {
	return func(h *harness) { h.now = h.now.Add(d) }
}
func signalFails(err error) step { return func(h *harness) { h.rec.setFailure(err) } }

// planSees sets what the plans' pod cache holds.
func planSees(pods ...*corev1.Pod) step {
	return func(h *harness) {
		h.watcher.planned = func(namespace, name string) (*corev1.Pod, bool) {
			for _, p := range pods {
				if p.Namespace == namespace && p.Name == name {
					return p, true
				}
			}
			return nil, false
		}
	}
}

// resignal is a NodePool becoming ready while the informer holds pods.
func resignal(pods ...*corev1.Pod) step {
	return func(h *harness) {
		store := cache.NewStore(cache.MetaNamespaceKeyFunc)
		for _, p := range pods {
			_ = store.Add(p)
		}
		h.watcher.pods = store
		h.watcher.resignal()
	}
}

// whileSignalling runs s inside every later signal, as an informer event racing a flush would.
func whileSignalling(s step) step {
	return func(h *harness) {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		h.rec.during = func() { s(h) }
	}
}

func TestPodWatcherSignals(t *testing.T) {
	a, b, c := pendingPod("default", "a"), pendingPod("default", "b"), pendingPod("default", "c")
	other := pendingPod("alpha", "z")
	refused := errors.New("provisioner unreachable")
	tests := []struct {
		name  string
		steps []step
		// wantSignals are the pod keys of each delivered signal, in order.
		wantSignals       [][]string
		wantSignalled     float64
		wantSignalErrors  float64
		wantUnschedulable float64
	}{
		{
			name:              "unschedulable pods go out in one signal sorted by key",
			steps:             []step{observe(c), observe(a), observe(other), observe(b), flush()},
			wantSignals:       [][]string{{"alpha/z", "default/a", "default/b", "default/c"}},
			wantSignalled:     4,
			wantUnschedulable: 4,
		},
		{
			name:  "pods that are not unschedulable are never signalled",
			steps: []step{observe(pendingPod("default", "bound", boundTo("n1"))), observe(pendingPod("default", "gone", terminating())), observe(pendingPod("default", "new", withoutConditions())), flush()},
		},
		{
			name:  "a flush with nothing queued sends nothing",
			steps: []step{flush(), flush()},
		},
		{
			name:              "the same pod seen twice before a flush is signalled once",
			steps:             []step{observe(a), observe(a), flush(), flush()},
			wantSignals:       [][]string{{"default/a"}},
			wantSignalled:     1,
			wantUnschedulable: 1,
		},
		{
			name: "a pod waits for the plans' cache to show it unschedulable",
			steps: []step{planSees(b, pendingPod("default", "a", withoutConditions())), observe(a), observe(b), flush(),
				planSees(a, b), flush()},
			wantSignals:       [][]string{{"default/b"}, {"default/a"}},
			wantSignalled:     2,
			wantUnschedulable: 2,
		},
		{
			name:              "but no longer than maxHold",
			steps:             []step{planSees(), observe(a), flush(), advance(maxHold - time.Second), flush(), advance(time.Second), flush()},
			wantSignals:       [][]string{{"default/a"}},
			wantSignalled:     1,
			wantUnschedulable: 1,
		},
		{
			name:              "a signalled pod is not signalled again before resignalAfter",
			steps:             []step{observe(a), flush(), advance(resignalAfter - time.Second), observe(a), flush()},
			wantSignals:       [][]string{{"default/a"}},
			wantSignalled:     1,
			wantUnschedulable: 1,
		},
		{
			name:              "a pod still unschedulable after resignalAfter is signalled again",
			steps:             []step{observe(a), flush(), advance(resignalAfter), observe(a), flush()},
			wantSignals:       [][]string{{"default/a"}, {"default/a"}},
			wantSignalled:     2,
			wantUnschedulable: 1,
		},
		{
			name:              "a pool becoming ready re-signals the unschedulable pods at once",
			steps:             []step{observe(a), flush(), advance(time.Second), resignal(a, pendingPod("default", "b", boundTo("n1"))), flush()},
			wantSignals:       [][]string{{"default/a"}, {"default/a"}},
			wantSignalled:     2,
			wantUnschedulable: 1,
		},
		{
			name:  "a resignal before the informer has started sends nothing",
			steps: []step{func(h *harness) { h.watcher.resignal() }, flush()},
		},
		{
			name:              "a pod bound before the flush is dropped from it",
			steps:             []step{observe(a), observe(b), observe(pendingPod("default", "a", boundTo("n1"))), flush()},
			wantSignals:       [][]string{{"default/b"}},
			wantSignalled:     1,
			wantUnschedulable: 1,
		},
		{
			name:          "a signalled pod that becomes bound is forgotten",
			steps:         []step{observe(a), flush(), observe(pendingPod("default", "a", boundTo("n1")))},
			wantSignals:   [][]string{{"default/a"}},
			wantSignalled: 1,
		},
		{
			name:          "a pod bound while its signal is in flight is not remembered as pending",
			steps:         []step{observe(a), whileSignalling(observe(pendingPod("default", "a", boundTo("n1")))), flush()},
			wantSignals:   [][]string{{"default/a"}},
			wantSignalled: 1,
		},
		{
			name:              "a failed signal keeps the pods queued for the next flush",
			steps:             []step{signalFails(refused), observe(a), observe(b), flush(), flush(), signalFails(nil), flush()},
			wantSignals:       [][]string{{"default/a", "default/b"}},
			wantSignalled:     2,
			wantSignalErrors:  2,
			wantUnschedulable: 2,
		},
		{
			name:              "pods waiting on a failing signal still count as unschedulable",
			steps:             []step{signalFails(refused), observe(a), flush()},
			wantSignalErrors:  1,
			wantUnschedulable: 1,
		},
		{
			name:              "a pod deleted before the flush is forgotten",
			steps:             []step{observe(a), observe(b), forget(a), flush()},
			wantSignals:       [][]string{{"default/b"}},
			wantSignalled:     1,
			wantUnschedulable: 1,
		},
		{
			name:  "a pod whose deletion the informer only saw as a tombstone is forgotten",
			steps: []step{observe(a), forget(cache.DeletedFinalStateUnknown{Key: "default/a", Obj: a}), flush()},
		},
		{
			name:          "a signalled pod that is deleted no longer counts as unschedulable",
			steps:         []step{observe(a), flush(), forget(a)},
			wantSignals:   [][]string{{"default/a"}},
			wantSignalled: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newSignalRecorder()
			w, m := newTestWatcher(t, fake.NewClientset(), rec)
			h := &harness{watcher: w, metrics: m, rec: rec, now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
			w.now = func() time.Time { return h.now }
			for _, s := range tt.steps {
				s(h)
			}
			if got := rec.signals(); !reflect.DeepEqual(got, tt.wantSignals) {
				t.Errorf("signals delivered = %q, want %q", got, tt.wantSignals)
			}
			for _, c := range []struct {
				metric    string
				got, want float64
			}{
				{"nodewright_provisioner_pods_signalled_total", testutil.ToFloat64(m.podsSignalled), tt.wantSignalled},
				{"nodewright_provisioner_signal_errors_total", testutil.ToFloat64(m.signalErrors), tt.wantSignalErrors},
				{"nodewright_provisioner_unschedulable_pods", testutil.ToFloat64(m.unschedulablePods), tt.wantUnschedulable},
			} {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.metric, c.got, c.want)
				}
			}
		})
	}
}

func TestPodWatcherIgnoresObjectsThatAreNotPods(t *testing.T) {
	rec := newSignalRecorder()
	w, _ := newTestWatcher(t, fake.NewClientset(), rec)
	w.observe(&corev1.Node{})
	w.forget(&corev1.Node{})
	w.flush(context.Background())
	if got := rec.signals(); len(got) != 0 {
		t.Errorf("signals delivered = %q, want none", got)
	}
}
