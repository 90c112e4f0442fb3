package v1

import corev1 "k8s.io/api/core/v1"

// Karpenter's NodePool requirements accept two operators that core Kubernetes node selectors
// do not: inclusive numeric bounds.
const (
	NodeSelectorOpGte corev1.NodeSelectorOperator = "Gte"
	NodeSelectorOpLte corev1.NodeSelectorOperator = "Lte"
)

// RequirementOperators returns every operator a NodePool requirement may use, in the order
// error messages list them. It returns a fresh slice so callers cannot change the set.
func RequirementOperators() []corev1.NodeSelectorOperator {
	return []corev1.NodeSelectorOperator{
		corev1.NodeSelectorOpIn,
		corev1.NodeSelectorOpNotIn,
		corev1.NodeSelectorOpExists,
		corev1.NodeSelectorOpDoesNotExist,
		corev1.NodeSelectorOpGt,
		corev1.NodeSelectorOpLt,
		NodeSelectorOpGte,
		NodeSelectorOpLte,
	}
}
