package schedulerengine

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Requirement is the set of values one label key may take. Every node selector operator maps
// onto one shape — a sorted value set, a complement flag ("every value except these") and
// exclusive integer bounds — so intersecting any two requirements is one function:
//
//	In [a b]      values {a b}
//	NotIn [a]     complement of {a}
//	Exists        complement of {}
//	DoesNotExist  {} (no value, so the label must be absent)
//	Gt 4, Gte 5   complement of {} above 4
//	Lt 9, Lte 8   complement of {} below 9
//
// A Requirement is a value: methods never modify it, Intersect returns a new one.
type Requirement struct {
	Key        string
	complement bool
	values     []string // sorted, unique
	bounds     bounds
}

// bounds are exclusive integer limits: a value v is inside when lower < v < upper.
type bounds struct {
	hasLower, hasUpper bool
	lower, upper       int64
}

// NewRequirement builds a requirement from a node selector expression. Gte and Lte (which
// Karpenter adds) become the equivalent exclusive bounds.
func NewRequirement(key string, op corev1.NodeSelectorOperator, values ...string) (Requirement, error) {
	r := Requirement{Key: key}
	switch op {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(values) == 0 {
			return Requirement{}, fmt.Errorf("%s %s needs at least one value", key, op)
		}
		r.complement, r.values = op == corev1.NodeSelectorOpNotIn, sortedUnique(values)
	case corev1.NodeSelectorOpExists:
		r.complement = true
	case corev1.NodeSelectorOpDoesNotExist:
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt, v1.NodeSelectorOpGte, v1.NodeSelectorOpLte:
		if len(values) != 1 {
			return Requirement{}, fmt.Errorf("%s %s needs exactly one integer value, got %d", key, op, len(values))
		}
		n, err := strconv.ParseInt(values[0], 10, 64)
		if err != nil {
			return Requirement{}, fmt.Errorf("%s %s %q: value must be an integer", key, op, values[0])
		}
		r.complement = true
		r.bounds = boundsFor(op, n)
	default:
		return Requirement{}, fmt.Errorf("%s: unknown operator %q", key, op)
	}
	return r, nil
}

// boundsFor normalises the four numeric operators to exclusive bounds.
func boundsFor(op corev1.NodeSelectorOperator, n int64) bounds {
	switch op {
	case corev1.NodeSelectorOpGt:
		return bounds{hasLower: true, lower: n}
	case v1.NodeSelectorOpGte:
		if n == math.MinInt64 {
			return bounds{}
		}
		return bounds{hasLower: true, lower: n - 1}
	case corev1.NodeSelectorOpLt:
		return bounds{hasUpper: true, upper: n}
	default: // Lte
		if n == math.MaxInt64 {
			return bounds{}
		}
		return bounds{hasUpper: true, upper: n + 1}
	}
}

// requirementIn is the common single-set requirement, for labels and selectors.
func requirementIn(key string, values ...string) Requirement {
	return Requirement{Key: key, values: sortedUnique(values)}
}

// Has reports whether a node whose label Key has value v satisfies the requirement.
func (r Requirement) Has(v string) bool {
	_, found := slices.BinarySearch(r.values, v)
	if !r.complement {
		return found
	}
	return !found && r.bounds.admits(v)
}

// AllowsAbsence reports whether a node without the label satisfies the requirement, which is
// true exactly for NotIn and DoesNotExist, as in Kubernetes node affinity.
func (r Requirement) AllowsAbsence() bool {
	if !r.complement {
		return len(r.values) == 0
	}
	return len(r.values) > 0 && !r.bounds.any()
}

// MatchesLabel reports whether a node label (present or not) satisfies the requirement.
func (r Requirement) MatchesLabel(value string, present bool) bool {
	if !present {
		return r.AllowsAbsence()
	}
	return r.Has(value)
}

// IsEmpty reports whether no label value satisfies the requirement.
func (r Requirement) IsEmpty() bool { return !r.complement && len(r.values) == 0 }

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
	case !r.complement && len(r.values) == 0:
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
	case !r.complement && len(r.values) == 0:
		b.WriteString(" DoesNotExist")
	case !r.complement:
		fmt.Fprintf(&b, " In [%s]", strings.Join(r.values, " "))
	default:
		if len(r.values) > 0 {
			fmt.Fprintf(&b, " NotIn [%s]", strings.Join(r.values, " "))
		}
		if r.bounds.hasLower {
			fmt.Fprintf(&b, " Gt %d", r.bounds.lower)
		}
		if r.bounds.hasUpper {
			fmt.Fprintf(&b, " Lt %d", r.bounds.upper)
		}
		if len(r.values) == 0 && !r.bounds.any() {
			b.WriteString(" Exists")
		}
	}
	return b.String()
}

// Intersect returns the values both requirements allow. Keys are assumed equal.
func (r Requirement) Intersect(o Requirement) Requirement {
	out := Requirement{Key: r.Key}
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
	removed := int64(0)
	for _, v := range r.values {
		if b.admits(v) {
			removed++
		}
	}
	for _, v := range o.values {
		if _, dup := slices.BinarySearch(r.values, v); !dup && b.admits(v) {
			removed++
		}
	}
	return n > removed
}

func (b bounds) any() bool { return b.hasLower || b.hasUpper }

func (b bounds) admits(v string) bool {
	if !b.any() {
		return true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false
	}
	return (!b.hasLower || n > b.lower) && (!b.hasUpper || n < b.upper)
}

func (b bounds) tighten(o bounds) bounds {
	out := b
	if o.hasLower && (!out.hasLower || o.lower > out.lower) {
		out.hasLower, out.lower = true, o.lower
	}
	if o.hasUpper && (!out.hasUpper || o.upper < out.upper) {
		out.hasUpper, out.upper = true, o.upper
	}
	return out
}

// size is how many integers lie strictly inside both bounds, when both are set.
func (b bounds) size() (int64, bool) {
	if !b.hasLower || !b.hasUpper {
		return 0, false
	}
	if b.lower == math.MaxInt64 || b.upper <= b.lower+1 {
		return 0, true
	}
	// The true difference fits in a uint64 even when upper-lower overflows an int64.
	gap := uint64(b.upper) - uint64(b.lower) - 1
	if gap > math.MaxInt64 {
		return math.MaxInt64, true
	}
	return int64(gap), true
}

func (b bounds) enumerateExcept(excluded []string) []string {
	var out []string
	for n := b.lower + 1; n < b.upper; n++ {
		s := strconv.FormatInt(n, 10)
		if _, skip := slices.BinarySearch(excluded, s); !skip {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func sortedUnique(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	out := slices.Clone(values)
	slices.Sort(out)
	return slices.Compact(out)
}

func filterValues(values []string, keep func(string) bool) []string {
	var out []string
	for _, v := range values {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

func intersectSorted(a, b []string) []string {
	var out []string
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, a[i])
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return out
}

func unionSorted(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	slices.Sort(out)
	return slices.Compact(out)
}
