package schedulerengine

import (
	"slices"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// PoolInstanceTypes returns the instance types a NodePool may launch, read as Solve reads the
// pool (its requirements and template labels against each type's labels), each keeping only
// its available offerings in the zones and capacity types the pool allows. Types the pool
// rules out are left out; the rest come in name order. Tools that reason about pools without
// solving (starter advise) use it so that they agree with Solve.
func PoolInstanceTypes(pool *v1.NodePool, types []InstanceType) ([]InstanceType, error) {
	reqs, err := poolRequirements(pool)
	if err != nil {
		return nil, err
	}
	w, err := newWorld(newDims(), types)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]InstanceType, len(types))
	for _, t := range types {
		byName[t.Name] = t
	}
	offerings := newOfferingFilter(reqs)
	var out []InstanceType
	for _, i := range w.typesAllowing(w.allTypes(), reqs) {
		t := byName[w.types[i].name]
		t.Offerings = slices.DeleteFunc(slices.Clone(t.Offerings), func(o Offering) bool {
			return !o.Available || !offerings.allows(o)
		})
		out = append(out, t)
	}
	return out, nil
}
