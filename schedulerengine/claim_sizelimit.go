package schedulerengine

import (
	"math"

	"github.com/nodewright/nodewright/schedulerengine/packing"
)

// sizeLimitFor picks how far a new claim may grow before pods prefer another claim: the
// allocatable of the type, among those holding its first pod, that would carry all the pods
// of the first pod's class most cheaply if filled (price times the number of such nodes the
// class's cpu, memory and pod count need, fractionally). Equally efficient types go to the
// larger, which wastes less on rounding. Packing into nodes of that size, rather than
// growing one node to the largest type, is what keeps the plan close to the cost bound when
// the largest types are dearer per unit.
func (s *solver) sizeLimitFor(c *claim, fit claimFit, p *pendingPod) vec {
	demand, ok := s.demand[p.level().class]
	if !ok {
		demand = p.requests
	}
	best, found := s.mostEfficient(c.pool, fit.types, newOfferingFilter(fit.reqs), demand, fit.requests)
	if !found {
		return c.ceilingOf(fit.types)
	}
	return c.pool.alloc[best]
}

// mostEfficient is the type among types, holding at least atLeast, that would carry demand
// most cheaply fractionally; ties go to the larger.
func (s *solver) mostEfficient(pool *poolState, types []int, offerings offeringFilter, demand, atLeast vec) (int, bool) {
	prices := s.prices(offerings)
	best, bestScore := -1, math.Inf(1)
	for _, i := range types {
		alloc := pool.alloc[i]
		price := prices[i]
		if math.IsInf(price, 1) || !atLeast.fitsIn(alloc) {
			continue
		}
		score := price * packing.NodesNeeded(demand, alloc)
		switch {
		case best < 0 || score < bestScore*(1-1e-9):
			best, bestScore = i, score
		case score <= bestScore*(1+1e-9) && alloc[dimCPU] > pool.alloc[best][dimCPU]:
			best = i
		}
	}
	return best, best >= 0
}

// consumeDemand takes a pod's requests off what its class still needs, so claims opened
// later are sized for the pods still to come (memory-heavy ones, say, once the large cpu
// pods are in).
func (s *solver) consumeDemand(p *pendingPod) {
	class := p.levels[0].class
	if d, ok := s.demand[class]; ok {
		s.demand[class] = d.minus(p.requests)
	}
}
