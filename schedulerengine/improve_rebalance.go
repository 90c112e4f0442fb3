package schedulerengine

import (
	"slices"
)

// rebalance repacks, per NodePool, the pods that can change node without any pod's
// topology check changing its answer (see mover), after first-fit-decreasing has placed
// everything. First-fit fills the first nodes with the largest pods, which are often all
// heavy in one resource: at scale that leaves big nodes full of memory and short of cpu, or
// the reverse, next to the nodes that pods of their own (hostname anti-affinity, say)
// forced open. The pass takes the movable pods off every claim, puts them back first where
// they cost nothing or least (fillClaim), and packs the rest into the most wasteful claims,
// grown, before opening new ones (packGroup). The result is kept only when the pool's cost
// falls.
//
// Pools with limits are left alone, as in the repack. Spread constraints that count only some
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

// rebalancer is one pool's pass.
type rebalancer struct {
	s            *solver
	pool         *poolState
	steps        []claimStep // the claim steps but topology, which movers need not repeat
	spreadOwners hostSpreadOwners
	// allowed caches, per requirements (their String), the pool's types they allow, by
	// price: claims pinned alike share the list.
	allowed map[string][]int
}

func (s *solver) rebalancePool(pool *poolState, steps []claimStep, selective []*topoGroup) {
	before := s.poolCost(pool)
	eligibleBefore := s.eligibilities(pool, selective)
	saved := s.saveClaims()
	rb := &rebalancer{s: s, pool: pool, steps: steps, spreadOwners: hostSpreadOwners{}, allowed: map[string][]int{}}
	movers := rb.takeMovers()
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
	fs := newFillState(buckets)
	for _, heldOnly := range []bool{true, false} {
		for _, c := range claims {
			if c.pool == pool && !c.removed {
				rb.fillClaim(c, fs, heldOnly)
			}
		}
	}
	if !rb.packRest(buckets, fs) || s.poolCost(pool) >= before*(1-1e-9) ||
		!sameEligibilities(eligibleBefore, s.eligibilities(pool, selective)) {
		s.restore(saved)
	}
}

// takeMovers lifts the movable pods off the pool's claims, in the order they were placed
// (largest first), and shrinks each claim to the cheapest type holding what is left.
func (rb *rebalancer) takeMovers() []mover {
	byPod := map[*pendingPod]mover{}
	for _, c := range rb.s.claims {
		if c.pool != rb.pool || c.removed {
			continue
		}
		var kept []*pendingPod
		for _, p := range c.members {
			if m, ok := moverOn(c, p); ok {
				byPod[p] = m
				m.lift(c)
			} else {
				kept = append(kept, p)
				rb.spreadOwners.add(c, p)
			}
		}
		if len(kept) < len(c.members) {
			rb.shrink(c, kept)
		}
	}
	var movers []mover
	for _, p := range rb.s.pods {
		if m, ok := byPod[p]; ok {
			movers = append(movers, m)
		}
	}
	return movers
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

// rebalanceState is what the pass needs to undo itself.
type rebalanceState struct {
	claims       []*claim
	saved        []claim
	nextHostname int32
	// counts are the hostname spread groups' counts, which moving pods changes.
	counts map[*topoGroup][]int32
}

func (s *solver) saveClaims() rebalanceState {
	st := rebalanceState{claims: slices.Clone(s.claims), saved: make([]claim, len(s.claims)), nextHostname: s.nextHostname, counts: map[*topoGroup][]int32{}}
	for i, c := range s.claims {
		st.saved[i] = *c
		st.saved[i].domains = slices.Clone(c.domains) // settleDomains writes in place
	}
	for _, g := range s.topo.groups {
		if g.keyIdx == hostnameKey && g.kind == groupSpread {
			st.counts[g] = slices.Clone(g.counts)
		}
	}
	return st
}

// restore puts every claim back as saved. Claims only ever replace their slices or append
// past the saved length, so the saved values still describe them.
func (s *solver) restore(st rebalanceState) {
	for _, c := range s.claims[len(st.claims):] {
		c.removed = true
		s.slack.set(c)
	}
	for i, c := range st.claims {
		*c = st.saved[i]
	}
	for g, counts := range st.counts {
		g.counts = counts
	}
	s.claims, s.nextHostname = st.claims, st.nextHostname
	for _, c := range s.claims {
		s.slack.set(c)
	}
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
