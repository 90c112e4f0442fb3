// Package v1 holds the AWS provider's karpenter.k8s.aws/v1 EC2NodeClass: where and how the
// nodes of a NodePool are launched (subnets, security groups, AMIs, instance profile, user
// data, volumes, metadata options, kubelet settings). Field names, defaults and validation
// follow Karpenter's AWS provider so a user's EC2NodeClass applies unchanged.
//
// +kubebuilder:object:generate=true
// +groupName=karpenter.k8s.aws
package v1
