package schedulerengine

import (
	"cmp"
	"slices"

	"github.com/nodewright/nodewright/schedulerengine/packing"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

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
	simulated := make([]*bucket, len(buckets))
	for i, b := range buckets {
		for _, p := range b.pods {
			remaining = remaining.plus(p.requests)
		}
		left += len(b.pods)
		simulated[i] = &b.bucket
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
		owners := rb.spreadOwners.of(c)
		allowed := func(i int) bool { return owners.allows(c, buckets[i].hostTies, hostCounts{}) }
		if len(c.pods) > 0 && !anyAllowed(buckets, allowed) {
			continue // the host's spread counts turn every pod left away
		}
		target, ok := s.mostEfficient(pool, c.types, newOfferingFilter(c.reqs), remaining, c.requests.plus(largestLeft(simulated).requests))
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
