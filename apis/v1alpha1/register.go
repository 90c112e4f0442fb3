package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group is Nodewright's own API group.
const Group = "nodewright.io"

// SchemeGroupVersion is nodewright.io/v1alpha1.
var SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: "v1alpha1"}

// ClusterPolicyResource is the resource the API serves ClusterPolicies as.
var ClusterPolicyResource = SchemeGroupVersion.WithResource("clusterpolicies")

// KindClusterPolicy is the ClusterPolicy's kind.
const KindClusterPolicy = "ClusterPolicy"

// AddToScheme registers the group's types.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &ClusterPolicy{}, &ClusterPolicyList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
