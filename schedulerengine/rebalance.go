package schedulerengine

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
)

// rebalance repacks, per NodePool, the pods that can change node without any pod's
// topology check changing its answer (see mover), after first-fit-decreasing has placed
// everything. First-fit fills the first nodes with the largest pods, which are often all
// heavy in one resource: at scale that leaves big nodes full of memory and short of cpu, or
// the reverse, next to the nodes that pods of their own (hostname anti-affinity, say)
// forced open. The pass takes the movable pods off every claim, puts them back first where
// they cost nothing (the slack of a claim's current instance type), and packs the rest into
// new nodes filled in both resources at once (packBins). The result is kept only when the
// pool's cost falls.
//
// Pools with limits are left alone, as in improve. Spread constraints that count only some
// nodes (nodeAffinityPolicy or nodeTaintsPolicy Honor) may depend on a claim's instance
// types, which the pass changes: the pass is undone if it changes whether any claim counts
// for such a constraint.
func (s *solver) rebalance() {
	steps := slices.DeleteFunc(slices.Clone(s.world.steps), func(st claimStep) bool { return st.kind == reasonTopology })
	var selective []*topoGroup
	for _, g := range s.topo.groups {
		if g.kind == groupSpread && g.selective() {
			selective = append(selective, g)
		}
	}
	for _, pool := range s.pools {
		if !pool.limited {
			s.rebalancePool(pool, steps, selective)
		}
	}
}

// eligibilities is, per claim, whether it counts for each selective spread group.
func (s *solver) eligibilities(pool *poolState, groups []*topoGroup) map[*claim][]eligibility {
	if len(groups) == 0 {
		return nil
	}
	out := map[*claim][]eligibility{}
	for _, c := range s.claims {
		if c.pool != pool || c.removed {
			continue
		}
		e := make([]eligibility, len(groups))
		for i, g := range groups {
			e[i] = s.world.claimEligibility(c.reqs, c.types, c.pool.taints, g)
		}
		out[c] = e
	}
	return out
}

func sameEligibilities(before, after map[*claim][]eligibility) bool {
	for c, e := range before {
		if a, ok := after[c]; ok && !slices.Equal(a, e) {
			return false
		}
	}
	return true
}

// mover is a pod the pass may move, with the domain it must keep on every topology key it
// touches. A pod that touches no hostname-keyed group and stays in the same domain of every
// key its own constraints and the groups counting it use leaves every count any pod's
// check reads unchanged, whatever the order the pods are bound in; so only its node's
// resources and requirements need checking again.
type mover struct {
	pod  *pendingPod
	keep []keptDomain
}

type keptDomain struct {
	keyIdx int
	domain int32
}

// moverOn returns the pod as a mover if it may leave claim c.
func moverOn(c *claim, p *pendingPod) (mover, bool) {
	if len(p.prefs) > 0 || len(p.ports) > 0 {
		return mover{}, false
	}
	lv := p.level()
	if lv.class.err != nil || lv.err != nil {
		return mover{}, false
	}
	m := mover{pod: p}
	keep := func(g *topoGroup) bool {
		if g.keyIdx == hostnameKey || g.kind == groupSpread && g.selective() {
			return false
		}
		if slices.ContainsFunc(m.keep, func(k keptDomain) bool { return k.keyIdx == g.keyIdx }) {
			return true
		}
		d := c.dom[g.keyIdx]
		if d < 0 {
			return false // undecided or absent: no domain the pod can be held to
		}
		m.keep = append(m.keep, keptDomain{keyIdx: g.keyIdx, domain: d})
		return true
	}
	if lv.topo != nil {
		for _, kc := range lv.topo.keys {
			for _, gs := range [][]ownedGroup{kc.spreads, kc.affinities, kc.antis} {
				for _, og := range gs {
					if !keep(og.group) {
						return mover{}, false
					}
				}
			}
			for _, gs := range [][]*topoGroup{kc.repelledBy, kc.matches} {
				for _, g := range gs {
					if !keep(g) {
						return mover{}, false
					}
				}
			}
		}
		for _, gs := range [][]*topoGroup{lv.topo.requiredAntis, lv.topo.matches} {
			for _, g := range gs {
				if !keep(g) {
					return mover{}, false
				}
			}
		}
	}
	return m, true
}

// staysIn reports whether claim c has the mover's domain on every key it must keep.
func (m mover) staysIn(c *claim) bool {
	for _, k := range m.keep {
		if c.dom[k.keyIdx] != k.domain {
			return false
		}
	}
	return true
}

// rebalanceState is what the pass needs to undo itself.
type rebalanceState struct {
	claims []*claim
	saved  []claim
	spare  int32
}

func (s *solver) saveClaims() rebalanceState {
	st := rebalanceState{claims: slices.Clone(s.claims), saved: make([]claim, len(s.claims)), spare: s.spare}
	for i, c := range s.claims {
		st.saved[i] = *c
	}
	return st
}

// restore puts every claim back as saved. Claims only ever replace their slices or append
// past the saved length, so the saved values still describe them.
func (s *solver) restore(st rebalanceState) {
	for _, c := range s.claims[len(st.claims):] {
		c.removed = true
		s.reindexSlack(c)
	}
	for i, c := range st.claims {
		*c = st.saved[i]
	}
	s.claims, s.spare = st.claims, st.spare
	for _, c := range s.claims {
		s.reindexSlack(c)
	}
}

func (s *solver) reindexSlack(c *claim) {
	if c.removed {
		s.free.set(c.idx, noSlack())
		s.grow.set(c.idx, noSlack())
		s.beyond.set(c.idx, noSlack())
		return
	}
	s.indexSlack(c)
}

func (s *solver) poolCost(pool *poolState) float64 {
	total := 0.0
	for _, c := range s.claims {
		if c.pool == pool && !c.removed {
			total += s.claimPrice(c)
		}
	}
	return total
}

func (s *solver) rebalancePool(pool *poolState, steps []claimStep, selective []*topoGroup) {
	before := s.poolCost(pool)
	counted := s.eligibilities(pool, selective)
	saved := s.saveClaims()
	movers := s.takeMovers(pool)
	if len(movers) == 0 {
		return
	}
	if !slices.ContainsFunc(s.claims, func(c *claim) bool { return c.pool == pool && !c.removed }) {
		// Every pod could move: packing them afresh is what repack already did.
		s.restore(saved)
		return
	}
	buckets := moverBuckets(movers)
	// Pods held to a domain can go to fewer claims than pods free to go anywhere, so they
	// fill first, and the free ones then fill what is left.
	claims := slices.Clone(s.claims)
	for _, held := range []bool{true, false} {
		for _, c := range claims {
			if c.pool == pool && !c.removed {
				s.fillClaim(c, buckets, steps, held)
			}
		}
	}
	var rest []mover
	for _, b := range buckets {
		for _, p := range b.pods {
			rest = append(rest, mover{pod: p, keep: b.keep})
		}
	}
	if !s.packMovers(pool, rest, steps) || s.poolCost(pool) >= before*(1-1e-9) ||
		!sameEligibilities(counted, s.eligibilities(pool, selective)) {
		s.restore(saved)
	}
}

// takeMovers lifts the movable pods off the pool's claims, in the order they were placed
// (largest first), and shrinks each claim to the cheapest type holding what is left.
func (s *solver) takeMovers(pool *poolState) []mover {
	byPod := map[*pendingPod]mover{}
	for _, c := range s.claims {
		if c.pool != pool || c.removed {
			continue
		}
		var kept []*pendingPod
		for _, p := range c.members {
			if m, ok := moverOn(c, p); ok {
				byPod[p] = m
			} else {
				kept = append(kept, p)
			}
		}
		if len(kept) < len(c.members) {
			s.shrink(c, kept)
		}
	}
	var movers []mover
	for _, p := range s.queue {
		if m, ok := byPod[p]; ok {
			movers = append(movers, m)
		}
	}
	return movers
}

// shrink leaves claim c holding only kept, on every type its requirements allow that holds
// them, or removes it when nothing is kept.
func (s *solver) shrink(c *claim, kept []*pendingPod) {
	if len(kept) == 0 {
		c.removed = true
		s.reindexSlack(c)
		return
	}
	requests := make(vec, len(c.requests))
	c.pods, c.members = make([]string, 0, len(kept)), kept
	for _, p := range kept {
		requests = requests.plus(p.requests)
		c.pods = append(c.pods, p.key)
	}
	c.requests = requests
	c.types = typesWithRoom(c.pool, s.allowedTypes(c), requests)
	c.ceiling = c.ceilingOf(c.types)
	s.indexSlack(c)
}

// allowedTypes is every type of the claim's pool its requirements allow, by price; claims
// pinned alike share the list.
func (s *solver) allowedTypes(c *claim) []int {
	key := c.reqs.String()
	if types, ok := s.allowed[c.pool][key]; ok {
		return types
	}
	w := c.world
	types := w.byPrice(w.typesAllowing(c.pool.types, c.reqs), newOfferingFilter(c.reqs))
	if s.allowed == nil {
		s.allowed = map[*poolState]map[string][]int{}
	}
	if s.allowed[c.pool] == nil {
		s.allowed[c.pool] = map[string][]int{}
	}
	s.allowed[c.pool][key] = types
	return types
}

// moverBucket is the movers of one size, pod class and set of kept domains, in the order
// they were placed.
type moverBucket struct {
	bucket
	class *podClass
	keep  []keptDomain
}

func moverBuckets(movers []mover) []*moverBucket {
	type key struct {
		class    *podClass
		keep     string
		requests string
	}
	index := map[key]*moverBucket{}
	var out []*moverBucket
	for _, m := range movers {
		k := key{class: m.pod.level().class, keep: keepKey(m.keep), requests: vecKey(m.pod.requests)}
		b, ok := index[k]
		if !ok {
			b = &moverBucket{bucket: bucket{requests: m.pod.requests}, class: k.class, keep: m.keep}
			index[k] = b
			out = append(out, b)
		}
		b.pods = append(b.pods, m.pod)
	}
	return out
}

// fillCandidates is how many of a claim's cheapest instance types fillClaim tries.
const fillCandidates = 6

// fillClaim tops claim c up with movers. For each of its few cheapest types it fills the
// room that type leaves, taking the pods whose shape best matches it (bestBucket), and it
// keeps the type that wastes least: price less the value of what the claim then holds.
func (s *solver) fillClaim(c *claim, buckets []*moverBucket, steps []claimStep, heldOnly bool) {
	var eligible []*moverBucket
	var terms []*podTerm
	for _, b := range buckets {
		if len(b.pods) == 0 || heldOnly && len(b.keep) == 0 || !(mover{keep: b.keep}).staysIn(c) {
			continue
		}
		i := slices.IndexFunc(b.class.terms, c.hasMerged)
		if i < 0 {
			continue
		}
		eligible = append(eligible, b)
		terms = append(terms, b.class.terms[i])
	}
	if len(eligible) == 0 {
		return
	}
	prices := s.prices(newOfferingFilter(c.reqs))
	best, bestWaste := make([]int, len(eligible)), math.Inf(1)
	store, sim := make([]bucket, len(eligible)), make([]*bucket, len(eligible))
	room, held := make(vec, len(c.requests)), make(vec, len(c.requests))
	for _, t := range c.types[:min(len(c.types), fillCandidates)] {
		alloc := c.pool.alloc[t]
		for i, b := range eligible {
			store[i] = bucket{requests: b.requests, pods: b.pods}
			sim[i] = &store[i]
		}
		for d := range room {
			room[d], held[d] = alloc[d]-c.requests[d], c.requests[d]
		}
		for {
			b := bestBucket(sim, room, alloc)
			if b == nil {
				break
			}
			b.pods = b.pods[1:]
			for d, r := range b.requests {
				room[d], held[d] = room[d]-r, held[d]+r
			}
		}
		if waste := wasteOn(prices[t], alloc, held); waste < bestWaste-1e-9 {
			bestWaste = waste
			for i, b := range eligible {
				best[i] = len(b.pods) - len(sim[i].pods)
			}
		}
	}
	for i, b := range eligible {
		if best[i] == 0 {
			continue
		}
		var refused []*pendingPod
		for _, p := range b.pods[:best[i]] {
			if fit, rej := c.check(p, terms[i], steps); rej == nil {
				s.commitMove(c, p, fit)
			} else {
				refused = append(refused, p)
			}
		}
		b.pods = b.pods[best[i]:]
		if len(refused) > 0 {
			b.pods = append(refused, b.pods...)
		}
	}
}

// wasteOn is the part of a type's price its cpu and memory left unused stand for, each
// resource taken as half the price.
func wasteOn(price float64, alloc, held vec) float64 {
	used := 0.0
	for _, d := range []int{dimCPU, dimMemory} {
		if alloc[d] > 0 {
			used += float64(held[d]) / float64(alloc[d]) / 2
		}
	}
	return price * (1 - used)
}

func (s *solver) commitMove(c *claim, p *pendingPod, fit claimFit) {
	c.Add(p, fit)
	c.settleDomains()
	s.indexSlack(c)
}

// packMovers packs the movers no claim took as they were, per pod class and set of kept
// domains. Each bin is an existing claim of the group's domains, most wasteful first, grown
// to the type that carries the pods still to pack most cheaply and filled by bestBucket;
// when none is left, a new claim pinned to the domains. Growing a claim rather than opening
// one also fills the room its current type wastes. It reports false when a pod does not
// land as packed, and the pass is then undone.
func (s *solver) packMovers(pool *poolState, movers []mover, steps []claimStep) bool {
	type groupKey struct {
		class *podClass
		keep  string
	}
	groups := map[groupKey][]mover{}
	var order []groupKey
	for _, m := range movers {
		k := groupKey{class: m.pod.level().class, keep: keepKey(m.keep)}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], m)
	}
	for _, k := range order {
		if !s.packGroup(pool, groups[k], steps) {
			return false
		}
	}
	return true
}

func (s *solver) packGroup(pool *poolState, ms []mover, steps []claimStep) bool {
	seed, seedTerm, ok := s.pinnedSeed(pool, ms[0])
	if !ok {
		return false
	}
	pods := make([]*pendingPod, len(ms))
	remaining := make(vec, len(s.world.dims.names))
	for i, m := range ms {
		pods[i] = m.pod
		remaining = remaining.plus(m.pod.requests)
	}
	buckets := bucketsOf(pods)
	hosts := s.hostsFor(pool, ms[0])
	for left := len(pods); left > 0; {
		var c *claim
		term := seedTerm
		if len(hosts) > 0 {
			c, term, hosts = hosts[0].claim, hosts[0].term, hosts[1:]
		} else {
			c = seed.fresh(s.spare)
			c.limit = c.ceiling
			c.idx = len(s.claims)
			s.claims = append(s.claims, c)
			s.spare = s.topo.keys[hostnameKey].intern(claimHostname(len(s.claims)))
		}
		target, ok := s.mostEfficient(pool, c.types, newOfferingFilter(c.reqs), remaining, c.requests.plus(largestLeft(buckets).requests))
		if !ok {
			if len(c.pods) == 0 {
				return false
			}
			continue
		}
		alloc := pool.alloc[target]
		added := 0
		for {
			b := bestBucket(buckets, alloc.minus(c.requests), alloc)
			if b == nil {
				break
			}
			fit, rej := c.check(b.pods[0], term, steps)
			if rej != nil {
				return false
			}
			s.commitMove(c, b.pods[0], fit)
			remaining = remaining.minus(b.requests)
			b.pods = b.pods[1:]
			left--
			added++
		}
		if added == 0 && len(c.pods) == 0 {
			return false
		}
		if !ms[0].staysIn(c) {
			return false
		}
	}
	return true
}

// host is an existing claim a group of movers may be packed into, with the term that lets
// them join it.
type host struct {
	claim *claim
	term  *podTerm
	waste float64
}

// hostsFor lists the pool's claims the mover's group may join without changing their
// requirements, most wasteful first.
func (s *solver) hostsFor(pool *poolState, m mover) []host {
	var out []host
	for _, c := range s.claims {
		if c.pool != pool || c.removed || len(c.pods) == 0 || !m.staysIn(c) {
			continue
		}
		i := slices.IndexFunc(m.pod.level().class.terms, c.hasMerged)
		if i < 0 {
			continue
		}
		prices := s.prices(newOfferingFilter(c.reqs))
		out = append(out, host{claim: c, term: m.pod.level().class.terms[i], waste: wasteOn(prices[c.types[0]], pool.alloc[c.types[0]], c.requests)})
	}
	slices.SortStableFunc(out, func(a, b host) int { return cmp.Compare(b.waste, a.waste) })
	return out
}

func vecKey(v vec) string {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return string(b)
}

func keepKey(keep []keptDomain) string {
	b := make([]byte, 0, 8*len(keep))
	for _, k := range keep {
		b = append(b, byte(k.keyIdx), byte(k.keyIdx>>8), byte(k.domain), byte(k.domain>>8), byte(k.domain>>16), ':')
	}
	return string(b)
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
		for _, k := range m.keep {
			c.reqs = c.reqs.With(requirementIn(s.topo.keys[k.keyIdx].key, s.topo.keys[k.keyIdx].names[k.domain]))
		}
		if len(m.keep) > 0 {
			c.types = c.world.byPrice(c.world.typesAllowing(c.types, c.reqs), newOfferingFilter(c.reqs))
			c.ceiling = c.ceilingOf(c.types)
		}
		if len(c.types) > 0 {
			return &c, t, true
		}
	}
	return nil, nil, false
}
