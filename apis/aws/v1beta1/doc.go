// Package v1beta1 holds the AWS provider's karpenter.k8s.aws/v1beta1 EC2NodeClass, served
// only to be converted to karpenter.k8s.aws/v1 as Karpenter v1.0 did.
//
// +kubebuilder:object:generate=true
// +groupName=karpenter.k8s.aws
package v1beta1
