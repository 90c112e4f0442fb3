package conversion

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/apis/v1beta1"
)

// Annotations that carry across a conversion what the other version cannot hold. The
// compatibility.* and stored-version-migrated keys are Karpenter's own.
const (
	// AnnotationKubelet holds a v1beta1 NodePool's kubelet (JSON) on its v1 form.
	AnnotationKubelet = "compatibility.karpenter.sh/v1beta1-kubelet-conversion"
	// AnnotationNodeClassReference holds a v1beta1 NodePool's nodeClassRef (JSON) on its v1
	// form, so that it converts back as it was written.
	AnnotationNodeClassReference = "compatibility.karpenter.sh/v1beta1-nodeclass-reference"
	// AnnotationStoredVersionMigrated is set by Karpenter's storage-version migration; a
	// conversion to v1beta1 drops it so that the migration runs again.
	AnnotationStoredVersionMigrated = "karpenter.sh/stored-version-migrated"
	// AnnotationV1Fields holds, on a v1beta1 object, the v1 fields v1beta1 has no place for.
	AnnotationV1Fields = "nodewright.io/v1-fields"
)

// poolV1Fields are a v1 NodePool's settings that v1beta1 cannot express.
type poolV1Fields struct {
	TerminationGracePeriod *metav1.Duration `json:"terminationGracePeriod,omitempty"`
	// ConsolidateAfter is kept when the policy is WhenEmptyOrUnderutilized, which v1beta1
	// (WhenUnderutilized) allows only without one.
	ConsolidateAfter    *v1.NillableDuration   `json:"consolidateAfter,omitempty"`
	ConsolidationPolicy v1.ConsolidationPolicy `json:"consolidationPolicy,omitempty"`
	Budgets             []v1.Budget            `json:"budgets,omitempty"`
	Replicas            *int64                 `json:"replicas,omitempty"`
	NodeClassGroup      string                 `json:"nodeClassGroup,omitempty"`
}

func (f poolV1Fields) empty() bool {
	return f.TerminationGracePeriod == nil && f.ConsolidateAfter == nil && f.ConsolidationPolicy == "" &&
		f.Budgets == nil && f.Replicas == nil && f.NodeClassGroup == ""
}

// NodePoolToV1 converts a v1beta1 NodePool to v1. The warnings name v1beta1 settings that v1
// keeps elsewhere or does not keep.
func NodePoolToV1(in *v1beta1.NodePool) (*v1.NodePool, []string, error) {
	in = in.DeepCopy()
	out := &v1.NodePool{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1.SchemeGroupVersion.String(), Kind: v1.KindNodePool},
		ObjectMeta: in.ObjectMeta,
	}
	var warnings []string
	annotations := maps.Clone(in.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	extra := poolV1Fields{}
	if raw, ok := annotations[AnnotationV1Fields]; ok {
		if err := json.Unmarshal([]byte(raw), &extra); err != nil {
			return nil, nil, fmt.Errorf("annotation %s: %w", AnnotationV1Fields, err)
		}
		delete(annotations, AnnotationV1Fields)
	}

	spec, tmpl := &out.Spec, in.Spec.Template
	spec.Weight = in.Spec.Weight
	spec.Limits = in.Spec.Limits
	spec.Replicas = extra.Replicas
	spec.Template.ObjectMeta = tmpl.ObjectMeta
	spec.Template.Spec = v1.NodeClaimTemplateSpec{
		Taints:                 tmpl.Spec.Taints,
		StartupTaints:          tmpl.Spec.StartupTaints,
		Requirements:           tmpl.Spec.Requirements,
		ExpireAfter:            in.Spec.Disruption.ExpireAfter,
		TerminationGracePeriod: extra.TerminationGracePeriod,
		NodeClassRef:           nodeClassRefToV1(tmpl.Spec.NodeClassRef, extra.NodeClassGroup),
	}
	if ref, err := json.Marshal(tmpl.Spec.NodeClassRef); err == nil {
		annotations[AnnotationNodeClassReference] = string(ref)
	}
	if k := tmpl.Spec.Kubelet; k != nil {
		data, err := json.Marshal(k)
		if err != nil {
			return nil, nil, fmt.Errorf("spec.template.spec.kubelet: %w", err)
		}
		annotations[AnnotationKubelet] = string(data)
		warnings = append(warnings, fmt.Sprintf("spec.template.spec.kubelet: v1 keeps kubelet settings on the EC2NodeClass (spec.kubelet); "+
			"they are kept in the annotation %s and override the class's for this pool's nodes. Move them to EC2NodeClass %q",
			AnnotationKubelet, nodeClassName(tmpl.Spec.NodeClassRef)))
	} else {
		delete(annotations, AnnotationKubelet)
	}

	d := in.Spec.Disruption
	if d.ExpireAfter.Set {
		warnings = append(warnings, "spec.disruption.expireAfter moved to spec.template.spec.expireAfter")
	}
	switch d.ConsolidationPolicy {
	case v1beta1.ConsolidationPolicyWhenUnderutilized:
		spec.Disruption.ConsolidationPolicy = v1.ConsolidationPolicyWhenEmptyOrUnderutilized
		spec.Disruption.ConsolidateAfter = v1.DurationOf(0)
		if d.ConsolidateAfter != nil && d.ConsolidateAfter.Never {
			warnings = append(warnings, "spec.disruption.consolidateAfter: Never with WhenUnderutilized becomes 0s with WhenEmptyOrUnderutilized, "+
				"as in Karpenter v1; set consolidateAfter: Never again to keep consolidation off")
		}
		if extra.ConsolidationPolicy != "" {
			spec.Disruption.ConsolidationPolicy = extra.ConsolidationPolicy
		}
		if extra.ConsolidateAfter != nil {
			spec.Disruption.ConsolidateAfter = *extra.ConsolidateAfter
		}
	default:
		spec.Disruption.ConsolidationPolicy = v1.ConsolidationPolicy(d.ConsolidationPolicy)
		spec.Disruption.ConsolidateAfter = v1.Never
		if d.ConsolidateAfter != nil {
			spec.Disruption.ConsolidateAfter = *d.ConsolidateAfter
		}
	}
	// Kept reasons come back by position, onto budgets left as they were, unless a budget was
	// removed: then positions may have shifted, a reason could land on another budget and lift
	// the limit of every other reason, so none come back and each budget limits all reasons,
	// the safe side. Budgets appended on v1beta1 keep the others' positions.
	positional := len(d.Budgets) >= len(extra.Budgets)
	for i, b := range d.Budgets {
		budget := v1.Budget{Nodes: b.Nodes, Schedule: b.Schedule, Duration: b.Duration}
		if positional && i < len(extra.Budgets) && sameBudget(extra.Budgets[i], budget) {
			budget.Reasons = extra.Budgets[i].Reasons
		}
		spec.Disruption.Budgets = append(spec.Disruption.Budgets, budget)
	}
	out.Status = v1.NodePoolStatus{Resources: in.Status.Resources, Conditions: in.Status.Conditions}
	out.Annotations = annotations
	return out, warnings, nil
}

// NodePoolToV1beta1 converts a v1 NodePool to v1beta1. The warnings name v1 settings that
// v1beta1 cannot hold; they are kept in the annotation nodewright.io/v1-fields and come
// back on the way up.
func NodePoolToV1beta1(in *v1.NodePool) (*v1beta1.NodePool, []string, error) {
	in = in.DeepCopy()
	out := &v1beta1.NodePool{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.SchemeGroupVersion.String(), Kind: v1.KindNodePool},
		ObjectMeta: in.ObjectMeta,
	}
	annotations := maps.Clone(in.Annotations)
	for _, k := range []string{AnnotationKubelet, AnnotationNodeClassReference, AnnotationStoredVersionMigrated, AnnotationV1Fields} {
		delete(annotations, k)
	}
	var warnings []string
	extra := poolV1Fields{}
	spec, tmpl := &out.Spec, in.Spec.Template
	spec.Weight = in.Spec.Weight
	spec.Limits = in.Spec.Limits
	spec.Template.ObjectMeta = tmpl.ObjectMeta
	spec.Template.Spec = v1beta1.NodeClaimSpec{
		Taints:        tmpl.Spec.Taints,
		StartupTaints: tmpl.Spec.StartupTaints,
		Requirements:  tmpl.Spec.Requirements,
	}
	ref, group, err := nodeClassRefToV1beta1(tmpl.Spec.NodeClassRef, in.Annotations[AnnotationNodeClassReference])
	if err != nil {
		return nil, nil, err
	}
	spec.Template.Spec.NodeClassRef = ref
	extra.NodeClassGroup = group
	if group != "" {
		warnings = append(warnings, fmt.Sprintf("spec.template.spec.nodeClassRef.group %s has no v1beta1 form", group))
	}
	if raw, ok := in.Annotations[AnnotationKubelet]; ok {
		k := &awsv1.KubeletConfiguration{}
		if err := json.Unmarshal([]byte(raw), k); err != nil {
			return nil, nil, fmt.Errorf("annotation %s: %w", AnnotationKubelet, err)
		}
		spec.Template.Spec.Kubelet = k
	}
	if in.Spec.Replicas != nil {
		extra.Replicas = in.Spec.Replicas
		warnings = append(warnings, "spec.replicas has no v1beta1 form")
	}
	if tgp := tmpl.Spec.TerminationGracePeriod; tgp != nil {
		extra.TerminationGracePeriod = tgp
		warnings = append(warnings, "spec.template.spec.terminationGracePeriod has no v1beta1 form")
	}

	d := in.Spec.Disruption
	spec.Disruption.ExpireAfter = tmpl.Spec.ExpireAfter
	switch d.ConsolidationPolicy {
	case v1.ConsolidationPolicyWhenEmptyOrUnderutilized, v1.ConsolidationPolicyBalanced:
		spec.Disruption.ConsolidationPolicy = v1beta1.ConsolidationPolicyWhenUnderutilized
		if d.ConsolidationPolicy == v1.ConsolidationPolicyBalanced {
			extra.ConsolidationPolicy = d.ConsolidationPolicy
			warnings = append(warnings, "spec.disruption.consolidationPolicy Balanced has no v1beta1 form")
		}
		if d.ConsolidateAfter.Set && !d.ConsolidateAfter.Equal(v1.DurationOf(0)) {
			after := d.ConsolidateAfter
			extra.ConsolidateAfter = &after
			warnings = append(warnings, fmt.Sprintf("spec.disruption.consolidateAfter %s: v1beta1 WhenUnderutilized takes no consolidateAfter", d.ConsolidateAfter))
		}
	default:
		spec.Disruption.ConsolidationPolicy = v1beta1.ConsolidationPolicy(d.ConsolidationPolicy)
		after := v1.Never
		if d.ConsolidateAfter.Set {
			after = d.ConsolidateAfter
		}
		spec.Disruption.ConsolidateAfter = &after
	}
	hasReasons := false
	for _, b := range d.Budgets {
		spec.Disruption.Budgets = append(spec.Disruption.Budgets, v1beta1.Budget{Nodes: b.Nodes, Schedule: b.Schedule, Duration: b.Duration})
		hasReasons = hasReasons || len(b.Reasons) > 0
	}
	if hasReasons {
		extra.Budgets = d.Budgets
		warnings = append(warnings, "spec.disruption.budgets[].reasons have no v1beta1 form")
	}
	if !extra.empty() {
		data, err := json.Marshal(extra)
		if err != nil {
			return nil, nil, err
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[AnnotationV1Fields] = string(data)
	}
	out.Annotations = annotations
	out.Status = v1beta1.NodePoolStatus{Resources: in.Status.Resources, Conditions: in.Status.Conditions}
	return out, warnings, nil
}

// nodeClassRefToV1 fills an empty kind or group with EC2NodeClass in karpenter.k8s.aws, and
// takes the group from apiVersion ("karpenter.k8s.aws/v1beta1"). A missing reference stays
// an empty one, as in Karpenter.
func nodeClassRefToV1(ref *v1beta1.NodeClassReference, keptGroup string) *v1.NodeClassReference {
	if ref == nil {
		return &v1.NodeClassReference{}
	}
	out := &v1.NodeClassReference{Name: ref.Name, Kind: ref.Kind, Group: awsv1.Group}
	if out.Kind == "" {
		out.Kind = awsv1.KindEC2NodeClass
	}
	switch {
	case ref.APIVersion != "":
		out.Group, _, _ = strings.Cut(ref.APIVersion, "/")
	case keptGroup != "":
		out.Group = keptGroup
	}
	return out
}

// nodeClassRefToV1beta1 gives back the reference as v1beta1 last wrote it, when the
// annotation holds it; otherwise name and kind, with the group kept aside when it is not the
// default one v1beta1 would assume.
func nodeClassRefToV1beta1(ref *v1.NodeClassReference, kept string) (*v1beta1.NodeClassReference, string, error) {
	if ref == nil {
		return &v1beta1.NodeClassReference{}, "", nil
	}
	if kept != "" && kept != "null" {
		out := &v1beta1.NodeClassReference{}
		if err := json.Unmarshal([]byte(kept), out); err != nil {
			return nil, "", fmt.Errorf("annotation %s: %w", AnnotationNodeClassReference, err)
		}
		return out, "", nil
	}
	group := ""
	if ref.Group != awsv1.Group {
		group = ref.Group
	}
	return &v1beta1.NodeClassReference{Name: ref.Name, Kind: ref.Kind}, group, nil
}

func nodeClassName(ref *v1beta1.NodeClassReference) string {
	if ref == nil {
		return ""
	}
	return ref.Name
}

func sameBudget(a, b v1.Budget) bool {
	return a.Nodes == b.Nodes && equalPtr(a.Schedule, b.Schedule) &&
		((a.Duration == nil) == (b.Duration == nil)) && (a.Duration == nil || a.Duration.Duration == b.Duration.Duration)
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// KubeletFor is the kubelet configuration a pool's nodes get: the one a v1beta1 pool carried
// (annotation compatibility.karpenter.sh/v1beta1-kubelet-conversion) when there is one, as in
// Karpenter v1.0, and otherwise the EC2NodeClass's.
func KubeletFor(pool *v1.NodePool, class *awsv1.EC2NodeClass) (*awsv1.KubeletConfiguration, error) {
	if raw, ok := pool.Annotations[AnnotationKubelet]; ok {
		k := &awsv1.KubeletConfiguration{}
		if err := json.Unmarshal([]byte(raw), k); err != nil {
			return nil, fmt.Errorf("NodePool %s annotation %s: %w", pool.Name, AnnotationKubelet, err)
		}
		return k, nil
	}
	if class == nil {
		return nil, nil
	}
	return class.Spec.Kubelet, nil
}
