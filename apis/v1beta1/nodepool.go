package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// NodePool is karpenter.sh/v1beta1 NodePool.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=karpenter
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="NodeClass",type="string",JSONPath=".spec.template.spec.nodeClassRef.name"
// +kubebuilder:printcolumn:name="Weight",type="string",JSONPath=".spec.weight",priority=1
type NodePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// +required
	Spec   NodePoolSpec   `json:"spec"`
	Status NodePoolStatus `json:"status,omitempty"`
}

// NodePoolList is a list of v1beta1 NodePools.
//
// +kubebuilder:object:root=true
type NodePoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NodePool `json:"items"`
}

// NodePoolSpec is the v1beta1 pool: expireAfter sits under disruption, kubelet under the
// template.
type NodePoolSpec struct {
	// +required
	Template NodeClaimTemplate `json:"template"`
	// +kubebuilder:default:={"consolidationPolicy": "WhenUnderutilized", "expireAfter": "720h"}
	// +optional
	Disruption Disruption `json:"disruption"`
	// +optional
	Limits corev1.ResourceList `json:"limits,omitempty"`
	// +kubebuilder:validation:Minimum:=1
	// +kubebuilder:validation:Maximum:=100
	// +optional
	Weight *int32 `json:"weight,omitempty"`
}

// NodeClaimTemplate is the v1beta1 template.
type NodeClaimTemplate struct {
	// +optional
	ObjectMeta v1.TemplateMeta `json:"metadata,omitempty"`
	// +required
	Spec NodeClaimSpec `json:"spec"`
}

// NodeClaimSpec is the v1beta1 template spec.
type NodeClaimSpec struct {
	// +optional
	Taints []corev1.Taint `json:"taints,omitempty"`
	// +optional
	StartupTaints []corev1.Taint `json:"startupTaints,omitempty"`
	// +kubebuilder:validation:MaxItems:=100
	// +kubebuilder:validation:XValidation:message="label \"karpenter.sh/nodepool\" is restricted",rule="self.all(x, x.key != \"karpenter.sh/nodepool\")"
	// +kubebuilder:validation:XValidation:message="requirements with operator 'In' must have a value defined",rule="self.all(x, x.operator == 'In' ? x.values.size() != 0 : true)"
	// +kubebuilder:validation:XValidation:message="requirements operator 'Gt' or 'Lt' must have a single positive integer value",rule="self.all(x, (x.operator == 'Gt' || x.operator == 'Lt') ? (x.values.size() == 1 && int(x.values[0]) >= 0) : true)"
	// +kubebuilder:validation:XValidation:message="requirements with 'minValues' must have at least that many values specified in the 'values' field",rule="self.all(x, (x.operator == 'In' && has(x.minValues)) ? x.values.size() >= x.minValues : true)"
	// +required
	Requirements []v1.NodeSelectorRequirementWithMinValues `json:"requirements"`
	// Kubelet moved to the EC2NodeClass in v1; converting keeps it on the NodePool in the
	// annotation compatibility.karpenter.sh/v1beta1-kubelet-conversion.
	// +optional
	Kubelet *awsv1.KubeletConfiguration `json:"kubelet,omitempty"`
	// +required
	NodeClassRef *NodeClassReference `json:"nodeClassRef"`
}

// NodeClassReference is v1beta1's: apiVersion instead of group, kind and apiVersion optional.
type NodeClassReference struct {
	// +optional
	Kind string `json:"kind,omitempty"`
	// +required
	Name string `json:"name"`
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
}

// ConsolidationPolicy is v1beta1's: WhenUnderutilized became WhenEmptyOrUnderutilized.
//
// +kubebuilder:validation:Enum:={WhenEmpty,WhenUnderutilized}
type ConsolidationPolicy string

const (
	ConsolidationPolicyWhenEmpty         ConsolidationPolicy = "WhenEmpty"
	ConsolidationPolicyWhenUnderutilized ConsolidationPolicy = "WhenUnderutilized"
)

// Disruption is v1beta1's, with expireAfter.
//
// +kubebuilder:validation:XValidation:message="consolidateAfter cannot be combined with consolidationPolicy=WhenUnderutilized",rule="has(self.consolidateAfter) ? self.consolidationPolicy != 'WhenUnderutilized' || self.consolidateAfter == 'Never' : true"
// +kubebuilder:validation:XValidation:message="consolidateAfter must be specified with consolidationPolicy=WhenEmpty",rule="self.consolidationPolicy == 'WhenEmpty' ? has(self.consolidateAfter) : true"
type Disruption struct {
	// +kubebuilder:validation:Pattern=`^(([0-9]+(s|m|h))+)|(Never)$`
	// +kubebuilder:validation:Type="string"
	// +kubebuilder:validation:Schemaless
	// +optional
	ConsolidateAfter *v1.NillableDuration `json:"consolidateAfter,omitempty"`
	// +kubebuilder:default:="WhenUnderutilized"
	// +optional
	ConsolidationPolicy ConsolidationPolicy `json:"consolidationPolicy,omitempty"`
	// +kubebuilder:default:="720h"
	// +kubebuilder:validation:Pattern=`^(([0-9]+(s|m|h))+)|(Never)$`
	// +kubebuilder:validation:Type="string"
	// +kubebuilder:validation:Schemaless
	// +optional
	ExpireAfter v1.NillableDuration `json:"expireAfter,omitzero"`
	// +kubebuilder:default:={{nodes: "10%"}}
	// +kubebuilder:validation:MaxItems:=50
	// +kubebuilder:validation:XValidation:message="'schedule' must be set with 'duration'",rule="self.all(x, has(x.schedule) == has(x.duration))"
	// +optional
	Budgets []Budget `json:"budgets,omitempty"`
}

// Budget is v1beta1's: no reasons.
type Budget struct {
	// +kubebuilder:default:="10%"
	// +kubebuilder:validation:Pattern:="^((100|[0-9]{1,2})%|[0-9]+)$"
	// +required
	Nodes string `json:"nodes"`
	// +kubebuilder:validation:Pattern:=`^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))|((.+)\s(.+)\s(.+)\s(.+)\s(.+))$`
	// +optional
	Schedule *string `json:"schedule,omitempty"`
	// +kubebuilder:validation:Pattern=`^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$`
	// +kubebuilder:validation:Type="string"
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// NodePoolStatus is v1beta1's.
type NodePoolStatus struct {
	// +optional
	Resources corev1.ResourceList `json:"resources,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
