package v1

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ValidationError is one problem with one NodePool field, phrased so the message names the
// field and says how to fix it.
type ValidationError struct {
	Pool string
	// Document is the 1-based position of the YAML document, when the pool came from a file.
	Document int
	Field    string
	Message  string
}

func (e *ValidationError) Error() string {
	if e.Pool != "" {
		return fmt.Sprintf("nodepool %q: %s %s", e.Pool, e.Field, e.Message)
	}
	if e.Document > 0 {
		return fmt.Sprintf("nodepool in document %d: %s %s", e.Document, e.Field, e.Message)
	}
	return fmt.Sprintf("nodepool: %s %s", e.Field, e.Message)
}

// IsValidationError reports whether err holds a *ValidationError (a problem in the user's
// NodePool rather than, say, unreadable YAML).
func IsValidationError(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// Limits Karpenter's CRD puts on list lengths.
const (
	maxRequirements = 100
	maxBudgets      = 50
	minWeight       = 1
	maxWeight       = 100
)

// Validate checks the pool against the rules Karpenter's CRD and webhooks enforce. It returns
// nil or every problem found, joined; each is a *ValidationError.
func (p *NodePool) Validate() error {
	problems := p.validate()
	errs := make([]error, len(problems))
	for i, problem := range problems {
		errs[i] = problem
	}
	return errors.Join(errs...)
}

func (p *NodePool) validate() []*ValidationError {
	v := &validator{pool: p.Name}
	if p.Name == "" {
		v.add("metadata.name", "is missing; every NodePool needs a unique name")
	}
	if p.Spec.Weight != nil {
		if w := *p.Spec.Weight; w < minWeight || w > maxWeight {
			v.add("spec.weight", fmt.Sprintf("%d must be between %d and %d (omit it for 0)", w, minWeight, maxWeight))
		}
	}
	v.templateLabels(p.Spec.Template.ObjectMeta.Labels)
	v.requirements(p.Spec.Template.Spec.Requirements)
	v.taints("spec.template.spec.taints", p.Spec.Template.Spec.Taints)
	v.taints("spec.template.spec.startupTaints", p.Spec.Template.Spec.StartupTaints)
	v.disruption(p.Spec.Disruption)
	return v.problems
}

type validator struct {
	pool     string
	problems []*ValidationError
}

func (v *validator) add(field, message string) {
	v.problems = append(v.problems, &ValidationError{Pool: v.pool, Field: field, Message: message})
}

// restrictedTemplateLabels are labels Nodewright itself sets on every node; a template that
// set them would make nodes lie about where they came from.
func restrictedTemplateLabels() []string {
	return []string{LabelHostname, LabelNodePool, LabelNodeClaim, LabelRegistered, LabelInitialized}
}

func (v *validator) templateLabels(labels map[string]string) {
	for _, key := range sortedKeys(labels) {
		field := fmt.Sprintf("spec.template.metadata.labels[%s]", key)
		if slices.Contains(restrictedTemplateLabels(), key) {
			v.add(field, "is set by Nodewright itself; remove it from the template")
			continue
		}
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			v.add(field, fmt.Sprintf("is not a valid label key: %s", strings.Join(errs, "; ")))
		}
		if errs := validation.IsValidLabelValue(labels[key]); len(errs) > 0 {
			v.add(field, fmt.Sprintf("value %q is not a valid label value: %s", labels[key], strings.Join(errs, "; ")))
		}
	}
}

func (v *validator) requirements(reqs []NodeSelectorRequirementWithMinValues) {
	if len(reqs) > maxRequirements {
		v.add("spec.template.spec.requirements", fmt.Sprintf("has %d entries; Karpenter allows at most %d", len(reqs), maxRequirements))
	}
	for i, r := range reqs {
		v.requirement(fmt.Sprintf("spec.template.spec.requirements[%d]", i), r)
	}
}

func (v *validator) requirement(field string, r NodeSelectorRequirementWithMinValues) {
	if r.Key == "" {
		v.add(field+".key", "is missing; name the node label to constrain, e.g. karpenter.sh/capacity-type")
	} else if errs := validation.IsQualifiedName(r.Key); len(errs) > 0 {
		v.add(field+".key", fmt.Sprintf("%q is not a valid label key: %s", r.Key, strings.Join(errs, "; ")))
	}
	switch r.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			v.add(field+".values", fmt.Sprintf("is empty; operator %s needs at least one value", r.Operator))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			v.add(field+".values", fmt.Sprintf("must be empty for operator %s (got %d values)", r.Operator, len(r.Values)))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt, NodeSelectorOpGte, NodeSelectorOpLte:
		if len(r.Values) != 1 {
			v.add(field+".values", fmt.Sprintf("must hold exactly one integer for operator %s (got %d values)", r.Operator, len(r.Values)))
		} else if _, err := strconv.ParseInt(r.Values[0], 10, 64); err != nil {
			v.add(field+".values", fmt.Sprintf("%q is not an integer; operator %s compares numbers", r.Values[0], r.Operator))
		}
	default:
		v.add(field+".operator", fmt.Sprintf("%q is not one of %s", r.Operator, operatorList()))
	}
	if r.MinValues != nil {
		switch {
		case *r.MinValues < 1:
			v.add(field+".minValues", fmt.Sprintf("%d must be at least 1", *r.MinValues))
		case r.Operator == corev1.NodeSelectorOpIn && *r.MinValues > len(r.Values):
			v.add(field+".minValues", fmt.Sprintf("%d is more than the %d values listed; list more values or lower minValues", *r.MinValues, len(r.Values)))
		}
	}
}

func operatorList() string {
	names := make([]string, 0, 8)
	for _, op := range RequirementOperators() {
		names = append(names, string(op))
	}
	return strings.Join(names, ", ")
}

func (v *validator) taints(field string, taints []corev1.Taint) {
	for i, t := range taints {
		f := fmt.Sprintf("%s[%d]", field, i)
		if t.Key == "" {
			v.add(f+".key", "is missing; every taint needs a key")
		} else if errs := validation.IsQualifiedName(t.Key); len(errs) > 0 {
			v.add(f+".key", fmt.Sprintf("%q is not a valid taint key: %s", t.Key, strings.Join(errs, "; ")))
		}
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			v.add(f+".effect", fmt.Sprintf("%q is not one of NoSchedule, PreferNoSchedule, NoExecute", t.Effect))
		}
	}
}

func (v *validator) disruption(d Disruption) {
	switch d.ConsolidationPolicy {
	case "", ConsolidationPolicyWhenEmpty, ConsolidationPolicyWhenEmptyOrUnderutilized:
	case "Balanced":
		v.add("spec.disruption.consolidationPolicy", `"Balanced" is not supported by Nodewright yet; use WhenEmpty or WhenEmptyOrUnderutilized`)
	default:
		v.add("spec.disruption.consolidationPolicy", fmt.Sprintf("%q is not one of WhenEmpty, WhenEmptyOrUnderutilized", d.ConsolidationPolicy))
	}
	if len(d.Budgets) > maxBudgets {
		v.add("spec.disruption.budgets", fmt.Sprintf("has %d entries; Karpenter allows at most %d", len(d.Budgets), maxBudgets))
	}
	for i, b := range d.Budgets {
		v.budget(fmt.Sprintf("spec.disruption.budgets[%d]", i), b)
	}
}

// budgetReasons are the disruption reasons a budget may be limited to.
func budgetReasons() []string { return []string{"Underutilized", "Empty", "Drifted"} }

func (v *validator) budget(field string, b Budget) {
	if !isBudgetNodes(b.Nodes) {
		v.add(field+".nodes", fmt.Sprintf("%q must be a count like \"5\" or a percentage like \"10%%\"", b.Nodes))
	}
	for j, r := range b.Reasons {
		if !slices.Contains(budgetReasons(), r) {
			v.add(fmt.Sprintf("%s.reasons[%d]", field, j), fmt.Sprintf("%q is not one of %s", r, strings.Join(budgetReasons(), ", ")))
		}
	}
	hasSchedule, hasDuration := b.Schedule != nil, b.Duration != nil
	switch {
	case hasSchedule && !hasDuration:
		v.add(field, "has a schedule but no duration; schedule and duration must be set together (e.g. duration: 8h)")
	case hasDuration && !hasSchedule:
		v.add(field, "has a duration but no schedule; schedule and duration must be set together (e.g. schedule: \"0 9 * * mon-fri\")")
	}
	if hasSchedule {
		if _, err := cron.ParseStandard(*b.Schedule); err != nil {
			v.add(field+".schedule", fmt.Sprintf("%q is not a cron schedule (five fields, or @daily, @hourly, ...): %v", *b.Schedule, err))
		}
	}
	if hasDuration {
		if d := b.Duration.Duration; d <= 0 || d%time.Minute != 0 {
			v.add(field+".duration", fmt.Sprintf("%s must be a positive number of hours and minutes, e.g. 8h or 1h30m", d))
		}
	}
}

// isBudgetNodes matches Karpenter's CRD pattern for budgets[].nodes,
// ^((100|[0-9]{1,2})%|[0-9]+)$: a count, or a percentage from 0% to 100%.
func isBudgetNodes(s string) bool {
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		return pct == "100" || (len(pct) >= 1 && len(pct) <= 2 && allDigits(pct))
	}
	return len(s) > 0 && allDigits(s)
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
