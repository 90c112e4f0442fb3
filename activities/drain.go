package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/klog/v2"

	"go.temporal.io/sdk/activity"

	"github.com/nodewright/nodewright/schedulerengine"
)

// Backoff between drain passes while a PodDisruptionBudget refuses evictions (429), as
// Karpenter's eviction queue backs off from 100 ms to 10 s.
const (
	evictionBackoffMin = 100 * time.Millisecond
	evictionBackoffMax = 10 * time.Second
)

// DrainProgress is the drain's heartbeat detail.
type DrainProgress struct {
	Remaining int `json:"remaining"`
	Blocked   int `json:"blocked"`
}

// Drain evicts the node's pods through the Eviction API, so PodDisruptionBudgets are
// respected, and returns once they are gone. It leaves mirror pods, DaemonSet pods and pods
// that tolerate the disrupted taint, which would come straight back.
func (k *Kube) Drain(ctx context.Context, nodeName string) (DrainResult, error) {
	var result DrainResult
	backoff := evictionBackoffMin
	for {
		pods, err := k.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("spec.nodeName", nodeName).String(),
		})
		if err != nil {
			return result, fmt.Errorf("drain %s: list pods: %w", nodeName, err)
		}
		drainable, skipped := classifyForDrain(pods.Items, nodeName)
		result.Skipped = skipped
		if len(drainable) == 0 {
			slices.Sort(result.Evicted)
			return result, nil
		}
		blocked := 0
		for _, pod := range drainable {
			if pod.DeletionTimestamp != nil {
				continue // already terminating; wait for it to go
			}
			evicted, err := k.evict(ctx, pod)
			switch {
			case err != nil:
				return result, fmt.Errorf("drain %s: %w", nodeName, err)
			case evicted:
				result.Evicted = appendUnique(result.Evicted, schedulerengine.PodKey(pod))
			default:
				blocked++
			}
		}
		activity.RecordHeartbeat(ctx, DrainProgress{Remaining: len(drainable), Blocked: blocked})
		wait := pollInterval
		if blocked > 0 {
			wait = backoff
			backoff = min(backoff*2, evictionBackoffMax)
		} else {
			backoff = evictionBackoffMin
		}
		if err := sleep(ctx, wait); err != nil {
			return result, fmt.Errorf("drain %s: %d pods left: %w", nodeName, len(drainable), err)
		}
	}
}

// evict asks the Eviction API to evict the pod. It returns false without error when a
// PodDisruptionBudget refuses for now (429); a pod already gone counts as evicted.
func (k *Kube) evict(ctx context.Context, pod *corev1.Pod) (bool, error) {
	uid := pod.UID
	err := k.Client.PolicyV1().Evictions(pod.Namespace).Evict(ctx, &policyv1.Eviction{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		// The UID precondition keeps a pod recreated under the same name from being evicted.
		DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}},
	})
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return true, nil
	case apierrors.IsTooManyRequests(err):
		return false, nil
	case apierrors.IsConflict(err):
		return true, nil // the UID changed: our pod is gone
	default:
		return false, fmt.Errorf("evict %s: %w", schedulerengine.PodKey(pod), err)
	}
}

// classifyForDrain splits the node's live pods into those to evict and the keys of those
// left alone. Finished pods hold no resources and are ignored.
func classifyForDrain(pods []corev1.Pod, nodeName string) (drainable []*corev1.Pod, skipped []string) {
	for i := range pods {
		pod := &pods[i]
		if pod.Spec.NodeName != nodeName || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		if isMirrorPod(pod) || isDaemonSetPod(pod) || toleratesDisrupted(pod) {
			skipped = append(skipped, schedulerengine.PodKey(pod))
			continue
		}
		drainable = append(drainable, pod)
	}
	slices.SortFunc(drainable, func(a, b *corev1.Pod) int {
		return strings.Compare(schedulerengine.PodKey(a), schedulerengine.PodKey(b))
	})
	slices.Sort(skipped)
	return drainable, skipped
}

func isMirrorPod(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[corev1.MirrorPodAnnotationKey]
	return ok
}

func isDaemonSetPod(pod *corev1.Pod) bool {
	owner := metav1.GetControllerOf(pod)
	return owner != nil && owner.Kind == "DaemonSet"
}

func toleratesDisrupted(pod *corev1.Pod) bool {
	taint := DisruptedTaint()
	for i := range pod.Spec.Tolerations {
		if pod.Spec.Tolerations[i].ToleratesTaint(klog.Background(), &taint, false) {
			return true
		}
	}
	return false
}

func appendUnique(keys []string, key string) []string {
	if slices.Contains(keys, key) {
		return keys
	}
	return append(keys, key)
}
