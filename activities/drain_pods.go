package activities

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// drainTier orders evictions as Karpenter's terminator does: workloads leave before the
// DaemonSets that serve them (log shippers, CNI agents), and critical pods last.
type drainTier int

const (
	tierNonCritical drainTier = iota
	tierNonCriticalDaemonSet
	tierCritical
	tierCriticalDaemonSet
	tierCount
)

func (t drainTier) String() string {
	switch t {
	case tierNonCritical:
		return "non-critical pods"
	case tierNonCriticalDaemonSet:
		return "non-critical daemonset pods"
	case tierCritical:
		return "critical pods"
	case tierCriticalDaemonSet:
		return "critical daemonset pods"
	}
	return "none"
}

// stuckTerminatingAfter: a pod still there this long past its deletion timestamp (which
// already includes its grace period) has a kubelet that will not confirm it; waiting longer
// would only hold the node, as Karpenter's IsStuckTerminating decides.
const stuckTerminatingAfter = time.Minute

// nodePods is one look at a node's pods, sorted by key within each group.
type nodePods struct {
	// waiting are the pods the drain must see gone, by tier.
	waiting [tierCount][]*corev1.Pod
	// staying are left on the node: mirror pods, finished pods, pods that tolerate the
	// disrupted taint and pods stuck terminating.
	staying []*corev1.Pod
}

// classifyForDrain sorts the node's pods. Pods bound elsewhere are ignored, since the fake
// and stale caches may not honour the field selector.
func classifyForDrain(pods []corev1.Pod, nodeName string, now time.Time) nodePods {
	var np nodePods
	for i := range pods {
		pod := &pods[i]
		switch {
		case pod.Spec.NodeName != nodeName:
		case isMirrorPod(pod), isTerminal(pod), toleratesDisrupted(pod), isStuckTerminating(pod, now):
			np.staying = append(np.staying, pod)
		default:
			np.waiting[tierOf(pod)] = append(np.waiting[tierOf(pod)], pod)
		}
	}
	for t := range np.waiting {
		slices.SortFunc(np.waiting[t], comparePodKeys)
	}
	slices.SortFunc(np.staying, comparePodKeys)
	return np
}

// currentTier is the first tier with pods left, and its pods; tierCount when none are left.
func (np *nodePods) currentTier() (drainTier, []*corev1.Pod) {
	for t := range tierCount {
		if len(np.waiting[t]) > 0 {
			return t, np.waiting[t]
		}
	}
	return tierCount, nil
}

// allWaiting lists the waiting pods of every tier.
func (np *nodePods) allWaiting() []*corev1.Pod {
	var all []*corev1.Pod
	for t := range tierCount {
		all = append(all, np.waiting[t]...)
	}
	return all
}

func tierOf(pod *corev1.Pod) drainTier {
	critical := isCritical(pod)
	daemon := isDaemonSetPod(pod)
	switch {
	case critical && daemon:
		return tierCriticalDaemonSet
	case critical:
		return tierCritical
	case daemon:
		return tierNonCriticalDaemonSet
	}
	return tierNonCritical
}

func isCritical(pod *corev1.Pod) bool {
	return pod.Spec.PriorityClassName == "system-cluster-critical" || pod.Spec.PriorityClassName == "system-node-critical"
}

func isMirrorPod(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[corev1.MirrorPodAnnotationKey]
	return ok
}

func isTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func isTerminating(pod *corev1.Pod) bool { return pod.DeletionTimestamp != nil }

func isStuckTerminating(pod *corev1.Pod, now time.Time) bool {
	return isTerminating(pod) && now.Sub(pod.DeletionTimestamp.Time) > stuckTerminatingAfter
}

func isDaemonSetPod(pod *corev1.Pod) bool {
	owner := metav1.GetControllerOf(pod)
	return owner != nil && owner.Kind == "DaemonSet" && strings.HasPrefix(owner.APIVersion, "apps/")
}

func hasDoNotDisrupt(pod *corev1.Pod) bool {
	return pod.Annotations[v1.AnnotationDoNotDisrupt] == "true"
}

// toleratesDisrupted: such a pod could be scheduled straight back, so evicting it is futile.
func toleratesDisrupted(pod *corev1.Pod) bool {
	taint := DisruptedTaint()
	for i := range pod.Spec.Tolerations {
		if pod.Spec.Tolerations[i].ToleratesTaint(klog.Background(), &taint, false) {
			return true
		}
	}
	return false
}

// podGracePeriod is how long the pod asks to shut down, the API's 30 s default when unset.
func podGracePeriod(pod *corev1.Pod) time.Duration {
	if s := pod.Spec.TerminationGracePeriodSeconds; s != nil {
		return time.Duration(*s) * time.Second
	}
	return corev1.DefaultTerminationGracePeriodSeconds * time.Second
}

func comparePodKeys(a, b *corev1.Pod) int {
	return strings.Compare(schedulerengine.PodKey(a), schedulerengine.PodKey(b))
}

func podKeys(pods []*corev1.Pod) []string {
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = schedulerengine.PodKey(p)
	}
	return keys
}
