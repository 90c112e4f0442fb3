package schedulerengine

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// PodKey names a pod as the Plan does: namespace/name.
func PodKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// PodRequests is what a pod needs from a node, as the kube-scheduler computes it:
// max(sum of containers and sidecars (restartable init containers), the largest init
// container plus the sidecars started before it) + pod overhead, with pod-level resources
// taking precedence where set. It also counts the pod's own slot as pods=1, since every pod
// uses one of the node's max-pods.
func PodRequests(p *corev1.Pod) corev1.ResourceList {
	reqs := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	reqs[corev1.ResourcePods] = *resource.NewQuantity(1, resource.DecimalSI)
	return reqs
}
