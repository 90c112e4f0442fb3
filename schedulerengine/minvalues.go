package schedulerengine

import (
	"fmt"
	"slices"
	"strings"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// minValuesShortfall is a requirement whose minValues a set of instance types does not meet.
type minValuesShortfall struct {
	req    scheduling.Requirement
	values []string // the distinct values the types do offer, sorted
}

// hasMinValues reports whether any requirement asks for minValues, the cheap test that lets
// most claims skip counting.
func hasMinValues(reqs scheduling.Requirements) bool {
	return slices.ContainsFunc(reqs, func(r scheduling.Requirement) bool { return r.MinValues() > 0 })
}

// checkMinValuesOf returns the first requirement (by key) whose minValues the types miss.
// Only keys the instance type or offering decides are counted: a NodePool-level label has
// one value per node whatever the flexibility.
func (w *world) checkMinValuesOf(reqs scheduling.Requirements, types []int) *minValuesShortfall {
	for _, r := range reqs {
		if r.MinValues() == 0 || !w.decidedByInstanceType(r.Key) {
			continue
		}
		values := w.distinctValues(r.Key, types, newOfferingFilter(reqs))
		if len(values) < r.MinValues() {
			return &minValuesShortfall{req: r, values: values}
		}
	}
	return nil
}

// distinctValues lists the values of key the types (and their allowed offerings) offer.
func (w *world) distinctValues(key string, types []int, offerings offeringFilter) []string {
	seen := map[string]bool{}
	for _, i := range types {
		t := &w.types[i]
		switch key {
		case v1.LabelZone, v1.LabelCapacityType:
			for _, o := range t.offerings {
				if !offerings.allows(o) {
					continue
				}
				if key == v1.LabelZone {
					seen[o.Zone] = true
				} else {
					seen[o.CapacityType] = true
				}
			}
		default:
			if v, ok := t.labels[key]; ok {
				seen[v] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func (s *minValuesShortfall) explain(pool string) string {
	offered := "none"
	if len(s.values) > 0 {
		offered = strings.Join(s.values, ", ")
	}
	return fmt.Sprintf("NodePool %q requires at least %d distinct values of %s (minValues), but the instance types that fit offer %d (%s)",
		pool, s.req.MinValues(), s.req.Key, len(s.values), offered)
}

func checkMinValues(c *claim, _ *pendingPod, f *claimFit) *rejection {
	if !hasMinValues(f.reqs) || (!f.narrowed && c.hasMerged(f.term)) {
		return nil
	}
	short := c.world.checkMinValuesOf(f.reqs, f.types)
	if short == nil {
		return nil
	}
	pool := c.pool.name
	return &rejection{pool: pool, explain: func() string { return short.explain(pool) }}
}

// truncateKeepingMinValues keeps at most limit of the price-ordered types: the cheapest ones,
// except that when they would miss a minValues requirement the cheapest type of each missing
// value is swapped in for the dearest kept types, as far as the limit allows.
func (w *world) truncateKeepingMinValues(priced []pricedType, reqs scheduling.Requirements, limit int) []pricedType {
	if len(priced) <= limit {
		return priced
	}
	kept := priced[:limit]
	if !hasMinValues(reqs) || w.checkMinValuesOf(reqs, indices(kept)) == nil {
		return kept
	}
	chosen := map[int]bool{}
	offerings := newOfferingFilter(reqs)
	for _, r := range reqs {
		if r.MinValues() == 0 || !w.decidedByInstanceType(r.Key) {
			continue
		}
		covered := map[string]bool{}
		for i := range chosen {
			for _, v := range w.distinctValues(r.Key, []int{i}, offerings) {
				covered[v] = true
			}
		}
		for _, pt := range priced {
			if len(covered) >= r.MinValues() || len(chosen) >= limit {
				break
			}
			fresh := false
			for _, v := range w.distinctValues(r.Key, []int{pt.index}, offerings) {
				if !covered[v] {
					covered[v], fresh = true, true
				}
			}
			if fresh {
				chosen[pt.index] = true
			}
		}
	}
	out := make([]pricedType, 0, limit)
	for _, pt := range priced {
		if chosen[pt.index] {
			out = append(out, pt)
		}
	}
	for _, pt := range priced {
		if len(out) >= limit {
			break
		}
		if !chosen[pt.index] {
			out = append(out, pt)
			chosen[pt.index] = true
		}
	}
	slices.SortStableFunc(out, func(a, b pricedType) int { return comparePriced(w, a, b) })
	return out
}

func indices(priced []pricedType) []int {
	out := make([]int, len(priced))
	for i, pt := range priced {
		out[i] = pt.index
	}
	return out
}
