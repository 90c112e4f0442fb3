package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultName is the name of the one ClusterPolicy the worker reads; any other is ignored,
// with a warning, so that two policies can never disagree.
const DefaultName = "default"

// ConditionReady says whether the worker applies the policy.
const ConditionReady = "Ready"

// ClusterPolicy is nodewright.io/v1alpha1 ClusterPolicy: limits across every NodePool. It is
// a singleton named "default".
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=clusterpolicies,scope=Cluster,categories=nodewright
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="MaxHourlyCost",type="string",JSONPath=".spec.maxHourlyCost"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type ClusterPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// +optional
	Spec ClusterPolicySpec `json:"spec,omitempty"`
	// +optional
	Status ClusterPolicyStatus `json:"status,omitempty"`
}

// ClusterPolicyList is a list of ClusterPolicies.
//
// +kubebuilder:object:root=true
type ClusterPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterPolicy `json:"items"`
}

// ClusterPolicySpec caps the nodes of every NodePool together. A field left out caps nothing
// here; the worker's flag for it, if set, applies instead.
type ClusterPolicySpec struct {
	// Limits cap the summed capacity of every NodePool's nodes, as a NodePool's spec.limits
	// caps its own: cpu, memory, and nodes for the node count.
	// +optional
	Limits Limits `json:"limits,omitempty"`
	// MaxHourlyCost caps, in dollars per hour, the summed price of every NodePool's nodes:
	// running, in flight and planned. A plain decimal such as "40.00".
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	MaxHourlyCost string `json:"maxHourlyCost,omitempty"`
}

// Limits are resource quantities by name: cpu, memory and nodes.
//
// +kubebuilder:validation:XValidation:message="limits may name only cpu, memory and nodes",rule="self.all(k, k in ['cpu', 'memory', 'nodes'])"
// +kubebuilder:validation:XValidation:message="limits must not be negative: give a quantity such as \"256\" or \"1Ti\", or leave it out",rule="self.all(k, !string(self[k]).startsWith('-'))"
// +kubebuilder:validation:MaxProperties=3
type Limits map[string]resource.Quantity

// ClusterPolicyStatus says whether the worker applies the policy.
type ClusterPolicyStatus struct {
	// Conditions hold Ready: True when the worker applies the policy; False, with the reason,
	// when it cannot read it or ignores it (a name other than "default").
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
