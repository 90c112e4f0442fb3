package activities

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/nodewright/nodewright/schedulerengine"
)

// How the drain paces itself. A PodDisruptionBudget's refusal is retried per pod with a
// backoff from 100 ms to 10 s, as Karpenter's eviction queue does.
const (
	drainPollInterval  = 500 * time.Millisecond
	evictionBackoffMin = 100 * time.Millisecond
	evictionBackoffMax = 10 * time.Second
)

// Why a pod was not evicted voluntarily (DrainResult.Blocked).
const (
	BlockedByPDB          = "PDB"
	BlockedByDoNotDisrupt = "do-not-disrupt"
	// BlockedByMultiplePDBs: two budgets cover the pod and the Eviction API refuses it
	// until one is removed.
	BlockedByMultiplePDBs = "multiple PDBs"
	// BlockedByEvictionError: the API server failed the pod's eviction; DrainProgress's
	// FailedEvictions has the error.
	BlockedByEvictionError = "eviction error"
)

// ErrTypeInvalidDrain: the drain request can never succeed as given.
const ErrTypeInvalidDrain = "InvalidDrainRequest"

// DrainNode drains a node already tainted karpenter.sh/disrupted:NoSchedule, as
// Karpenter's terminator does. It evicts the pods through the Eviction API, so
// PodDisruptionBudgets hold, one tier at a time (see drainTier), moving on only once a
// tier's pods are gone; with a deadline it deletes each pod in time for it to be gone by
// then. Once the pods are gone it waits for the node's volumes to detach. Without a
// deadline, pods annotated karpenter.sh/do-not-disrupt stop it: it returns Completed false
// and names them in Blocked. It heartbeats DrainProgress and a retry resumes from it.
func (k *Kube) DrainNode(ctx context.Context, req DrainRequest) (DrainResult, error) {
	if req.NodeName == "" {
		return DrainResult{}, temporal.NewNonRetryableApplicationError("drain: no node name", ErrTypeInvalidDrain, nil)
	}
	if err := k.checkDrainable(ctx, req); err != nil {
		return DrainResult{}, err
	}
	d := &drain{kube: k, req: req, progress: resumeDrainProgress(ctx, req.NodeName), retryAt: map[string]time.Time{}}
	pods, emptied, err := d.evictAll(ctx)
	if err != nil {
		return DrainResult{}, fmt.Errorf("drain %s: %w", req.NodeName, err)
	}
	skipped := podKeys(pods.staying)
	if !emptied {
		result := d.progress.result(skipped, false)
		k.failedDraining(req.NodeName, result.Blocked)
		return result, nil
	}
	if err := d.waitForVolumes(ctx, pods.staying); err != nil {
		return DrainResult{}, fmt.Errorf("drain %s: %w", req.NodeName, err)
	}
	return d.progress.result(skipped, true), nil
}

// checkDrainable refuses a Node whose providerID names another instance than the request's.
// A Node that is gone has no pods to lose.
func (k *Kube) checkDrainable(ctx context.Context, req DrainRequest) error {
	if req.InstanceID == "" {
		return nil
	}
	return k.VerifyNode(ctx, NodeCheck{NodeName: req.NodeName, InstanceID: req.InstanceID}) // unwrapped: still non-retryable
}

// failedDraining records Karpenter's FailedDraining event on a node whose drain pods hold up.
func (k *Kube) failedDraining(nodeName string, blocked map[string]string) {
	if k.Recorder == nil || len(blocked) == 0 {
		return
	}
	k.Recorder.Eventf(nodeRef(nodeName), nil, corev1.EventTypeWarning, "FailedDraining", "Draining",
		"Failed to drain node, %d pods are waiting to be evicted: %s", len(blocked), describeBlocked(blocked))
}

// drain is one attempt at draining a node.
type drain struct {
	kube     *Kube
	req      DrainRequest
	progress DrainProgress
	// retryAt is when a pod refused by a PodDisruptionBudget may be asked again. A resumed
	// attempt asks at once and backs off from the refusal count it resumed.
	retryAt map[string]time.Time
}

// evictAll looks at the node's pods every poll and acts on them until none is left to wait
// for (emptied), or, without a deadline, only do-not-disrupt pods hold up the current tier.
// It returns its last look.
func (d *drain) evictAll(ctx context.Context) (nodePods, bool, error) {
	for {
		list, err := d.kube.podsOn(ctx, d.req.NodeName)
		if err != nil {
			return nodePods{}, false, err
		}
		now := d.kube.clock()
		pods := classifyForDrain(list, d.req.NodeName, now)
		d.observe(pods)
		tier, tierPods := pods.currentTier()
		if tier == tierCount {
			return pods, true, nil
		}
		deleted, err := d.deleteForDeadline(ctx, pods.allWaiting(), now)
		if err != nil {
			return pods, false, err
		}
		if err := d.evictTier(ctx, tierPods, deleted, now); err != nil {
			return pods, false, err
		}
		d.progress.heartbeat(ctx)
		if d.req.Deadline.IsZero() && d.onlyProtected(tierPods) {
			return pods, false, nil
		}
		if err := sleep(ctx, d.nextLook(tierPods, now)); err != nil {
			return pods, false, fmt.Errorf("%d pods left, %s first: %w", len(d.progress.PodsLeft), tier, err)
		}
	}
}

// observe brings the progress up to date with a look at the node.
func (d *drain) observe(pods nodePods) {
	waiting := pods.allWaiting()
	onNode := make(map[string]bool, len(waiting))
	for _, pod := range waiting {
		key := schedulerengine.PodKey(pod)
		onNode[key] = true
		switch {
		case d.protected(pod):
			d.progress.block(key, BlockedByDoNotDisrupt)
		case d.progress.Blocked[key] == BlockedByDoNotDisrupt:
			delete(d.progress.Blocked, key) // the annotation was removed
		}
	}
	d.progress.forget(onNode)
	maps.DeleteFunc(d.retryAt, func(key string, _ time.Time) bool { return !onNode[key] })
	d.progress.PodsLeft = podKeys(waiting)
	tier, _ := pods.currentTier()
	d.progress.Tier, d.progress.TierName = 0, ""
	if tier < tierCount {
		d.progress.Tier, d.progress.TierName = int(tier)+1, tier.String()
	}
}

// deleteForDeadline deletes the pods the deadline leaves no time to evict, whatever their
// tier, and returns their keys.
func (d *drain) deleteForDeadline(ctx context.Context, pods []*corev1.Pod, now time.Time) (map[string]bool, error) {
	deleted := map[string]bool{}
	for _, pod := range pods {
		grace, due := deadlineDelete(pod, d.req.Deadline, now)
		if !due {
			continue
		}
		key := schedulerengine.PodKey(pod)
		existed, err := d.kube.deleteWithin(ctx, pod, grace)
		if err != nil {
			return deleted, err
		}
		deleted[key] = true
		if !existed {
			continue
		}
		d.progress.Deleted = addUnique(d.progress.Deleted, key)
		why := "the node's termination grace period expired"
		if grace > 0 {
			why = fmt.Sprintf("the node's termination grace period expires in %s", grace.Truncate(time.Second))
		}
		d.kube.recordPodEvent(ctx, pod, "Deleted", d.eventMessage("Deleted pod: "+why))
	}
	return deleted, nil
}

// evictTier asks the Eviction API to evict the tier's pods that are due, leaving alone
// those already terminating or deleted and those that must not be disrupted. A pod whose
// eviction is refused or fails is asked again after a backoff, as Karpenter's eviction
// queue does, while the rest of the tier goes on.
func (d *drain) evictTier(ctx context.Context, pods []*corev1.Pod, deleted map[string]bool, now time.Time) error {
	for _, pod := range pods {
		key := schedulerengine.PodKey(pod)
		if deleted[key] || isTerminating(pod) || d.protected(pod) || now.Before(d.retryAt[key]) {
			continue
		}
		outcome, err := d.kube.evict(ctx, pod)
		if outcome == evictFailed && ctx.Err() != nil {
			return err // the activity is stopping, not the API server failing
		}
		switch outcome {
		case evictAccepted:
			d.progress.Evicted = addUnique(d.progress.Evicted, key)
			d.settled(key)
			d.kube.recordPodEvent(ctx, pod, "Evicted", d.eventMessage("Evicted pod"))
		case evictGone:
			d.settled(key)
		case evictRefused:
			d.refused(key, BlockedByPDB, now)
		case evictMultiplePDBs:
			d.refused(key, BlockedByMultiplePDBs, now)
		case evictFailed:
			d.failed(ctx, key, err, now)
		}
	}
	return nil
}

// refused backs off from a pod its PodDisruptionBudgets keep, and says why it stays.
func (d *drain) refused(key, why string, now time.Time) {
	refusals := d.progress.refused(key)
	delete(d.progress.FailedEvictions, key)
	d.retryAt[key] = now.Add(evictionBackoff(key, refusals))
	d.progress.block(key, why)
}

// failed backs off from a pod whose eviction the API server failed, and keeps the error
// for the heartbeat; the drain asks again as long as it lasts.
func (d *drain) failed(ctx context.Context, key string, err error, now time.Time) {
	failures := d.progress.evictionFailed(key, err)
	delete(d.progress.PDBRefusals, key)
	d.retryAt[key] = now.Add(evictionBackoff(key, failures))
	d.progress.block(key, BlockedByEvictionError)
	activity.GetLogger(ctx).Warn("eviction failed; asking again later", "pod", key, "failures", failures, "error", err)
}

// settled forgets a pod that is on its way out.
func (d *drain) settled(key string) {
	delete(d.retryAt, key)
	delete(d.progress.PDBRefusals, key)
	delete(d.progress.FailedEvictions, key)
	delete(d.progress.Blocked, key)
}

// nextLook is how long to wait before looking again: a poll, or less when a refused pod
// is due to be asked again sooner.
func (d *drain) nextLook(tierPods []*corev1.Pod, now time.Time) time.Duration {
	wait := drainPollInterval
	for _, pod := range tierPods {
		// A time already past belongs to a pod this pass asked, or one terminating anyway.
		if at := d.retryAt[schedulerengine.PodKey(pod)]; at.After(now) {
			wait = min(wait, at.Sub(now))
		}
	}
	return wait
}

func (d *drain) deadlinePassed(now time.Time) bool {
	return !d.req.Deadline.IsZero() && !now.Before(d.req.Deadline)
}

func (d *drain) eventMessage(what string) string {
	if d.req.Reason == "" {
		return what
	}
	return what + ": " + d.req.Reason
}

// podsOn lists the pods bound to the node, from the apiserver's watch cache.
func (k *Kube) podsOn(ctx context.Context, nodeName string) ([]corev1.Pod, error) {
	list, err := k.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("spec.nodeName", nodeName).String(),
		ResourceVersion: "0",
	})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	return list.Items, nil
}

// protected: the pod is annotated do-not-disrupt and the drain is not forceful.
func (d *drain) protected(pod *corev1.Pod) bool {
	return !d.req.Forceful && hasDoNotDisrupt(pod)
}

// onlyProtected: nothing in the tier will leave unless its pods' owners act.
func (d *drain) onlyProtected(pods []*corev1.Pod) bool {
	for _, pod := range pods {
		if !d.protected(pod) || isTerminating(pod) {
			return false
		}
	}
	return len(pods) > 0
}

// describeBlocked renders Blocked as "ns/a (do-not-disrupt), ns/b (PDB)".
func describeBlocked(blocked map[string]string) string {
	parts := make([]string, 0, len(blocked))
	for _, key := range slices.Sorted(maps.Keys(blocked)) {
		parts = append(parts, key+" ("+blocked[key]+")")
	}
	return strings.Join(parts, ", ")
}
