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

// NodewrightGroup may stand for Group in a NodePool's nodeClassRef, naming the same
// EC2NodeClass, to give the pool to Nodewright when Karpenter runs in the same cluster:
// Karpenter acts only on NodePools and NodeClaims whose nodeClassRef names a group it serves,
// so it leaves those alone, and a worker started with --nodeclass-group nodewright.io serves
// only those.
const NodewrightGroup = "nodewright.io"

// IsEC2NodeClassRef reports whether a nodeClassRef's group and kind name an EC2NodeClass.
func IsEC2NodeClassRef(group, kind string) bool {
	return kind == KindEC2NodeClass && (group == Group || group == NodewrightGroup)
}

// AddToScheme registers the group's types.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &EC2NodeClass{}, &EC2NodeClassList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
