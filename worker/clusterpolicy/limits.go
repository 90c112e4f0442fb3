package clusterpolicy

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/apis/v1alpha1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// limitNames are the keys spec.limits may hold, as the engine names them ("nodes" is the node
// count).
var limitNames = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, "nodes"}

// Limits lays the policy's spec over the flags' limits: what the spec sets wins, what it
// leaves out keeps the flag's value. The error names each field that cannot be read and how
// to write it.
func Limits(spec v1alpha1.ClusterPolicySpec, flags schedulerengine.ClusterLimits) (schedulerengine.ClusterLimits, error) {
	out := schedulerengine.ClusterLimits{MaxHourlyCost: flags.MaxHourlyCost}
	if len(flags.Resources) > 0 || len(spec.Limits) > 0 {
		out.Resources = flags.Resources.DeepCopy()
		if out.Resources == nil {
			out.Resources = corev1.ResourceList{}
		}
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(spec.Limits)) {
		q := spec.Limits[name]
		switch {
		case !slices.Contains(limitNames, corev1.ResourceName(name)):
			errs = append(errs, fmt.Errorf("spec.limits.%s is not a limit Nodewright knows: use cpu, memory or nodes", name))
		case q.Sign() < 0:
			errs = append(errs, fmt.Errorf("spec.limits.%s %s is negative: give a quantity such as \"256\" or \"1Ti\", or leave it out for the flag's value", name, q.String()))
		default:
			out.Resources[corev1.ResourceName(name)] = q.DeepCopy()
		}
	}
	if len(out.Resources) == 0 {
		out.Resources = nil
	}
	if spec.MaxHourlyCost != "" {
		v, err := apisv1.ParseHourlyCost(spec.MaxHourlyCost)
		if err != nil {
			errs = append(errs, fmt.Errorf("spec.maxHourlyCost: %w", err))
		} else {
			out.MaxHourlyCost = &v
		}
	}
	if err := errors.Join(errs...); err != nil {
		return schedulerengine.ClusterLimits{}, err
	}
	return out, nil
}

// describe spells the limits for a condition's message and the log.
func describe(l schedulerengine.ClusterLimits) string {
	if l.IsZero() {
		return "no cluster-wide limits"
	}
	s := ""
	for _, name := range limitNames {
		if q, ok := l.Resources[name]; ok {
			s += fmt.Sprintf("%s %s, ", name, q.String())
		}
	}
	if l.MaxHourlyCost != nil {
		s += fmt.Sprintf("$%.2f per hour, ", *l.MaxHourlyCost)
	}
	return "cluster-wide limits " + s[:len(s)-2]
}
