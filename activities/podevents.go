package activities

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// PodEvents remembers when a pod last arrived on or left each node: the clock that
// NodePools' consolidateAfter runs on (Karpenter's lastPodEventTime). It lives in the worker's
// memory; after a restart every node counts as just changed, which only delays consolidation.
type PodEvents struct {
	mu      sync.Mutex
	last    map[string]time.Time
	started time.Time
	now     func() time.Time
}

// NewPodEvents returns a tracker that knows nothing before now.
func NewPodEvents() *PodEvents {
	return &PodEvents{last: map[string]time.Time{}, started: time.Now(), now: time.Now}
}

// Run follows the pods of the factory's informer, the worker's one pod cache, until ctx ends.
func (e *PodEvents) Run(ctx context.Context, factory informers.SharedInformerFactory) error {
	inf := factory.Core().V1().Pods().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				e.touch(p.Spec.NodeName)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*corev1.Pod)
			n, ok2 := newObj.(*corev1.Pod)
			if !ok1 || !ok2 {
				return
			}
			if o.Spec.NodeName != n.Spec.NodeName || terminal(o) != terminal(n) || (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) {
				e.touch(n.Spec.NodeName)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				e.touch(p.Spec.NodeName)
			}
		},
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	<-ctx.Done()
	return nil
}

func (e *PodEvents) touch(node string) {
	if node == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last[node] = e.now()
}

// Last is when a pod last came or went on node, or when tracking started.
func (e *PodEvents) Last(node string) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.last[node]; ok && t.After(e.started) {
		return t
	}
	return e.started
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}
