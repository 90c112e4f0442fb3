package schedulerengine

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/schedulerengine/packing"
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
	unit := packing.NewUnitPrices(len(d.names))
	for _, it := range types {
		price, ok := cheapestAvailable(it.Offerings)
		if ok {
			unit.Offer(price, d.vec(it.Allocatable))
		}
	}
	return unit.Bound(total)
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
	for _, p := range s.pods {
		if placed[p.key] {
			total = total.plus(p.requests)
		}
	}
	unit := packing.NewUnitPrices(len(total))
	for _, pool := range s.pools {
		offerings := newOfferingFilter(pool.reqs)
		for _, i := range pool.types {
			if price, ok := s.world.types[i].cheapest(offerings); ok {
				unit.Offer(price, pool.alloc[i])
			}
		}
	}
	return unit.Bound(total)
}
