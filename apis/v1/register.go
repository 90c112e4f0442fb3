package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SchemeGroupVersion is karpenter.sh/v1.
var SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: "v1"}

// Resources of the group, as the API serves them.
var (
	NodePoolResource  = SchemeGroupVersion.WithResource("nodepools")
	NodeClaimResource = SchemeGroupVersion.WithResource("nodeclaims")
)

// Kinds of the group.
const (
	KindNodePool  = "NodePool"
	KindNodeClaim = "NodeClaim"
)

// AddToScheme registers the group's types, so that clients and the events recorder can
// name them.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &NodePool{}, &NodePoolList{}, &NodeClaim{}, &NodeClaimList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
