package schedulerengine

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/nodewright/nodewright/schedulerengine/packing"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// shrink leaves claim c holding only kept, on every type its requirements allow that holds
// them, or removes it when nothing is kept.
func (rb *rebalancer) shrink(c *claim, kept []*pendingPod) {
	if len(kept) == 0 {
		c.removed = true
		rb.s.slack.set(c)
		return
	}
	requests := make(vec, len(c.requests))
	c.pods, c.members, c.ports = make([]string, 0, len(kept)), kept, nil
	for _, p := range kept {
		requests = requests.plus(p.requests)
		c.pods = append(c.pods, p.key)
		c.ports = append(c.ports, p.ports...)
	}
	c.requests = requests
	// The requirements say which types the pods' labels allow; a daemonset binding one of
	// their host ports rules out more, which only the ports tell.
	types, _, _ := c.pool.typesFreeOfDaemonPorts(rb.allowedTypes(c), c.ports)
	c.types = typesWithRoom(c.pool, types, requests)
	c.ceiling = c.ceilingOf(c.types)
	rb.s.slack.set(c)
}

// allowedTypes is every type of the claim's pool its requirements allow, by price; claims
// pinned alike share the list.
func (rb *rebalancer) allowedTypes(c *claim) []int {
	key := c.reqs.String()
	if types, ok := rb.allowed[key]; ok {
		return types
	}
	w := c.world
	types := w.byPrice(w.typesAllowing(c.pool.types, c.reqs), newOfferingFilter(c.reqs))
	rb.allowed[key] = types
	return types
}

// fillCandidates is how many of a claim's cheapest instance types fillClaim tries.
const fillCandidates = 6

// moverFamily is the buckets of one pod class and set of kept domains: a claim takes all
// of a family or none, so fillClaim looks at families first.
type moverFamily struct {
	class   *podClass
	keep    []keptDomain
	buckets []*moverBucket
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
			f = &moverFamily{class: b.class, keep: b.keptDomains}
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
		if heldOnly && len(f.keep) == 0 || !staysIn(f.keep, c) {
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
	counts := rb.spreadOwners.of(c)
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
			i := fs.pick(room, alloc, func(i int) bool { return counts.allows(c, fs.eligible[i].hostTies, extra) })
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
			if rej == nil && counts.allows(c, m.hostTies, hostCounts{}) {
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

// packRest packs the movers no claim took as they were, per pod class and set of kept
// domains. It reports false when a pod does not land as packed, and the pass is then
// undone.
func (rb *rebalancer) packRest(buckets []*moverBucket, fs *fillState) bool {
	type groupKey struct {
		class *podClass
		keep  string
	}
	groups := map[groupKey][]*moverBucket{}
	var order []groupKey
	for _, b := range buckets {
		if len(b.pods) == 0 {
			continue
		}
		k := groupKey{class: b.class, keep: keepKey(b.keptDomains)}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], b)
	}
	for _, k := range order {
		if !rb.packGroup(groups[k], fs) {
			return false
		}
	}
	return true
}

// packGroup packs buckets sharing a pod class and kept domains. Each bin is an existing
// claim in those domains, most wasteful first, grown to the type that carries the pods
// still to pack most cheaply and filled by bestBucket; when none is left, a new claim pinned
// to the domains. Growing a claim rather than opening one also fills the room its current
// type wastes.
func (rb *rebalancer) packGroup(buckets []*moverBucket, fs *fillState) bool {
	s, pool := rb.s, rb.pool
	first := buckets[0].movers[0]
	seed, seedTerm, ok := s.pinnedSeed(pool, first)
	if !ok {
		return false
	}
	remaining := make(vec, len(s.world.dims.names))
	left := 0
	sim := make([]*bucket, len(buckets))
	for i, b := range buckets {
		for _, p := range b.pods {
			remaining = remaining.plus(p.requests)
		}
		left += len(b.pods)
		sim[i] = &b.bucket
	}
	fs.load(buckets)
	hosts := s.hostsFor(pool, first)
	for left > 0 {
		var c *claim
		term := seedTerm
		if len(hosts) > 0 {
			c, term, hosts = hosts[0].claim, hosts[0].term, hosts[1:]
		} else {
			c = seed.fresh(s.nextHostname)
			c.sizeLimit = c.ceiling
			c.idx = len(s.claims)
			s.claims = append(s.claims, c)
			s.nextHostname = s.topo.keys[hostnameKey].intern(claimHostname(len(s.claims)))
		}
		counts := rb.spreadOwners.of(c)
		allowed := func(i int) bool { return counts.allows(c, buckets[i].hostTies, hostCounts{}) }
		if len(c.pods) > 0 && !anyAllowed(buckets, allowed) {
			continue // the host's spread counts turn every pod left away
		}
		target, ok := s.mostEfficient(pool, c.types, newOfferingFilter(c.reqs), remaining, c.requests.plus(largestLeft(sim).requests))
		if !ok {
			if len(c.pods) == 0 {
				return false
			}
			continue
		}
		alloc := pool.alloc[target]
		for {
			i := fs.pick(alloc.minus(c.requests), alloc, allowed)
			if i < 0 {
				break
			}
			m := buckets[i].take()
			fit, rej := c.check(m.pod, term, rb.steps)
			if rej != nil {
				return false
			}
			rb.land(c, m, fit)
			remaining = remaining.minus(m.pod.requests)
			left--
		}
		if len(c.pods) == 0 || !staysIn(first.keptDomains, c) {
			return false
		}
	}
	return true
}

func anyAllowed(buckets []*moverBucket, allowed func(i int) bool) bool {
	for i, b := range buckets {
		if len(b.pods) > 0 && allowed(i) {
			return true
		}
	}
	return false
}

// hostClaim is an existing claim a group of movers may be packed into, with the term that lets
// them join it.
type hostClaim struct {
	claim *claim
	term  *podTerm
	waste float64
}

// hostsFor lists the pool's claims the mover's group may join without changing their
// requirements, most wasteful first.
func (s *solver) hostsFor(pool *poolState, m mover) []hostClaim {
	var out []hostClaim
	for _, c := range s.claims {
		if c.pool != pool || c.removed || len(c.pods) == 0 || !staysIn(m.keptDomains, c) {
			continue
		}
		i := slices.IndexFunc(m.pod.level().class.terms, c.hasMerged)
		if i < 0 {
			continue
		}
		prices := s.prices(newOfferingFilter(c.reqs))
		out = append(out, hostClaim{claim: c, term: m.pod.level().class.terms[i], waste: packing.Waste(prices[c.types[0]], pool.alloc[c.types[0]], c.requests)})
	}
	slices.SortStableFunc(out, func(a, b hostClaim) int { return cmp.Compare(b.waste, a.waste) })
	return out
}

// pinnedSeed is the empty claim of the pool for the mover's first fitting term, narrowed to
// the mover's kept domains.
func (s *solver) pinnedSeed(pool *poolState, m mover) (*claim, *podTerm, bool) {
	for _, t := range m.pod.level().class.terms {
		sd := s.seedFor(pool, m.pod, t)
		if sd.rejection != nil {
			continue
		}
		c := *sd.claim
		for _, k := range m.keptDomains {
			c.reqs = c.reqs.With(scheduling.In(s.topo.keys[k.keyIdx].key, s.topo.keys[k.keyIdx].names[k.domain]))
		}
		if len(m.keptDomains) > 0 {
			c.types = c.world.byPrice(c.world.typesAllowing(c.types, c.reqs), newOfferingFilter(c.reqs))
			c.ceiling = c.ceilingOf(c.types)
		}
		if len(c.types) > 0 {
			return &c, t, true
		}
	}
	return nil, nil, false
}
