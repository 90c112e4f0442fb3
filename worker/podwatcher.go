package worker

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/workflows"
)

const (
	// flushEvery groups pods noticed close together into one signal, keeping the
	// Provisioner's signal rate low however many pods arrive.
	flushEvery = 200 * time.Millisecond
	// resignalAfter re-reports a pod that is still unschedulable, in case the Provisioner
	// dropped it (for example after a failed launch it could not attribute).
	resignalAfter = 30 * time.Second
	resync        = 15 * time.Second
	// maxHold bounds how long a pod waits in the queue for the plan's cache to show it (see
	// planned): a cache that never does must not keep a pod from the Provisioner.
	maxHold = 5 * time.Second
)

// signalFunc delivers pending pods to the Provisioner.
type signalFunc func(ctx context.Context, pods []workflows.PodRef) error

// podWatcher reports pods the kube-scheduler marked Unschedulable.
type podWatcher struct {
	client  kubernetes.Interface
	signal  signalFunc
	metrics *metrics
	log     *slog.Logger
	now     func() time.Time
	// watch follows the pod list and watch calls, for /healthz.
	watch *outage

	// planned reads a pod from the cache the Provisioner's plans read (the worker's pod
	// cache, a watch of its own). A pod is signalled once that cache shows it unschedulable
	// too: signalled before, it was left out of the plan the signal led to, and the plan
	// cleared the signal, so the pod waited for resignalAfter. nil signals at once.
	planned func(namespace, name string) (*corev1.Pod, bool)

	mu       sync.Mutex
	pods     cache.Store                 // the informer's unbound pods, once Run has started it
	queued   map[string]workflows.PodRef // by UID, waiting for the next flush
	queuedAt map[string]time.Time        // by UID, when queued
	reported map[string]time.Time        // by UID, when last signalled
	synced   bool
}

func newPodWatcher(client kubernetes.Interface, signal signalFunc, m *metrics, log *slog.Logger) *podWatcher {
	return &podWatcher{
		client: client, signal: signal, metrics: m, log: log, now: time.Now, watch: newOutage("pod watch"),
		queued: map[string]workflows.PodRef{}, queuedAt: map[string]time.Time{}, reported: map[string]time.Time{},
	}
}

// Run watches unbound pods until ctx ends.
func (w *podWatcher) Run(ctx context.Context) error {
	unbound := func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName=" }
	inf := cache.NewSharedIndexInformer(w.followed(unbound), &corev1.Pod{}, resync, cache.Indexers{})
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.observe(obj) },
		UpdateFunc: func(_, obj any) { w.observe(obj) },
		DeleteFunc: func(obj any) { w.forget(obj) },
	}); err != nil {
		return err
	}
	w.mu.Lock()
	w.pods = inf.GetStore()
	w.mu.Unlock()
	go inf.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil // only an ended ctx cuts the wait short; /readyz must stay failing
	}
	w.mu.Lock()
	w.synced = true
	w.mu.Unlock()

	ticker := time.NewTicker(flushEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			w.flush(ctx)
		}
	}
}

// followed lists and watches pods as tweak narrows them, recording each call's outcome in
// w.watch: client-go retries a failed call on its own and never says it is failing.
func (w *podWatcher) followed(tweak func(*metav1.ListOptions)) cache.ListerWatcher {
	pods := w.client.CoreV1().Pods(metav1.NamespaceAll)
	// The client decides whether the API server streams the initial list, as client-go's
	// own informers do.
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			tweak(&o)
			list, err := pods.List(ctx, o)
			w.watch.record(err)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			tweak(&o)
			wi, err := pods.Watch(ctx, o)
			w.watch.record(err)
			return wi, err
		},
	}, w.client)
}

// Synced reports whether the pod cache has been filled once.
func (w *podWatcher) Synced() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.synced
}

func (w *podWatcher) observe(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	uid := string(pod.UID)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !activities.Unschedulable(pod) {
		delete(w.reported, uid)
		w.unqueue(uid)
		w.setUnschedulableGauge()
		return
	}
	if at, ok := w.reported[uid]; ok && w.now().Sub(at) < resignalAfter {
		return
	}
	w.queue(workflows.PodRef{Namespace: pod.Namespace, Name: pod.Name, UID: uid})
	w.setUnschedulableGauge()
}

// queue puts a pod in the next flush; callers hold mu.
func (w *podWatcher) queue(ref workflows.PodRef) {
	if _, ok := w.queued[ref.UID]; !ok {
		w.queuedAt[ref.UID] = w.now()
	}
	w.queued[ref.UID] = ref
}

// unqueue takes a pod out of the queue; callers hold mu.
func (w *podWatcher) unqueue(uid string) {
	delete(w.queued, uid)
	delete(w.queuedAt, uid)
}

// due says whether a queued pod goes out at this flush: once the plan's cache shows it
// unschedulable, or once it has waited maxHold; callers hold mu.
func (w *podWatcher) due(ref workflows.PodRef, now time.Time) bool {
	if w.planned == nil || now.Sub(w.queuedAt[ref.UID]) >= maxHold {
		return true
	}
	pod, ok := w.planned(ref.Namespace, ref.Name)
	return ok && string(pod.UID) == ref.UID && activities.Unschedulable(pod)
}

// resignal reports every unschedulable pod again at the next flush: something that may let
// them schedule changed (a NodePool became ready), and waiting for resignalAfter would leave
// them pending for no reason.
func (w *podWatcher) resignal() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pods == nil {
		return
	}
	for _, obj := range w.pods.List() {
		if pod, ok := obj.(*corev1.Pod); ok && activities.Unschedulable(pod) {
			w.queue(workflows.PodRef{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)})
		}
	}
}

func (w *podWatcher) forget(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.reported, string(pod.UID))
	w.unqueue(string(pod.UID))
	w.setUnschedulableGauge()
}

// setUnschedulableGauge counts every pod known to be unschedulable, signalled or still
// queued (a pod waiting on a failing signal is pending all the same); callers hold mu.
func (w *podWatcher) setUnschedulableGauge() {
	n := len(w.reported)
	for uid := range w.queued {
		if _, ok := w.reported[uid]; !ok {
			n++
		}
	}
	w.metrics.unschedulablePods.Set(float64(n))
}

// flush signals every queued pod that is due at once; on failure they stay queued for the
// next tick.
func (w *podWatcher) flush(ctx context.Context) {
	w.mu.Lock()
	now := w.now()
	pods := make([]workflows.PodRef, 0, len(w.queued))
	for _, p := range w.queued {
		if w.due(p, now) {
			pods = append(pods, p)
		}
	}
	w.mu.Unlock()
	if len(pods) == 0 {
		return
	}
	slices.SortFunc(pods, func(a, b workflows.PodRef) int { return strings.Compare(a.Key(), b.Key()) })

	if err := w.signal(ctx, pods); err != nil {
		w.metrics.signalErrors.Inc()
		if ctx.Err() == nil {
			w.log.Warn("signal provisioner", "pods", len(pods), "err", err)
		}
		return
	}
	w.metrics.podsSignalled.Add(float64(len(pods)))
	now = w.now()
	w.mu.Lock()
	for _, p := range pods {
		if _, still := w.queued[p.UID]; still {
			w.unqueue(p.UID)
			w.reported[p.UID] = now
		}
	}
	w.setUnschedulableGauge()
	w.mu.Unlock()
}
