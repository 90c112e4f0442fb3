// Package v1alpha1 holds Nodewright's own nodewright.io/v1alpha1 API: the ClusterPolicy,
// which caps every NodePool's nodes together (cpu, memory, node count and dollars per hour),
// limits Karpenter has no way to express.
//
// +kubebuilder:object:generate=true
// +groupName=nodewright.io
package v1alpha1
