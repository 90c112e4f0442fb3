package activities

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"go.temporal.io/sdk/activity"

	"github.com/nodewright/nodewright/schedulerengine"
)

// evictOutcome is what the Eviction API said about one pod.
type evictOutcome int

const (
	evictAccepted evictOutcome = iota
	// evictRefused: a PodDisruptionBudget allows no disruption now (429).
	evictRefused
	// evictGone: the pod, or the pod with this UID, no longer exists.
	evictGone
	// evictMultiplePDBs: more than one PodDisruptionBudget covers the pod, which the
	// Eviction API refuses (500) until someone removes one.
	evictMultiplePDBs
	// evictFailed: the API server could not carry the eviction out; the error says why.
	evictFailed
)

// multiplePDBsMessage is what the Eviction API answers for a pod under two budgets.
const multiplePDBsMessage = "more than one PodDisruptionBudget"

// evict asks the Eviction API to evict the pod, so PodDisruptionBudgets are respected. The
// error comes with evictFailed only.
func (k *Kube) evict(ctx context.Context, pod *corev1.Pod) (evictOutcome, error) {
	uid := pod.UID
	err := k.Client.PolicyV1().Evictions(pod.Namespace).Evict(ctx, &policyv1.Eviction{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		// The UID precondition keeps a pod recreated under the same name from being evicted.
		DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}},
	})
	switch {
	case err == nil:
		return evictAccepted, nil
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		return evictGone, nil
	case apierrors.IsTooManyRequests(err):
		return evictRefused, nil
	case strings.Contains(statusMessage(err), multiplePDBsMessage):
		return evictMultiplePDBs, nil
	default:
		return evictFailed, fmt.Errorf("evict %s: %w", schedulerengine.PodKey(pod), err)
	}
}

// statusMessage is the message of the API server's answer, "" for other errors.
func statusMessage(err error) string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return ""
	}
	return status.Status().Message
}

// deleteWithin deletes the pod so that it is gone within grace, bypassing its
// PodDisruptionBudget; it reports false if the pod was already gone.
func (k *Kube) deleteWithin(ctx context.Context, pod *corev1.Pod, grace time.Duration) (bool, error) {
	seconds := int64(max(grace, 0) / time.Second)
	uid := pod.UID
	err := k.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &seconds,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		return false, nil
	default:
		return false, fmt.Errorf("delete %s with %ds grace: %w", schedulerengine.PodKey(pod), seconds, err)
	}
}

// deadlineDelete says whether the deadline forces the pod's deletion now, and with how
// much grace: from deadline minus the pod's own grace period it gets what time is left,
// and from the deadline on, none. A pod already terminating is deleted again only when that
// shortens its shutdown to end by the deadline.
func deadlineDelete(pod *corev1.Pod, deadline, now time.Time) (time.Duration, bool) {
	if deadline.IsZero() || now.Before(deadline.Add(-podGracePeriod(pod))) {
		return 0, false
	}
	grace := max(deadline.Sub(now), 0)
	switch {
	case !isTerminating(pod):
		return grace, true
	case grace == 0 && (pod.DeletionGracePeriodSeconds == nil || *pod.DeletionGracePeriodSeconds > 0):
		return 0, true
	case grace > 0 && pod.DeletionTimestamp.After(deadline):
		return grace, true
	}
	return 0, false
}

// evictionBackoff is how long to wait before asking again after a pod's n-th refusal in a
// row: 100 ms doubling to 10 s, shortened by up to a quarter by a hash of the pod key so
// that the pods behind one budget do not retry in lockstep (and without a global rand).
func evictionBackoff(podKey string, refusals int) time.Duration {
	d := evictionBackoffMax
	if shift := max(refusals-1, 0); shift < 10 {
		d = min(evictionBackoffMin<<shift, evictionBackoffMax)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(podKey))
	jitter := time.Duration(uint64(d) * uint64(h.Sum32()%1024) / 4096)
	return max(d-jitter, evictionBackoffMin)
}

// recordPodEvent leaves an event on the pod saying what the drain did and why. An event is
// a courtesy to operators, so failing to write one is logged and not fatal.
func (k *Kube) recordPodEvent(ctx context.Context, pod *corev1.Pod, reason, message string) {
	now := metav1.NewTime(k.clock())
	event := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			// The name format client-go's event recorder uses.
			Name:      fmt.Sprintf("%s.%x", pod.Name, now.UnixNano()),
			Namespace: pod.Namespace,
		},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		},
		Reason:         reason,
		Message:        message,
		Type:           corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "nodewright", Host: pod.Spec.NodeName},
		FirstTimestamp: now,
		LastTimestamp:  now,
		Count:          1,
	}
	if _, err := k.Client.CoreV1().Events(pod.Namespace).Create(ctx, event, metav1.CreateOptions{}); err != nil {
		activity.GetLogger(ctx).Warn("could not record pod event", "pod", schedulerengine.PodKey(pod), "reason", reason, "error", err)
	}
}
