package schedulerengine

import "slices"

// improve repacks, per NodePool and pod class, the claims holding only plain pods: pods with
// no pod topology (no constraint, and no group counting them), no host port and no
// preference, so nothing else depends on which node they are on. First-fit-decreasing packs
// one resource at a time; the repack fills each node with the pods that best use what it has
// left in every resource, and is kept only when it is cheaper. Pools with limits are left
// alone, since a repack may charge them differently.
func (s *solver) improve() {
	for _, g := range s.repackGroups() {
		s.repack(g)
	}
	s.rebalance()
	s.reindexClaims()
}

// reindexClaims drops removed claims and rebuilds the slack trees.
func (s *solver) reindexClaims() {
	s.claims = slices.DeleteFunc(s.claims, func(c *claim) bool { return c.removed })
	s.slack = claimSlack{}
	clear(s.notExcluded) // the lists hold positions, which change here
	for i, c := range s.claims {
		c.idx = i
		s.slack.set(c)
	}
}

// isPlain reports whether nothing depends on which node the pod is on and it asks nothing
// of its neighbours: no pod topology, host port or preference.
func isPlain(p *pendingPod) bool {
	lv := p.level()
	return len(p.prefs) == 0 && lv.topo.empty() && len(p.ports) == 0
}
