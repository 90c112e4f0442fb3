package scheduling

import (
	"fmt"
	"slices"
	"strings"
)

// Requirements is a conjunction of Requirement, at most one per key, sorted by key so that
// iteration and messages never depend on map order. Like Requirement it is a value: methods
// return new slices and never modify the receiver.
type Requirements []Requirement

// NewRequirements combines requirements, intersecting any that share a key.
func NewRequirements(rs ...Requirement) Requirements {
	var out Requirements
	for _, r := range rs {
		out = out.With(r)
	}
	return out
}

// Get returns the requirement on key, if any.
func (rs Requirements) Get(key string) (Requirement, bool) {
	i, ok := slices.BinarySearchFunc(rs, key, func(r Requirement, k string) int { return strings.Compare(r.Key, k) })
	if !ok {
		return Requirement{}, false
	}
	return rs[i], true
}

// With returns rs narrowed by r.
func (rs Requirements) With(r Requirement) Requirements {
	i, ok := slices.BinarySearchFunc(rs, r.Key, func(x Requirement, k string) int { return strings.Compare(x.Key, k) })
	out := make(Requirements, 0, len(rs)+1)
	out = append(out, rs[:i]...)
	if ok {
		out = append(out, rs[i].Intersect(r))
		return append(out, rs[i+1:]...)
	}
	out = append(out, r)
	return append(out, rs[i:]...)
}

// Intersect returns the requirements both sides impose.
func (rs Requirements) Intersect(o Requirements) Requirements {
	out := make(Requirements, 0, len(rs)+len(o))
	i, j := 0, 0
	for i < len(rs) && j < len(o) {
		switch c := strings.Compare(rs[i].Key, o[j].Key); {
		case c == 0:
			out = append(out, rs[i].Intersect(o[j]))
			i++
			j++
		case c < 0:
			out = append(out, rs[i])
			i++
		default:
			out = append(out, o[j])
			j++
		}
	}
	out = append(out, rs[i:]...)
	return append(out, o[j:]...)
}

// IncompatibleError says which key made two sets of requirements incompatible.
type IncompatibleError struct {
	Key string
	// Want is the incoming requirement; Have the existing one, or nil when the existing
	// side does not define the key at all.
	Want Requirement
	Have *Requirement
}

func (e *IncompatibleError) Error() string {
	if e.Have == nil {
		return fmt.Sprintf("label %s is not set (wanted %s)", e.Key, e.Want)
	}
	return fmt.Sprintf("%s conflicts with %s", e.Want, *e.Have)
}

// Compatible reports whether a node described by rs could also satisfy incoming, and if not
// which key is to blame. A key rs does not define is acceptable when the incoming requirement
// is satisfied by the label's absence (NotIn, DoesNotExist) or when undefinedOK says something
// else (the instance type, the offering) will decide it. Two requirements that share no value
// are still compatible when both accept absence, as Karpenter treats them.
func (rs Requirements) Compatible(incoming Requirements, undefinedOK func(key string) bool) error {
	for _, in := range incoming {
		have, ok := rs.Get(in.Key)
		if !ok {
			if in.AllowsAbsence() || undefinedOK(in.Key) {
				continue
			}
			return &IncompatibleError{Key: in.Key, Want: in}
		}
		if !have.CompatibleWith(in) {
			return &IncompatibleError{Key: in.Key, Want: in, Have: &have}
		}
	}
	return nil
}

// IsCompatible is Compatible without building an error.
func (rs Requirements) IsCompatible(incoming Requirements, undefinedOK func(key string) bool) bool {
	for _, in := range incoming {
		have, ok := rs.Get(in.Key)
		if !ok {
			if in.AllowsAbsence() || undefinedOK(in.Key) {
				continue
			}
			return false
		}
		if !have.CompatibleWith(in) {
			return false
		}
	}
	return true
}

// CompatibleWith reports whether a node can satisfy both requirements on one key: they
// share a value, or both admit a node without the label.
func (r Requirement) CompatibleWith(o Requirement) bool {
	return r.Intersects(o) || (r.AllowsAbsence() && o.AllowsAbsence())
}

// MatchLabels returns nil when a node with these labels satisfies every requirement, or an
// error naming the first (by key) that it does not.
func (rs Requirements) MatchLabels(labels map[string]string) error {
	for _, r := range rs {
		v, ok := labels[r.Key]
		if !r.MatchesLabel(v, ok) {
			if !ok {
				return fmt.Errorf("label %s is not set (wanted %s)", r.Key, r)
			}
			return fmt.Errorf("label %s=%s does not satisfy %s", r.Key, v, r)
		}
	}
	return nil
}

// MatchesLabels is MatchLabels without building an error.
func (rs Requirements) MatchesLabels(labels map[string]string) bool {
	for _, r := range rs {
		v, ok := labels[r.Key]
		if !r.MatchesLabel(v, ok) {
			return false
		}
	}
	return true
}

// PinnedLabels returns the labels the requirements fix to a single value.
func (rs Requirements) PinnedLabels() map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		if v, ok := r.SingleValue(); ok {
			out[r.Key] = v
		}
	}
	return out
}

func (rs Requirements) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}
