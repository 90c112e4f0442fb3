package activities

import (
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/tools/cache"
)

// clusterChanges counts the changes a disruption decision could see in pods, Nodes and
// PodDisruptionBudgets. Writes that tell it nothing are not counted: a kubelet's status
// report (heartbeat times, images, container states) changes a Node or a pod every few
// minutes, and counting those would leave no pass at rest.
type clusterChanges struct {
	n atomic.Uint64
}

// watch counts the informer's changes that matter, as relevant tells them.
func (c *clusterChanges) watch(informer cache.SharedIndexInformer, relevant func(old, obj any) bool) {
	// The handler only fails on an informer that has stopped, which then sees no changes.
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { c.n.Add(1) },
		UpdateFunc: func(old, obj any) {
			if relevant(old, obj) {
				c.n.Add(1)
			}
		},
		DeleteFunc: func(any) { c.n.Add(1) },
	})
}

func (c *clusterChanges) count() uint64 { return c.n.Load() }

// anyChange counts every update (PodDisruptionBudgets: their allowed disruptions are status).
func anyChange(_, _ any) bool { return true }

// nodeChanged: what a disruption decision reads of a Node (disruption.Node, drift).
func nodeChanged(old, obj any) bool {
	a, okA := old.(*corev1.Node)
	b, okB := obj.(*corev1.Node)
	if !okA || !okB {
		return true
	}
	return !equality.Semantic.DeepEqual(a.Labels, b.Labels) ||
		!equality.Semantic.DeepEqual(a.Annotations, b.Annotations) ||
		!equality.Semantic.DeepEqual(a.Spec, b.Spec) ||
		!equality.Semantic.DeepEqual(a.Status.Allocatable, b.Status.Allocatable) ||
		!equality.Semantic.DeepEqual(readyCondition(a), readyCondition(b)) ||
		!a.DeletionTimestamp.Equal(b.DeletionTimestamp)
}

// readyCondition is the Node's Ready status and when it last changed, without the heartbeat.
func readyCondition(n *corev1.Node) corev1.NodeCondition {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return corev1.NodeCondition{Status: c.Status, LastTransitionTime: c.LastTransitionTime}
		}
	}
	return corev1.NodeCondition{}
}

// podChanged: what a disruption decision reads of a pod: where it runs, whether it is
// finished or going, what it asks for, its annotations (do-not-disrupt) and labels
// (PodDisruptionBudgets' selectors), and, unbound, whether the kube-scheduler found it no
// room (waitingForNode).
func podChanged(old, obj any) bool {
	a, okA := old.(*corev1.Pod)
	b, okB := obj.(*corev1.Pod)
	if !okA || !okB {
		return true
	}
	return a.Status.Phase != b.Status.Phase ||
		!equality.Semantic.DeepEqual(a.Status.StartTime, b.Status.StartTime) ||
		!a.DeletionTimestamp.Equal(b.DeletionTimestamp) ||
		!equality.Semantic.DeepEqual(a.Labels, b.Labels) ||
		!equality.Semantic.DeepEqual(a.Annotations, b.Annotations) ||
		!equality.Semantic.DeepEqual(a.OwnerReferences, b.OwnerReferences) ||
		!equality.Semantic.DeepEqual(a.Spec, b.Spec) ||
		Unschedulable(a) != Unschedulable(b)
}
