package scheduling

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// bounds are inclusive integer limits: a value v is inside when lower <= v <= upper. Any
// bound also means the value must be an integer.
type bounds struct {
	hasLower, hasUpper bool
	lower, upper       int64
}

// boundsFor normalises the four numeric operators to inclusive bounds; possible is false when
// no integer satisfies the operator.
func boundsFor(op corev1.NodeSelectorOperator, n int64) (b bounds, possible bool) {
	switch op {
	case corev1.NodeSelectorOpGt:
		if n == math.MaxInt64 {
			return bounds{}, false
		}
		return bounds{hasLower: true, lower: n + 1}, true
	case v1.NodeSelectorOpGte:
		return bounds{hasLower: true, lower: n}, true
	case corev1.NodeSelectorOpLt:
		if n == math.MinInt64 {
			return bounds{}, false
		}
		return bounds{hasUpper: true, upper: n - 1}, true
	default: // Lte
		return bounds{hasUpper: true, upper: n}, true
	}
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
	return (!b.hasLower || n >= b.lower) && (!b.hasUpper || n <= b.upper)
}

// countAdmitted is how many of values are canonical integers (as strconv.FormatInt writes
// them) inside the bounds. Ranges are reasoned about with canonical labels, which is how
// instance-type labels are written; "05" is a different label value from "5" for In and
// NotIn, as in Kubernetes.
func (b bounds) countAdmitted(values []string) int {
	if !b.any() {
		return len(values)
	}
	count := 0
	for _, v := range values {
		if isCanonicalInteger(v) && b.admits(v) {
			count++
		}
	}
	return count
}

func isCanonicalInteger(v string) bool {
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == v
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

// size is how many integers lie within both bounds, when both are set.
func (b bounds) size() (int64, bool) {
	if !b.hasLower || !b.hasUpper {
		return 0, false
	}
	if b.upper < b.lower {
		return 0, true
	}
	// The true difference fits in a uint64 even when upper-lower overflows an int64.
	gap := uint64(b.upper) - uint64(b.lower)
	if gap >= math.MaxInt64 {
		return math.MaxInt64, true
	}
	return int64(gap) + 1, true
}

// enumerateExcept lists the canonical integers within the bounds (which size reported as few)
// that are not excluded, sorted as strings.
func (b bounds) enumerateExcept(excluded []string) []string {
	n, _ := b.size()
	var out []string
	for i := int64(0); i < n; i++ {
		s := strconv.FormatInt(b.lower+i, 10)
		if _, skip := slices.BinarySearch(excluded, s); !skip {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func (b bounds) write(sb *strings.Builder) {
	if b.hasLower {
		if b.lower == math.MinInt64 {
			fmt.Fprintf(sb, " Gte %d", b.lower)
		} else {
			fmt.Fprintf(sb, " Gt %d", b.lower-1)
		}
	}
	if b.hasUpper {
		if b.upper == math.MaxInt64 {
			fmt.Fprintf(sb, " Lte %d", b.upper)
		} else {
			fmt.Fprintf(sb, " Lt %d", b.upper+1)
		}
	}
}
