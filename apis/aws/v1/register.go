package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group is the AWS provider's API group.
const Group = "karpenter.k8s.aws"

// SchemeGroupVersion is karpenter.k8s.aws/v1.
var SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: "v1"}

// EC2NodeClassResource is the resource the API serves EC2NodeClasses as.
var EC2NodeClassResource = SchemeGroupVersion.WithResource("ec2nodeclasses")

// KindEC2NodeClass is the node class kind NodePools refer to.
const KindEC2NodeClass = "EC2NodeClass"

// AddToScheme registers the group's types.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &EC2NodeClass{}, &EC2NodeClassList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
