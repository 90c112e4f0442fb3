package schedulerengine

import "github.com/nodewright/nodewright/schedulerengine/packing"

// A pod with required anti-affinity on the hostname can never join a claim already holding
// a pod its term selects, and claims only gain pods while Solve places them. When every
// replica of a Deployment repels the others, each has to scan past every claim its siblings
// took, which makes first-fit quadratic in the number of replicas. The solver's anti lists
// keep, per such group, the claims it does not yet exclude, in opening order, dropping the
// others as they are met; placement then walks that list instead of the slack trees.

// hostnameAntiGroup returns one of the pod's required hostname anti-affinity groups, or nil.
func hostnameAntiGroup(p *pendingPod) *topoGroup {
	if pt := p.level().topo; pt != nil {
		for _, g := range pt.requiredAntis {
			if g.keyIdx == hostnameKey {
				return g
			}
		}
	}
	return nil
}

// excludes reports whether the group's selected pods already sit on claim c.
func (g *topoGroup) excludes(c *claim) bool {
	return countAt(g.counts, c.domains[hostnameKey]) > 0
}

// antiList returns the claims g does not exclude, in opening order.
func (s *solver) antiList(g *topoGroup) []int {
	list, ok := s.antiLists[g]
	if !ok {
		for _, c := range s.claims {
			if !c.removed && !g.excludes(c) {
				list = append(list, c.idx)
			}
		}
	}
	kept := list[:0]
	for _, i := range list {
		if c := s.claims[i]; !c.removed && !g.excludes(c) {
			kept = append(kept, i)
		}
	}
	s.antiLists[g] = kept
	return kept
}

// addToAntiLists adds a new claim to every group's list.
func (s *solver) addToAntiLists(c *claim) {
	for g, list := range s.antiLists {
		s.antiLists[g] = append(list, c.idx)
	}
}

// antiListMinClaims is how many claims there must be before walking a group's list beats
// the slack trees, whose pruning by size matters more while claims are few.
const antiListMinClaims = 64

// eachOnAntiList visits, in opening order, the claims the pod's hostname anti-affinity
// allows whose slack under room holds need, until visit returns true. It reports false,
// without visiting, when the pod has no such group or the list would not pay.
func (s *solver) eachOnAntiList(p *pendingPod, room func(c *claim) vec, need packing.Slack, visit func(i int) bool) (found, used bool) {
	g := hostnameAntiGroup(p)
	if g == nil || len(s.claims) < s.antiListMinClaims {
		return false, false
	}
	for _, i := range s.antiList(g) {
		c := s.claims[i]
		if packing.SlackOf(room(c), c.requests).Holds(need) && visit(i) {
			return true, true
		}
	}
	return false, true
}
