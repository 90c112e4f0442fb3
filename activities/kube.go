package activities

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"

	"go.temporal.io/sdk/activity"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// pollInterval is how often waiting activities look again. Lists ask for resourceVersion
// "0" so the apiserver answers from its watch cache rather than etcd.
const pollInterval = 250 * time.Millisecond

// DisruptedTaint keeps new pods off a node that is being drained.
func DisruptedTaint() corev1.Taint {
	return corev1.Taint{Key: v1.TaintKeyDisrupted, Effect: corev1.TaintEffectNoSchedule}
}

// Kube does the Kubernetes side of a node's life: registration, readiness, drain, delete.
type Kube struct {
	Client kubernetes.Interface
	// Recorder receives events about nodes (FailedDraining); nil records none.
	Recorder events.EventRecorder
	// InstanceTypeLabels gives an instance type's well-known labels; nil adds none.
	InstanceTypeLabels func(instanceType string) map[string]string
	// TerminationFinalizer puts karpenter.sh/termination on registered Nodes, so that
	// deleting one drains it through its workflow. Only set it where something acts on a
	// held Node's deletion (the worker with NodeClaims); otherwise a deleted Node would hang.
	TerminationFinalizer bool
	// now tells the time for drain deadlines and backoff; nil means time.Now. Tests set it.
	now func() time.Time
}

// clock is the time now, as Kube sees it.
func (k *Kube) clock() time.Time {
	if k.now == nil {
		return time.Now()
	}
	return k.now()
}

// WaitForNode polls until a Node with the provider ID exists and returns its name.
func (k *Kube) WaitForNode(ctx context.Context, providerID string) (string, error) {
	for {
		nodes, err := k.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return "", fmt.Errorf("wait for node %s: list nodes: %w", providerID, err)
		}
		for _, n := range nodes.Items {
			if n.Spec.ProviderID == providerID {
				return n.Name, nil
			}
		}
		activity.RecordHeartbeat(ctx, "no node with providerID "+providerID+" yet")
		if err := sleep(ctx, pollInterval); err != nil {
			return "", fmt.Errorf("wait for node %s: %w", providerID, err)
		}
	}
}

// SyncNode makes sure the Node carries the labels, annotations and taints, and the
// termination finalizer that holds it until its instance is gone (Karpenter's registration
// step). It only adds or corrects what is missing, under a resourceVersion precondition, so
// running it twice changes nothing.
func (k *Kube) SyncNode(ctx context.Context, req SyncRequest) error {
	err := k.updateNode(ctx, req.NodeName, func(node *corev1.Node) bool {
		changed := false
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		for key, value := range req.Labels {
			if cur, ok := node.Labels[key]; !ok || cur != value {
				node.Labels[key] = value
				changed = true
			}
		}
		if k.InstanceTypeLabels != nil && req.InstanceType != "" {
			for key, value := range k.InstanceTypeLabels(req.InstanceType) {
				if _, ok := node.Labels[key]; !ok { // what the kubelet reports stands
					node.Labels[key] = value
					changed = true
				}
			}
		}
		if len(req.Annotations) > 0 && node.Annotations == nil {
			node.Annotations = map[string]string{}
		}
		for key, value := range req.Annotations {
			if cur, ok := node.Annotations[key]; !ok || cur != value {
				node.Annotations[key] = value
				changed = true
			}
		}
		for _, t := range req.Taints {
			if setTaint(node, t) {
				changed = true
			}
		}
		// The node registered with this taint so that nothing lands on it before now.
		if kept := slices.DeleteFunc(slices.Clone(node.Spec.Taints), func(t corev1.Taint) bool {
			return t.Key == v1.TaintKeyUnregistered
		}); len(kept) != len(node.Spec.Taints) {
			node.Spec.Taints = kept
			changed = true
		}
		has := slices.Contains(node.Finalizers, FinalizerTermination)
		switch {
		case k.TerminationFinalizer && !has && node.DeletionTimestamp == nil:
			node.Finalizers = append(node.Finalizers, FinalizerTermination)
			changed = true
		case !k.TerminationFinalizer && has:
			// Put there while the worker ran with the CRDs: without them nothing would release it.
			node.Finalizers = slices.DeleteFunc(node.Finalizers, func(f string) bool { return f == FinalizerTermination })
			changed = true
		}
		return changed
	})
	if err != nil {
		return fmt.Errorf("sync node %s: %w", req.NodeName, err)
	}
	return nil
}

// WaitNodeReady polls until the Node's Ready condition is True.
func (k *Kube) WaitNodeReady(ctx context.Context, nodeName string) error {
	for {
		node, err := k.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{ResourceVersion: "0"})
		switch {
		case apierrors.IsNotFound(err):
			// A node may be briefly absent while its kubelet re-registers; keep waiting.
		case err != nil:
			return fmt.Errorf("wait for node %s ready: %w", nodeName, err)
		case nodeReady(node):
			return nil
		}
		activity.RecordHeartbeat(ctx, "node "+nodeName+" not Ready yet")
		if err := sleep(ctx, pollInterval); err != nil {
			return fmt.Errorf("wait for node %s ready: %w", nodeName, err)
		}
	}
}

// TaintNode adds the taint unless a taint with its key and effect is already there. A node
// that no longer exists needs no taint.
func (k *Kube) TaintNode(ctx context.Context, nodeName string, taint corev1.Taint) error {
	err := k.updateNode(ctx, nodeName, func(node *corev1.Node) bool { return setTaint(node, taint) })
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("taint node %s with %s: %w", nodeName, taint.ToString(), err)
	}
	return nil
}

// DeleteNode deletes the Node and releases its termination finalizer, which the caller does
// once the instance is terminated; one already gone counts as deleted.
func (k *Kube) DeleteNode(ctx context.Context, nodeName string) error {
	err := k.Client.CoreV1().Nodes().Delete(ctx, nodeName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", nodeName, err)
	}
	err = k.updateNode(ctx, nodeName, func(node *corev1.Node) bool { return removeFinalizer(node) })
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("release node %s: %w", nodeName, err)
	}
	return nil
}

// updateNode reads the node, lets mutate change it and writes it back if it reports a
// change, retrying on write conflicts.
func (k *Kube) updateNode(ctx context.Context, name string, mutate func(*corev1.Node) bool) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := k.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !mutate(node) {
			return nil
		}
		_, err = k.Client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

// setTaint adds t, or corrects the value of a taint with t's key and effect; it reports
// whether the node changed.
func setTaint(node *corev1.Node, t corev1.Taint) bool {
	for i := range node.Spec.Taints {
		cur := &node.Spec.Taints[i]
		if cur.MatchTaint(&t) {
			if cur.Value == t.Value {
				return false
			}
			cur.Value = t.Value
			return true
		}
	}
	node.Spec.Taints = append(node.Spec.Taints, t)
	return true
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
