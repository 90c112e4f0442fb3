package schedulerengine

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/nodewright/nodewright/schedulerengine/packing"
)

// fillCandidates is how many of a claim's cheapest instance types fillClaim tries.
const fillCandidates = 6

// moverFamily is the buckets of one pod class and set of kept domains: a claim may take from
// all of a family's buckets or from none (the same terms and domains decide), so fillClaim
// checks families first.
type moverFamily struct {
	class       *podClass
	keptDomains []keptDomain
	buckets     []*moverBucket
}

// fillState is fillClaim's scratch space, reused from claim to claim.
type fillState struct {
	families []*moverFamily
	// sizes are the distinct requests of all buckets; bucket.size indexes them.
	sizes [][]int64
	// Per claim: the buckets it may take, their terms, the eligible buckets of each size,
	// and how many pods of each bucket the current trial and the best one take.
	eligible  []*moverBucket
	terms     []*podTerm
	bySize    [][]int
	taken     []int
	bestTaken []int
	order     []sizeScore
}

type sizeScore struct {
	size  int
	score float64
}

func newFillState(buckets []*moverBucket) *fillState {
	fs := &fillState{}
	families := map[string]*moverFamily{}
	sizeIndex := map[string]int{}
	for _, b := range buckets {
		key := fmt.Sprintf("%p|%s", b.class, keepKey(b.keptDomains))
		f, ok := families[key]
		if !ok {
			f = &moverFamily{class: b.class, keptDomains: b.keptDomains}
			families[key] = f
			fs.families = append(fs.families, f)
		}
		f.buckets = append(f.buckets, b)
		rk := vecKey(b.requests)
		if _, ok := sizeIndex[rk]; !ok {
			sizeIndex[rk] = len(fs.sizes)
			fs.sizes = append(fs.sizes, b.requests)
		}
		b.size = sizeIndex[rk]
	}
	fs.bySize = make([][]int, len(fs.sizes))
	return fs
}

// fillClaim tops claim c up with movers. For each of its few cheapest types it fills the
// room that type leaves, taking the pods whose shape best matches it (bestBucket's rule),
// and it keeps the type that wastes least. heldOnly limits it to movers held to some
// domain.
func (rb *rebalancer) fillClaim(c *claim, fs *fillState, heldOnly bool) {
	fs.reset()
	for _, f := range fs.families {
		if heldOnly && len(f.keptDomains) == 0 || !staysIn(f.keptDomains, c) {
			continue
		}
		ti := slices.IndexFunc(f.class.terms, c.hasMerged)
		if ti < 0 {
			continue
		}
		for _, b := range f.buckets {
			if len(b.pods) > 0 {
				fs.bySize[b.size] = append(fs.bySize[b.size], len(fs.eligible))
				fs.eligible = append(fs.eligible, b)
				fs.terms = append(fs.terms, f.class.terms[ti])
			}
		}
	}
	if len(fs.eligible) == 0 {
		return
	}
	fs.clearTaken()
	fs.bestTaken = slices.Grow(fs.bestTaken[:0], len(fs.eligible))[:len(fs.eligible)]
	clear(fs.bestTaken)
	owners := rb.spreadOwners.of(c)
	prices := rb.s.prices(newOfferingFilter(c.reqs))
	bestWaste := math.Inf(1)
	room, held := make(vec, len(c.requests)), make(vec, len(c.requests))
	extra := hostCounts{added: map[*topoGroup]int32{}, owners: map[*topoGroup]int32{}}
	for _, t := range c.types[:min(len(c.types), fillCandidates)] {
		alloc := c.pool.alloc[t]
		clear(fs.taken)
		clear(extra.added)
		clear(extra.owners)
		for d := range room {
			room[d], held[d] = alloc[d]-c.requests[d], c.requests[d]
		}
		for {
			i := fs.pick(room, alloc, func(i int) bool { return owners.allows(c, fs.eligible[i].hostTies, extra) })
			if i < 0 {
				break
			}
			fs.taken[i]++
			for d, r := range fs.eligible[i].requests {
				room[d], held[d] = room[d]-r, held[d]+r
			}
			for _, tie := range fs.eligible[i].hostTies {
				if tie.matches {
					extra.added[tie.group]++
				}
				if tie.owns {
					extra.owners[tie.group]++
				}
			}
		}
		if waste := packing.Waste(prices[t], alloc, held); waste < bestWaste-1e-9 {
			bestWaste = waste
			copy(fs.bestTaken, fs.taken)
		}
	}
	for i, b := range fs.eligible {
		var refused []mover
		for range fs.bestTaken[i] {
			m := b.take()
			// The trial checked its own picks in turn; what lands is those or fewer, so
			// this holds, but a pod must never land on the trial's word alone.
			fit, rej := c.check(m.pod, fs.terms[i], rb.steps)
			if rej == nil && owners.allows(c, m.hostTies, hostCounts{}) {
				rb.land(c, m, fit)
			} else {
				refused = append(refused, m)
			}
		}
		for j := len(refused) - 1; j >= 0; j-- {
			b.movers = append([]mover{refused[j]}, b.movers...)
			b.pods = append([]*pendingPod{refused[j].pod}, b.pods...)
		}
	}
}

func (fs *fillState) reset() {
	fs.eligible, fs.terms = fs.eligible[:0], fs.terms[:0]
	for i := range fs.bySize {
		fs.bySize[i] = fs.bySize[i][:0]
	}
}

// load makes buckets the eligible ones, for packGroup.
func (fs *fillState) load(buckets []*moverBucket) {
	fs.reset()
	for _, b := range buckets {
		fs.bySize[b.size] = append(fs.bySize[b.size], len(fs.eligible))
		fs.eligible = append(fs.eligible, b)
	}
	fs.clearTaken()
}

func (fs *fillState) clearTaken() {
	fs.taken = slices.Grow(fs.taken[:0], len(fs.eligible))[:len(fs.eligible)]
	clear(fs.taken)
}

// pick is bestBucket's choice over the eligible buckets, by size: of the sizes that fit room,
// largest dot product with room first (ties to the larger pod), the first bucket with a pod
// left that allowed admits; -1 when none.
func (fs *fillState) pick(room, alloc vec, allowed func(i int) bool) int {
	fs.order = fs.order[:0]
	for size, list := range fs.bySize {
		if len(list) == 0 || !vec(fs.sizes[size]).fitsIn(room) {
			continue
		}
		fs.order = append(fs.order, sizeScore{size: size, score: shareScore(fs.sizes[size], room, alloc)})
	}
	slices.SortFunc(fs.order, func(a, b sizeScore) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return compareVec(fs.sizes[b.size], fs.sizes[a.size])
	})
	for _, o := range fs.order {
		for _, i := range fs.bySize[o.size] {
			if len(fs.eligible[i].pods) > fs.taken[i] && allowed(i) {
				return i
			}
		}
	}
	return -1
}

// land adds the mover to claim c with a fit c.check returned.
func (rb *rebalancer) land(c *claim, m mover, fit claimFit) {
	c.Add(m.pod, fit)
	c.settleDomains()
	rb.s.slack.set(c)
	m.land(c)
	rb.spreadOwners.add(c, m.pod)
}
