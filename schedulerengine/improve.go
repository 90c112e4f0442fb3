package schedulerengine

import "slices"

// improve runs the two improvement passes over the placed claims, the repack
// (improve_repack.go) and the rebalance (improve_rebalance.go), each kept only where it
// lowers the cost, then drops the claims they removed.
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
	clear(s.antiLists) // the lists hold positions, which change here
	for i, c := range s.claims {
		c.idx = i
		s.slack.set(c)
	}
}
