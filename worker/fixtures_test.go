package worker

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/nodewright/nodewright/workflows"
)

// podOption adjusts a test pod.
type podOption func(*corev1.Pod)

// pendingPod is an unbound pod the kube-scheduler marked Unschedulable; options change that.
func pendingPod(namespace, name string, opts ...podOption) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID("uid-" + namespace + "-" + name)},
		Status: corev1.PodStatus{
			Phase: corev1.PodPending,
			Conditions: []corev1.PodCondition{{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func boundTo(node string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.NodeName = node
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
	}
}

func terminating() podOption {
	return func(p *corev1.Pod) {
		at := metav1.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		p.DeletionTimestamp = &at
	}
}

func inPhase(phase corev1.PodPhase) podOption {
	return func(p *corev1.Pod) { p.Status.Phase = phase }
}

func scheduledCondition(status corev1.ConditionStatus, reason string) podOption {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: status, Reason: reason}}
	}
}

func withoutConditions() podOption {
	return func(p *corev1.Pod) { p.Status.Conditions = nil }
}

// signalRecorder is a signalFunc that records what it delivered and can be made to fail.
type signalRecorder struct {
	mu        sync.Mutex
	delivered [][]string // pod keys of each successful signal, in the order sent
	failWith  error
	// during runs inside the signal, while the watcher's lock is released.
	during func()
	// updated receives a token after each successful signal, for tests that wait on one.
	updated chan struct{}
}

func newSignalRecorder() *signalRecorder {
	return &signalRecorder{updated: make(chan struct{}, 1)}
}

func (r *signalRecorder) signal(_ context.Context, pods []workflows.PodRef) error {
	r.mu.Lock()
	during, failWith := r.during, r.failWith
	r.mu.Unlock()
	if during != nil {
		during()
	}
	if failWith != nil {
		return failWith
	}
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = p.Key()
	}
	r.mu.Lock()
	r.delivered = append(r.delivered, keys)
	r.mu.Unlock()
	select {
	case r.updated <- struct{}{}:
	default:
	}
	return nil
}

func (r *signalRecorder) setFailure(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failWith = err
}

// signals returns a copy of the pod keys of every successful signal so far; nil for none.
func (r *signalRecorder) signals() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]string
	for _, keys := range r.delivered {
		out = append(out, slices.Clone(keys))
	}
	return out
}

// signalledKeys is every pod key delivered so far, each once.
func (r *signalRecorder) signalledKeys() map[string]bool {
	seen := map[string]bool{}
	for _, keys := range r.signals() {
		for _, k := range keys {
			seen[k] = true
		}
	}
	return seen
}

// newTestWatcher builds a watcher whose logs are discarded and whose metrics are fresh.
func newTestWatcher(t *testing.T, client kubernetes.Interface, rec *signalRecorder) (*podWatcher, *metrics) {
	t.Helper()
	m := newMetrics()
	return newPodWatcher(client, rec.signal, m, slog.New(slog.DiscardHandler)), m
}
