package schedulerengine

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
)

func (s *solver) plan() Plan {
	p := Plan{Existing: s.decided.onExistingNodes, Unschedulable: s.decided.unschedulable, Order: s.decided.order}
	for _, c := range s.claims {
		nc := c.nodeClaim(s.prices(newOfferingFilter(c.reqs)))
		p.NewNodes = append(p.NewNodes, nc)
		p.Cost += nc.PricePerHour
	}
	p.CostLowerBound = s.costLowerBound()
	return p
}

// pricedType is an instance type with its cheapest offering allowed by a claim.
type pricedType struct {
	index int
	price float64
}

// comparePriced orders types cheapest first, ties by name.
func comparePriced(w *world, a, b pricedType) int {
	if d := cmp.Compare(a.price, b.price); d != 0 {
		return d
	}
	return strings.Compare(w.types[a.index].name, w.types[b.index].name)
}

// nodeClaim turns a claim into the Plan's NodeClaim: its types cheapest first (ties by name),
// at most MaxInstanceTypes, with the zones and capacity types their allowed offerings span.
func (c *claim) nodeClaim(prices []float64) NodeClaim {
	w := c.world
	offerings := newOfferingFilter(c.reqs)
	candidates := cheapestCandidates(c.types, prices, hasMinValues(c.reqs))
	priced := make([]pricedType, 0, len(candidates))
	for _, i := range candidates {
		if price := prices[i]; !math.IsInf(price, 1) {
			priced = append(priced, pricedType{index: i, price: price})
		}
	}
	slices.SortFunc(priced, func(a, b pricedType) int { return comparePriced(w, a, b) })
	priced = w.truncateKeepingMinValues(priced, c.reqs, MaxInstanceTypes)
	nc := NodeClaim{
		NodePool: c.pool.name,
		Pods:     slices.Clone(c.pods),
		Labels:   c.reqs.PinnedLabels(),
		Taints:   slices.Clone(c.pool.taints),
		Requests: w.dims.list(c.requests),
	}
	zones, capacityTypes := map[string]bool{}, map[string]bool{}
	for _, pt := range priced {
		t := &w.types[pt.index]
		nc.InstanceTypes = append(nc.InstanceTypes, t.name)
		for _, o := range t.offerings {
			if offerings.allows(o) {
				zones[o.Zone], capacityTypes[o.CapacityType] = true, true
				nc.MaxPricePerHour = max(nc.MaxPricePerHour, o.PricePerHour)
			}
		}
	}
	nc.Zones = slices.Sorted(maps.Keys(zones))
	nc.CapacityTypes = slices.Sorted(maps.Keys(capacityTypes))
	if len(priced) > 0 {
		nc.PricePerHour = priced[0].price
	}
	return nc
}

// cheapestCandidates cuts types, which claims keep cheapest first, to the ones that can be
// among the MaxInstanceTypes cheapest once ties are broken by name: those priced no higher
// than the MaxInstanceTypes-th. Sorting a claim's every type (hundreds, for thousands of
// claims) only to keep sixty cost a fifth of Solve's memory. With minValues the cut may need
// dearer types, and a list found out of order is left whole.
func cheapestCandidates(types []int, prices []float64, minValues bool) []int {
	if minValues || len(types) <= MaxInstanceTypes {
		return types
	}
	for j := 1; j < len(types); j++ {
		if prices[types[j]] < prices[types[j-1]] {
			return types
		}
	}
	limit := prices[types[MaxInstanceTypes-1]]
	n := MaxInstanceTypes
	for n < len(types) && prices[types[n]] <= limit {
		n++
	}
	return types[:n]
}
