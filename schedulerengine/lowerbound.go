package schedulerengine

import (
	"math"

	corev1 "k8s.io/api/core/v1"
)

// LowerBound is the fractional lower bound on what any set of new nodes able to run pods
// costs per hour: for each resource the pods request (pod slots included), their total times
// the cheapest price per unit of it any instance type offers (its cheapest available offering
// over its allocatable); the bound is the largest of these, the binding resource's. No plan
// can beat it, since every node pays at least that unit price for each unit of the binding
// resource it provides. Resources no type offers are left out.
func LowerBound(pods []*corev1.Pod, types []InstanceType) float64 {
	var lists []corev1.ResourceList
	for _, p := range pods {
		if p != nil {
			lists = append(lists, PodRequests(p))
		}
	}
	for _, it := range types {
		lists = append(lists, it.Allocatable)
	}
	d := newDims(lists...)
	total := make(vec, len(d.names))
	for _, rl := range lists[:len(lists)-len(types)] {
		total = total.plus(d.vec(rl))
	}
	unit := newUnitPrices(len(d.names))
	for _, it := range types {
		price, ok := cheapestAvailable(it.Offerings)
		if ok {
			unit.offer(price, d.vec(it.Allocatable))
		}
	}
	return unit.bound(total)
}

func cheapestAvailable(offerings []Offering) (float64, bool) {
	best, found := 0.0, false
	for _, o := range offerings {
		if o.Available && (!found || o.PricePerHour < best) {
			best, found = o.PricePerHour, true
		}
	}
	return best, found
}

// unitPrices holds the cheapest price per milli-unit of each resource seen so far.
type unitPrices []float64

func newUnitPrices(n int) unitPrices {
	u := make(unitPrices, n)
	for i := range u {
		u[i] = math.Inf(1)
	}
	return u
}

// offer considers a node at price with allocatable alloc.
func (u unitPrices) offer(price float64, alloc vec) {
	for d, amount := range alloc {
		if amount > 0 {
			u[d] = min(u[d], price/float64(amount))
		}
	}
}

// bound is the binding resource's cost of covering total.
func (u unitPrices) bound(total vec) float64 {
	best := 0.0
	for d, amount := range total {
		if amount > 0 && !math.IsInf(u[d], 1) {
			best = max(best, float64(amount)*u[d])
		}
	}
	return best
}

// costLowerBound is LowerBound for the pods the plan puts on new nodes, over the types each
// NodePool allows at the prices it allows, net of daemonset overhead.
func (s *solver) costLowerBound() float64 {
	total := make(vec, len(s.world.dims.names))
	placed := map[string]bool{}
	for _, c := range s.claims {
		for _, k := range c.pods {
			placed[k] = true
		}
	}
	for _, p := range s.queue {
		if placed[p.key] {
			total = total.plus(p.requests)
		}
	}
	unit := newUnitPrices(len(total))
	for _, pool := range s.pools {
		offerings := newOfferingFilter(pool.reqs)
		for _, i := range pool.types {
			if price, ok := s.world.types[i].cheapest(offerings); ok {
				unit.offer(price, pool.alloc[i])
			}
		}
	}
	return unit.bound(total)
}
