package schedulerengine

import "github.com/nodewright/nodewright/schedulerengine/packing"

// claimSlack indexes the claims' slack three ways, one tree per step of the placement
// order that looks among open claims (placeWithoutRelaxing): the room under a claim's
// cheapest type, under its size limit, and under its ceiling (the most any of its types
// holds). Placement reads the trees; the improvement passes keep them up to date as they
// move pods, so that a pod they cannot land can still be placed the usual way.
type claimSlack struct {
	atCheapest, toSizeLimit, toCeiling packing.SlackTree
}

// set records claim c's slack, or none for a removed claim.
func (cs *claimSlack) set(c *claim) {
	if c.removed {
		cs.atCheapest.Set(c.idx, packing.NoSlack())
		cs.toSizeLimit.Set(c.idx, packing.NoSlack())
		cs.toCeiling.Set(c.idx, packing.NoSlack())
		return
	}
	cs.atCheapest.Set(c.idx, packing.SlackOf(roomAtCheapest(c), c.requests))
	cs.toSizeLimit.Set(c.idx, packing.SlackOf(roomToSizeLimit(c), c.requests))
	cs.toCeiling.Set(c.idx, packing.SlackOf(roomAtCeiling(c), c.requests))
}

// The room a claim offers at each step of the placement order that looks among open claims:
// under its cheapest type, under its size limit, under its ceiling.
func roomAtCheapest(c *claim) vec  { return c.pool.alloc[c.types[0]] }
func roomToSizeLimit(c *claim) vec { return c.sizeLimit }
func roomAtCeiling(c *claim) vec   { return c.ceiling }
