package clusterpolicy

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"

	"github.com/nodewright/nodewright/apis/v1alpha1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// LookAgainEvery is how often a worker without the ClusterPolicy CRD (or the RBAC to read
// it) checks whether it has been installed.
const LookAgainEvery = time.Minute

// Watcher serves the cluster-wide limits (activities.ClusterLimitsSource): the default
// ClusterPolicy's over the flags'. Build it with New and run it with Run.
type Watcher struct {
	dyn      dynamic.Interface
	flags    schedulerengine.ClusterLimits
	recorder events.EventRecorder
	log      *slog.Logger
	// lookAgain is LookAgainEvery, shorter in tests.
	lookAgain time.Duration
	onChange  func()

	mu      sync.RWMutex
	current schedulerengine.ClusterLimits
	// synced is set once the limits are the cluster's: the first policies seen, or the flags
	// when the cluster has no CRD (or denies reading it).
	synced atomic.Bool
}

// Synced reports whether the limits are the cluster's yet, for the worker's readiness.
func (w *Watcher) Synced() bool { return w.synced.Load() }

// New builds a watcher whose limits are the flags' until a default ClusterPolicy is seen.
func New(dyn dynamic.Interface, flags schedulerengine.ClusterLimits, recorder events.EventRecorder, log *slog.Logger) *Watcher {
	return &Watcher{dyn: dyn, flags: flags, recorder: recorder, log: log, lookAgain: LookAgainEvery, current: flags}
}

// OnChange calls f whenever the limits change, so that pods they held back are planned again
// at once. Call it before Run.
func (w *Watcher) OnChange(f func()) { w.onChange = f }

// ClusterLimits returns the limits as they are now.
func (w *Watcher) ClusterLimits() schedulerengine.ClusterLimits {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.current
}

// Run watches ClusterPolicies until ctx ends. Without the CRD it keeps the flags and looks
// again every LookAgainEvery.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.waitForCRD(ctx) {
		return nil
	}
	informer := dynamicinformer.NewFilteredDynamicInformer(w.dyn, v1alpha1.ClusterPolicyResource, "", 0, cache.Indexers{}, nil).Informer()
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, UpdateFunc: func(_, obj any) { poke(obj) }, DeleteFunc: poke,
	})
	go informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("ClusterPolicy cache did not sync")
	}
	if len(informer.GetStore().List()) == 0 {
		// No event comes for an empty store: the flags apply, and that is the cluster's word.
		w.sync(ctx, nil)
		w.synced.Store(true)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			w.sync(ctx, informer.GetStore().List())
			w.synced.Store(true)
		}
	}
}

// waitForCRD returns once ClusterPolicies can be listed, false when ctx ends first. It logs
// the first refusal only: a cluster without the CRD is a supported setup, not an error, and
// its flags are then the cluster's limits (synced). Any other failure is retried within
// seconds, the worker not ready meanwhile.
func (w *Watcher) waitForCRD(ctx context.Context) bool {
	logged := false
	for {
		_, err := w.dyn.Resource(v1alpha1.ClusterPolicyResource).List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			if logged {
				w.log.Info("ClusterPolicy CRD found: cluster-wide limits now come from the default ClusterPolicy over the flags")
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		absent := apierrors.IsNotFound(err) || apierrors.IsForbidden(err)
		if absent {
			w.synced.Store(true)
		}
		if !logged {
			reason := err.Error()
			if apierrors.IsNotFound(err) {
				reason = "the ClusterPolicy CRD is not installed"
			}
			w.log.Info("cluster-wide limits come from the flags: ClusterPolicies cannot be read", "reason", reason,
				"limits", describe(w.flags), "lookAgainEvery", w.lookAgain)
			logged = true
		}
		wait := w.lookAgain
		if !absent {
			wait = min(wait, transientRetry)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
	}
}

// transientRetry is how soon a failed read that is not "no CRD" or "not allowed" is retried.
const transientRetry = 5 * time.Second

// sync applies the default policy among objs, or the flags without one, and reports on every
// policy in its status.
func (w *Watcher) sync(ctx context.Context, objs []any) {
	var found bool
	for _, obj := range objs {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		if u.GetName() != v1alpha1.DefaultName {
			w.report(ctx, u, metav1.ConditionFalse, "Ignored",
				fmt.Sprintf("only the ClusterPolicy named %q is read: move these limits into it and delete this one", v1alpha1.DefaultName))
			continue
		}
		found = true
		w.apply(ctx, u)
	}
	if !found {
		w.set(w.flags, "no ClusterPolicy named default")
	}
}

// apply reads the default policy and uses its limits. One that cannot be read is not
// applied: the flags' limits hold until it is fixed, as on every replica alike (keeping the
// last limits applied would leave replicas started later on others, each writing its own
// status over the others').
func (w *Watcher) apply(ctx context.Context, u *unstructured.Unstructured) {
	var policy v1alpha1.ClusterPolicy
	err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &policy)
	var limits schedulerengine.ClusterLimits
	if err == nil {
		limits, err = Limits(policy.Spec, w.flags)
	}
	if err != nil {
		w.set(w.flags, "the worker's flags: ClusterPolicy default cannot be read")
		w.report(ctx, u, metav1.ConditionFalse, "InvalidSpec", fmt.Sprintf("%v; until it is fixed the worker's flags apply (%s)", err, describe(w.flags)))
		return
	}
	w.set(limits, "ClusterPolicy default")
	w.report(ctx, u, metav1.ConditionTrue, "Applied", "applied: "+describe(limits)+" (fields left out keep the worker's flags)")
}

// set makes limits the current ones, calling OnChange's function when they differ.
func (w *Watcher) set(limits schedulerengine.ClusterLimits, from string) {
	w.mu.Lock()
	same := equal(w.current, limits)
	w.current = limits
	w.mu.Unlock()
	if same {
		return
	}
	w.log.Info("cluster-wide limits changed", "limits", describe(limits), "from", from)
	if w.onChange != nil {
		w.onChange()
	}
}

// report writes the policy's Ready condition when it changes, with a Warning event when it
// turns False.
func (w *Watcher) report(ctx context.Context, u *unstructured.Unstructured, status metav1.ConditionStatus, reason, message string) {
	var policy v1alpha1.ClusterPolicy
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &policy)
	conditions := policy.Status.Conditions
	if !apimeta.SetStatusCondition(&conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: status, Reason: reason,
		Message: message, ObservedGeneration: u.GetGeneration()}) {
		return
	}
	if status == metav1.ConditionFalse {
		if w.recorder != nil {
			w.recorder.Eventf(u, nil, corev1.EventTypeWarning, reason, "Applying", "ClusterPolicy %s: %s", u.GetName(), message)
		}
		w.log.Warn("ClusterPolicy not applied", "name", u.GetName(), "reason", reason, "message", message)
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&v1alpha1.ClusterPolicyStatus{Conditions: conditions})
	if err != nil {
		return
	}
	obj := u.DeepCopy()
	obj.Object["status"] = content
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := w.dyn.Resource(v1alpha1.ClusterPolicyResource).UpdateStatus(ctx, obj, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
		w.log.Warn("update ClusterPolicy status", "name", u.GetName(), "error", err)
	}
}

func equal(a, b schedulerengine.ClusterLimits) bool {
	if (a.MaxHourlyCost == nil) != (b.MaxHourlyCost == nil) || a.MaxHourlyCost != nil && *a.MaxHourlyCost != *b.MaxHourlyCost {
		return false
	}
	if len(a.Resources) != len(b.Resources) {
		return false
	}
	for name, q := range a.Resources {
		if other, ok := b.Resources[name]; !ok || q.Cmp(other) != 0 {
			return false
		}
	}
	return true
}
