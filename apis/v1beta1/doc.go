// Package v1beta1 holds Karpenter's karpenter.sh/v1beta1 NodePool, the form many guides still
// show. Nodewright serves it only to convert it: objects are stored as karpenter.sh/v1, and
// the conversion (package apis/conversion) follows Karpenter v1.0's.
//
// +kubebuilder:object:generate=true
// +groupName=karpenter.sh
package v1beta1
