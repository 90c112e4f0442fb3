package v1

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// RuntimeValidate checks what the CRD schema cannot state, as Karpenter's runtime validation
// does: label and taint syntax, duplicate taints, values of well-known labels, and budget
// schedules that are not cron. A pool that fails is kept out of plans, and its status says
// why (ValidationSucceeded=False).
func (p *NodePool) RuntimeValidate() field.ErrorList {
	spec := field.NewPath("spec")
	tmpl := spec.Child("template")
	var errs field.ErrorList
	labels := tmpl.Child("metadata", "labels")
	for _, key := range slices.Sorted(maps.Keys(p.Spec.Template.ObjectMeta.Labels)) {
		for _, msg := range validation.IsQualifiedName(key) {
			errs = append(errs, field.Invalid(labels.Key(key), key, "not a valid label key: "+msg))
		}
		if key == LabelNodePool || key == LabelHostname || key == LabelNodeClaim {
			errs = append(errs, field.Forbidden(labels.Key(key), "is set by Nodewright on every node; remove it from the template"))
		}
	}
	seen := map[string]string{}
	errs = append(errs, validateTaints(tmpl.Child("spec", "taints"), p.Spec.Template.Spec.Taints, seen)...)
	errs = append(errs, validateTaints(tmpl.Child("spec", "startupTaints"), p.Spec.Template.Spec.StartupTaints, seen)...)
	for i, r := range p.Spec.Template.Spec.Requirements {
		errs = append(errs, r.validate(tmpl.Child("spec", "requirements").Index(i))...)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Spec.Limits)) {
		if q := p.Spec.Limits[name]; q.Sign() < 0 {
			errs = append(errs, field.Invalid(spec.Child("limits").Key(string(name)), q.String(),
				"must not be negative; leave the resource out for no limit, or set 0 to launch none"))
		}
	}
	if _, _, err := p.MaxHourlyCost(); err != nil {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "annotations").Key(AnnotationMaxHourlyCost),
			p.Annotations[AnnotationMaxHourlyCost], "not a dollars-per-hour figure: write a plain decimal such as \"12.50\", or remove the annotation for no cost limit"))
	}
	for i, b := range p.Spec.Disruption.Budgets {
		if b.Schedule == nil {
			continue
		}
		if _, err := ParseSchedule(*b.Schedule); err != nil {
			errs = append(errs, field.Invalid(spec.Child("disruption", "budgets").Index(i).Child("schedule"), *b.Schedule,
				fmt.Sprintf("not a cron schedule (five fields such as \"0 9 * * mon-fri\", or @daily, @hourly, ...): %v", err)))
		}
	}
	return errs
}

// ParseSchedule reads a budget's cron schedule. Without a time zone it is read in UTC, as
// Karpenter reads it, never in the worker's local time. A time zone with nothing after it
// ("TZ=UTC") is refused here: the cron library would index past its end and panic.
func ParseSchedule(s string) (cron.Schedule, error) {
	for _, prefix := range []string{"TZ=", "CRON_TZ="} {
		if !strings.HasPrefix(s, prefix) {
			continue
		}
		if !strings.Contains(s, " ") {
			return nil, fmt.Errorf("%q names a time zone and no schedule after it", s)
		}
		return cron.ParseStandard(s)
	}
	return cron.ParseStandard("TZ=UTC " + s)
}

// validateTaints checks taint keys and values and that no key and effect appears twice across
// taints and startupTaints; seen maps "key:effect" to where it was first seen.
func validateTaints(path *field.Path, taints []corev1.Taint, seen map[string]string) field.ErrorList {
	var errs field.ErrorList
	for i, t := range taints {
		p := path.Index(i)
		for _, msg := range validation.IsQualifiedName(t.Key) {
			errs = append(errs, field.Invalid(p.Child("key"), t.Key, msg))
		}
		if t.Value != "" {
			for _, msg := range validation.IsQualifiedName(t.Value) {
				errs = append(errs, field.Invalid(p.Child("value"), t.Value, msg))
			}
		}
		id := t.Key + ":" + string(t.Effect)
		if first, dup := seen[id]; dup {
			errs = append(errs, field.Duplicate(p, fmt.Sprintf("taint %s with effect %s is already set at %s", t.Key, t.Effect, first)))
		} else {
			seen[id] = p.String()
		}
	}
	return errs
}

// wellKnownValues are the only values some labels can take on a node; a requirement that
// allows none of them can never be met.
func wellKnownValues() map[string][]string {
	return map[string][]string{
		LabelCapacityType: {CapacityTypeOnDemand, CapacityTypeSpot, CapacityTypeReserved},
		LabelArch:         {"amd64", "arm64"},
		LabelOS:           {"linux", "windows"},
	}
}

func (r NodeSelectorRequirementWithMinValues) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(r.Key) {
		errs = append(errs, field.Invalid(path.Child("key"), r.Key, msg))
	}
	for j, v := range r.Values {
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(path.Child("values").Index(j), v, msg))
		}
	}
	switch r.Operator {
	case corev1.NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			errs = append(errs, field.Required(path.Child("values"), "NotIn needs at least one value"))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			errs = append(errs, field.Invalid(path.Child("values"), r.Values, fmt.Sprintf("must be empty for operator %s", r.Operator)))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt, NodeSelectorOpGte, NodeSelectorOpLte:
		if len(r.Values) == 1 {
			if n, err := strconv.Atoi(r.Values[0]); err != nil || n < 0 {
				errs = append(errs, field.Invalid(path.Child("values").Index(0), r.Values[0], fmt.Sprintf("operator %s needs a non-negative integer", r.Operator)))
			}
		}
	}
	if known, ok := wellKnownValues()[r.Key]; ok && r.Operator == corev1.NodeSelectorOpIn {
		valid := 0
		for _, v := range r.Values {
			if slices.Contains(known, v) {
				valid++
			}
		}
		if valid == 0 {
			errs = append(errs, field.NotSupported(path.Child("values"), r.Values, known))
		} else if r.MinValues != nil && valid < *r.MinValues {
			errs = append(errs, field.Invalid(path.Child("minValues"), *r.MinValues,
				fmt.Sprintf("only %d of the values are ones %s can take (%v)", valid, r.Key, known)))
		}
	}
	return errs
}

// NotActedOn lists, as warnings, what the pool sets that Nodewright does not act on yet.
func (p *NodePool) NotActedOn() []string {
	var out []string
	if p.Spec.Replicas != nil {
		out = append(out, "spec.replicas: static NodePools are not supported yet; Nodewright launches nothing for this pool")
	}
	if p.Spec.Disruption.ConsolidationPolicy == ConsolidationPolicyBalanced {
		out = append(out, "spec.disruption.consolidationPolicy: Balanced is treated as WhenEmptyOrUnderutilized")
	}
	return out
}
