package schedulerengine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// The repack packs again, per NodePool and pod class, the claims holding only plain pods:
// pods with no pod topology (no constraint, and no group counting them), no host port and
// no preference, so nothing else depends on which node they are on. First-fit-decreasing
// packs one resource at a time; the repack fills each node with the pods that best use what
// it has left in every resource, and is kept only when it is cheaper. Pools with limits are
// left alone, since a repack may charge them differently.

// repackGroup is the claims of one pool holding plain pods of one class.
type repackGroup struct {
	pool   *poolState
	class  *podClass
	claims []*claim
}

func (s *solver) repackGroups() []*repackGroup {
	var groups []*repackGroup
	index := map[[2]any]*repackGroup{}
	for _, c := range s.claims {
		class, ok := plainClass(c)
		if !ok || c.pool.limited {
			continue
		}
		key := [2]any{c.pool, class}
		g, found := index[key]
		if !found {
			g = &repackGroup{pool: c.pool, class: class}
			index[key] = g
			groups = append(groups, g)
		}
		g.claims = append(g.claims, c)
	}
	return groups
}

// plainClass returns the class all of the claim's pods share, if they are all plain.
func plainClass(c *claim) (*podClass, bool) {
	var class *podClass
	for _, p := range c.members {
		lv := p.level()
		if !isPlain(p) || len(lv.class.terms) != 1 || (class != nil && lv.class != class) {
			return nil, false
		}
		class = lv.class
	}
	return class, class != nil
}

// repack replaces the group's claims with new ones filled by packBins, if that costs less.
func (s *solver) repack(g *repackGroup) {
	var pods []*pendingPod
	cost := 0.0
	for _, c := range g.claims {
		pods = append(pods, c.members...)
		cost += s.claimPrice(c)
	}
	if len(g.claims) < 2 {
		return
	}
	sd := s.seedFor(g.pool, pods[0], g.class.terms[0])
	if sd.rejection != nil {
		return
	}
	bins, binCost := s.packBins(g.pool, sd.claim, pods)
	if binCost >= cost*(1-1e-9) {
		return
	}
	for _, c := range g.claims {
		c.removed = true
		s.slack.set(c)
	}
	for _, bin := range bins {
		s.fillBin(g.pool, bin)
	}
}

func (s *solver) claimPrice(c *claim) float64 {
	if len(c.types) == 0 {
		return 0
	}
	return s.prices(newOfferingFilter(c.reqs))[c.types[0]]
}

// fillBin opens a claim for a bin's pods; a pod that unexpectedly does not fit goes through
// the usual placement order (placeWithoutRelaxing).
func (s *solver) fillBin(pool *poolState, bin []*pendingPod) {
	var c *claim
	for _, p := range bin {
		if c == nil {
			nc, fit, rej := s.newClaimFor(pool, p)
			if rej == nil {
				s.open(nc, p, fit)
				c = nc
				continue
			}
		} else if fit, ok := s.tryClaim(c, p); ok {
			s.addToClaim(c, p, fit)
			continue
		}
		if !s.placeWithoutRelaxing(p) {
			s.decided.unschedulable[p.key] = fmt.Sprintf("lost while repacking: %s", s.decided.unschedulable[p.key])
		}
	}
}

// bucket is the pods of one size, largest first.
type bucket struct {
	requests vec
	pods     []*pendingPod
}

// packBins fills nodes one at a time: each starts as the type most efficient for the pods
// still to pack and takes, again and again, the largest pod (by its share of the node) among
// those that fit whose shape best matches what the node has left, until none fits. Each bin
// is then priced as the cheapest type holding it.
func (s *solver) packBins(pool *poolState, seed *claim, pods []*pendingPod) ([][]*pendingPod, float64) {
	buckets := bucketsOf(pods)
	offerings := newOfferingFilter(seed.reqs)
	remaining := make(vec, len(s.world.dims.names))
	for _, p := range pods {
		remaining = remaining.plus(p.requests)
	}
	var bins [][]*pendingPod
	total := 0.0
	for left := len(pods); left > 0; {
		first := largestLeft(buckets)
		target, ok := s.mostEfficient(pool, seed.types, offerings, remaining, first.requests)
		if !ok {
			return nil, total + 1e18 // some pod fits no type: keep the plan as it is
		}
		room := slices.Clone(pool.alloc[target])
		var bin []*pendingPod
		used := make(vec, len(room))
		for {
			b := bestBucket(buckets, room, pool.alloc[target])
			if b == nil {
				break
			}
			p := b.pods[0]
			b.pods = b.pods[1:]
			bin = append(bin, p)
			room = room.minus(p.requests)
			used = used.plus(p.requests)
			remaining = remaining.minus(p.requests)
			left--
		}
		price, ok := cheapestHolding(pool, seed.types, s.prices(offerings), used)
		if !ok || len(bin) == 0 {
			return nil, total + 1e18
		}
		total += price
		bins = append(bins, bin)
	}
	return bins, total
}

func bucketsOf(pods []*pendingPod) []*bucket {
	var out []*bucket
	for _, p := range pods {
		i := slices.IndexFunc(out, func(b *bucket) bool { return slices.Equal(b.requests, p.requests) })
		if i < 0 {
			out = append(out, &bucket{requests: p.requests})
			i = len(out) - 1
		}
		out[i].pods = append(out[i].pods, p)
	}
	for _, b := range out {
		slices.SortFunc(b.pods, func(x, y *pendingPod) int { return cmp.Compare(x.key, y.key) })
	}
	return out
}

func largestLeft(buckets []*bucket) *bucket {
	var best *bucket
	for _, b := range buckets {
		if len(b.pods) > 0 && (best == nil || compareVec(b.requests, best.requests) > 0) {
			best = b
		}
	}
	return best
}

func compareVec(a, b vec) int {
	for d := range a {
		if c := cmp.Compare(a[d], b[d]); c != 0 {
			return c
		}
	}
	return 0
}

// bestBucket picks, among buckets whose pods fit in room, the one whose pod has the largest
// dot product with room, both as shares of the node's allocatable in cpu and memory: big
// pods first, and of those the ones heavy in what the node has most of.
func bestBucket(buckets []*bucket, room, alloc vec) *bucket {
	var best *bucket
	bestScore := -1.0
	for _, b := range buckets {
		if len(b.pods) == 0 || !b.requests.fitsIn(room) {
			continue
		}
		score := shareScore(b.requests, room, alloc)
		if score > bestScore || (score == bestScore && compareVec(b.requests, best.requests) > 0) {
			best, bestScore = b, score
		}
	}
	return best
}

// shareScore is the dot product of a pod's requests and a node's room, both as shares of
// the node's allocatable in cpu and memory.
func shareScore(requests, room, alloc vec) float64 {
	score := 0.0
	for _, d := range []int{dimCPU, dimMemory} {
		if alloc[d] > 0 {
			score += float64(requests[d]) / float64(alloc[d]) * float64(room[d]) / float64(alloc[d])
		}
	}
	return score
}

// cheapestHolding is the price of the cheapest of types (cheapest first) whose allocatable in
// the pool holds used.
func cheapestHolding(pool *poolState, types []int, prices []float64, used vec) (float64, bool) {
	for _, i := range types {
		if used.fitsIn(pool.alloc[i]) {
			return prices[i], !math.IsInf(prices[i], 1)
		}
	}
	return 0, false
}

// isPlain reports whether nothing depends on which node the pod is on and it asks nothing
// of its neighbours: no pod topology, host port or preference.
func isPlain(p *pendingPod) bool {
	lv := p.level()
	return len(p.prefs) == 0 && lv.topo.empty() && len(p.ports) == 0
}
