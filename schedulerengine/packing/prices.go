package packing

import "math"

// UnitPrices holds the cheapest price per milli-unit of each resource seen so far.
type UnitPrices []float64

// NewUnitPrices knows no price yet for any of n resources.
func NewUnitPrices(n int) UnitPrices {
	u := make(UnitPrices, n)
	for i := range u {
		u[i] = math.Inf(1)
	}
	return u
}

// Offer considers a bin at price with allocatable alloc.
func (u UnitPrices) Offer(price float64, alloc []int64) {
	for d, amount := range alloc {
		if amount > 0 {
			u[d] = min(u[d], price/float64(amount))
		}
	}
}

// Bound is the binding resource's cost of covering total: no set of the bins offered that
// holds total costs less.
func (u UnitPrices) Bound(total []int64) float64 {
	best := 0.0
	for d, amount := range total {
		if amount > 0 && !math.IsInf(u[d], 1) {
			best = max(best, float64(amount)*u[d])
		}
	}
	return best
}

// NodesNeeded is how many bins of allocatable alloc the demand fills, fractionally, counting
// cpu, memory and pod slots.
func NodesNeeded(demand, alloc []int64) float64 {
	need := 0.0
	for _, d := range []int{CPU, Memory, Pods} {
		if demand[d] <= 0 {
			continue
		}
		if alloc[d] <= 0 {
			return math.Inf(1)
		}
		need = max(need, float64(demand[d])/float64(alloc[d]))
	}
	return need
}

// Waste is the part of a bin's price its cpu and memory left unused stand for, each
// resource taken as half the price.
func Waste(price float64, alloc, held []int64) float64 {
	used := 0.0
	for _, d := range []int{CPU, Memory} {
		if alloc[d] > 0 {
			used += float64(held[d]) / float64(alloc[d]) / 2
		}
	}
	return price * (1 - used)
}
