package schedulerengine

import (
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// untoleratedTaint returns the first taint that keeps the pod off a node, or nil. Only
// NoSchedule and NoExecute taints block; PreferNoSchedule is a preference the kube-scheduler
// may ignore, so capacity behind it is still usable.
func untoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration) *corev1.Taint {
	if len(taints) == 0 {
		return nil
	}
	blocking := func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}
	// The helper logs only unparsable numeric toleration values; the engine keeps no logs.
	taint, found := corev1helpers.FindMatchingUntoleratedTaint(logr.Discard(), taints, tolerations, blocking, true)
	if !found {
		return nil
	}
	return &taint
}

func describeTaint(t *corev1.Taint) string {
	if t.Value == "" {
		return fmt.Sprintf("%s:%s", t.Key, t.Effect)
	}
	return fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect)
}
