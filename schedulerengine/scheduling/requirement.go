package scheduling

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Requirement is the set of values one label key may take. Every node selector operator maps
// onto one shape — a sorted value set or its complement, inclusive integer bounds, and whether
// a node without the label qualifies — so intersecting any two requirements is one function:
//
//	In [a b]      values {a b}
//	NotIn [a]     complement of {a}, absence allowed
//	Exists        complement of {}
//	DoesNotExist  {}, absence allowed
//	Gt 4, Gte 5   complement of {}, integers from 5
//	Lt 9, Lte 8   complement of {}, integers up to 8
//
// A Requirement is a value: methods never modify it, Intersect returns a new one.
type Requirement struct {
	Key        string
	complement bool
	values     []string // sorted, unique
	bounds     bounds
	// absent is true when a node without the label satisfies the requirement.
	absent bool
	// minValues, when above zero, asks a claim to keep at least that many distinct values of
	// Key among its instance-type options (Karpenter's minValues).
	minValues int
}

// NewRequirement builds a requirement from a node selector expression. Gt, Lt and Karpenter's
// Gte and Lte become inclusive bounds; deprecated beta label keys become their GA keys.
func NewRequirement(key string, op corev1.NodeSelectorOperator, values ...string) (Requirement, error) {
	key = NormalizedLabelKey(key)
	r := Requirement{Key: key}
	switch op {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(values) == 0 {
			return Requirement{}, fmt.Errorf("%s %s needs at least one value", key, op)
		}
		notIn := op == corev1.NodeSelectorOpNotIn
		r.complement, r.absent, r.values = notIn, notIn, sortedUnique(values)
	case corev1.NodeSelectorOpExists:
		r.complement = true
	case corev1.NodeSelectorOpDoesNotExist:
		r.absent = true
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt, v1.NodeSelectorOpGte, v1.NodeSelectorOpLte:
		if len(values) != 1 {
			return Requirement{}, fmt.Errorf("%s %s needs exactly one integer value, got %d", key, op, len(values))
		}
		n, err := strconv.ParseInt(values[0], 10, 64)
		if err != nil {
			return Requirement{}, fmt.Errorf("%s %s %q: value must be an integer", key, op, values[0])
		}
		b, possible := boundsFor(op, n)
		if !possible {
			return r, nil // "Gt MaxInt64": no integer qualifies, and absence does not either
		}
		r.complement, r.bounds = true, b
	default:
		return Requirement{}, fmt.Errorf("%s: unknown operator %q", key, op)
	}
	return r, nil
}

// In is the requirement that the label take one of values: the common single-set
// requirement, for labels and selectors.
func In(key string, values ...string) Requirement {
	return Requirement{Key: key, values: sortedUnique(values)}
}

// WithMinValues returns the requirement asking for at least n distinct values.
func (r Requirement) WithMinValues(n int) Requirement {
	r.minValues = n
	return r
}

// MinValues is how many distinct values of Key a claim's instance types must keep; 0 when
// the requirement does not ask.
func (r Requirement) MinValues() int { return r.minValues }

// Has reports whether a node whose label Key has value v satisfies the requirement.
func (r Requirement) Has(v string) bool {
	_, found := slices.BinarySearch(r.values, v)
	if !r.complement {
		return found
	}
	return !found && r.bounds.admits(v)
}

// IsComplement reports whether the requirement admits every value but those it lists (NotIn,
// Exists, Gt, Lt...), rather than only the values it lists (In, DoesNotExist): a complement
// names no value a node could be given.
func (r Requirement) IsComplement() bool { return r.complement }

// AllowsAbsence reports whether a node without the label satisfies the requirement, which is
// true for NotIn and DoesNotExist (and intersections of only those), as in Kubernetes.
func (r Requirement) AllowsAbsence() bool { return r.absent }

// MatchesLabel reports whether a node label (present or not) satisfies the requirement.
func (r Requirement) MatchesLabel(value string, present bool) bool {
	if !present {
		return r.absent
	}
	return r.Has(value)
}

// IsEmpty reports whether no label value satisfies the requirement (absence may still).
func (r Requirement) IsEmpty() bool {
	if !r.complement {
		return len(r.values) == 0
	}
	n, finite := r.bounds.size()
	return finite && n <= int64(r.bounds.countAdmitted(r.values))
}

// Values returns the allowed values of an In-style requirement, or the excluded values of a
// complement; see Operator for which.
func (r Requirement) Values() []string { return slices.Clone(r.values) }

// SingleValue returns the value when the requirement pins the label to exactly one value.
func (r Requirement) SingleValue() (string, bool) {
	if r.complement || len(r.values) != 1 {
		return "", false
	}
	return r.values[0], true
}

// Operator names the requirement's shape in node selector terms.
func (r Requirement) Operator() corev1.NodeSelectorOperator {
	switch {
	case !r.complement && len(r.values) == 0 && r.absent:
		return corev1.NodeSelectorOpDoesNotExist
	case !r.complement:
		return corev1.NodeSelectorOpIn
	case r.bounds.hasLower:
		return corev1.NodeSelectorOpGt
	case r.bounds.hasUpper:
		return corev1.NodeSelectorOpLt
	case len(r.values) > 0:
		return corev1.NodeSelectorOpNotIn
	default:
		return corev1.NodeSelectorOpExists
	}
}

// String reads like the selector that would build it, e.g. "kubernetes.io/arch In [amd64]".
func (r Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Key)
	switch {
	case !r.complement && len(r.values) == 0 && r.absent:
		b.WriteString(" DoesNotExist")
	case !r.complement:
		fmt.Fprintf(&b, " In [%s]", strings.Join(r.values, " "))
	default:
		if !r.absent && len(r.values) > 0 && !r.bounds.any() {
			b.WriteString(" Exists")
		}
		if len(r.values) > 0 {
			fmt.Fprintf(&b, " NotIn [%s]", strings.Join(r.values, " "))
		}
		r.bounds.write(&b)
		if len(r.values) == 0 && !r.bounds.any() {
			b.WriteString(" Exists")
		}
	}
	if r.minValues > 0 {
		fmt.Fprintf(&b, " minValues %d", r.minValues)
	}
	return b.String()
}

// Intersect returns the values both requirements allow. Keys are assumed equal. The result
// asks for the larger minValues of the two.
func (r Requirement) Intersect(o Requirement) Requirement {
	out := Requirement{Key: r.Key, absent: r.absent && o.absent, minValues: max(r.minValues, o.minValues)}
	switch {
	case r.complement && o.complement:
		b := r.bounds.tighten(o.bounds)
		excluded := unionSorted(r.values, o.values)
		if n, finite := b.size(); finite && n <= int64(len(excluded))+1 {
			// A narrow range is small enough to list, which also catches "Gt 3, Lt 5,
			// NotIn [4]" being empty.
			out.values = b.enumerateExcept(excluded)
			return out
		}
		out.complement, out.bounds, out.values = true, b, excluded
	case r.complement:
		out.values = filterValues(o.values, r.Has)
	case o.complement:
		out.values = filterValues(r.values, o.Has)
	default:
		out.values = intersectSorted(r.values, o.values)
	}
	return out
}

// Intersects reports whether some value satisfies both requirements, without allocating
// in the common cases.
func (r Requirement) Intersects(o Requirement) bool {
	switch {
	case r.complement && o.complement:
		return complementsIntersect(r, o)
	case r.complement:
		return slices.ContainsFunc(o.values, r.Has)
	case o.complement:
		return slices.ContainsFunc(r.values, o.Has)
	default:
		for _, v := range r.values {
			if _, ok := slices.BinarySearch(o.values, v); ok {
				return true
			}
		}
		return false
	}
}

// complementsIntersect decides whether two complements share a value. Unbounded
// complements always do; within finite bounds, the range must hold more integers than the
// two exclusion lists remove from it.
func complementsIntersect(r, o Requirement) bool {
	b := r.bounds.tighten(o.bounds)
	n, finite := b.size()
	if !finite {
		return true
	}
	return n > int64(b.countAdmitted(unionSorted(r.values, o.values)))
}
