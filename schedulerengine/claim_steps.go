package schedulerengine

import (
	"fmt"
	"slices"
	"strings"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// claimStep is one filter in the chain deciding whether a pod can join a claim. A step may
// narrow the fit (its requirements, its instance types) for the steps after it.
type claimStep struct {
	// kind is the reason a rejection by this step carries.
	kind reasonKind
	// static steps depend only on the pod's class and the claim's labels, never on sizes,
	// so their outcome for a fresh claim is cached per pool and pod term.
	static bool
	check  func(c *claim, p *pendingPod, f *claimFit) *rejection
}

// claimSteps wires the chain. The order is cheapest and most decisive first.
func claimSteps() []claimStep {
	return []claimStep{
		// Taints: cached per class and pool, and an untolerated taint rules the pool out
		// whatever else holds.
		{kind: reasonTaints, static: true, check: checkTaints},
		// Label requirements: a conflict between the pod and the pool (or the claim's
		// earlier pods) is decided without looking at instance types.
		{kind: reasonRequirements, static: true, check: checkRequirements},
		// Instance types whose labels and offerings meet the combined requirements.
		{kind: reasonInstanceTypes, static: true, check: checkInstanceTypes},
		// A pool whose matching types already miss minValues is ruled out once per seed.
		{kind: reasonMinValues, static: true, check: checkMinValues},
		// Host ports and pod topology (spread, affinity, anti-affinity), which may pin the
		// claim to a zone or other domain and so narrow its types further.
		{kind: reasonTopology, check: checkPortsAndTopology},
		// Of those, the ones with room for the claim's pods plus this one.
		{kind: reasonResources, check: checkResources},
		// The pool's limits, because they need the cheapest type that fits.
		{kind: reasonLimits, check: checkLimits},
		// minValues last: every narrowing above may have cost the claim a value.
		{kind: reasonMinValues, check: checkMinValues},
	}
}

func staticSteps(steps []claimStep) []claimStep {
	n := slices.IndexFunc(steps, func(s claimStep) bool { return !s.static })
	if n < 0 {
		return steps
	}
	return steps[:n]
}

func checkTaints(c *claim, p *pendingPod, _ *claimFit) *rejection {
	taint := p.level().class.untoleratedPoolTaint(c.pool)
	if taint == nil {
		return nil
	}
	pool := c.pool.name
	return &rejection{pool: pool, explain: func() string {
		return fmt.Sprintf("NodePool %q has taint %s, not tolerated", pool, describeTaint(taint))
	}}
}

func checkRequirements(c *claim, _ *pendingPod, f *claimFit) *rejection {
	if c.hasMerged(f.term) {
		return nil
	}
	pool, term := c.pool.name, f.term
	if len(term.fields) > 0 {
		return &rejection{pool: pool, explain: func() string {
			return fmt.Sprintf("NodePool %q cannot satisfy node affinity matchFields %s: only existing nodes have names", pool, term.fields)
		}}
	}
	if err := c.reqs.Compatible(term.reqs, c.world.decidedByInstanceType); err != nil {
		return &rejection{pool: pool, explain: func() string {
			return explainIncompatible(pool, term, err)
		}}
	}
	f.reqs = c.reqs.Intersect(term.reqs)
	return nil
}

func explainIncompatible(pool string, term *podTerm, err error) string {
	inc, ok := err.(*scheduling.IncompatibleError)
	if !ok {
		return fmt.Sprintf("NodePool %q: %v", pool, err)
	}
	if inc.Have == nil {
		return fmt.Sprintf("NodePool %q does not set label %s that %s needs", pool, inc.Key, term.origin(inc.Key))
	}
	return fmt.Sprintf("NodePool %q requires %s, which conflicts with %s", pool, *inc.Have, term.origin(inc.Key))
}

func checkInstanceTypes(c *claim, _ *pendingPod, f *claimFit) *rejection {
	if c.hasMerged(f.term) {
		return nil
	}
	types := c.world.typesAllowing(c.types, f.reqs)
	if len(types) > 0 {
		if offeringsChanged(c.reqs, f.reqs) {
			types = c.world.byPrice(types, newOfferingFilter(f.reqs))
		}
		f.types, f.narrowed = types, f.narrowed || len(types) != len(c.types) || !slices.Equal(types, c.types)
		return nil
	}
	w, pool, base, term, candidates := c.world, c.pool.name, c.reqs, f.term, c.types
	culprit := func() string { return culpritKey(w, base, term, candidates) }
	return &rejection{pool: pool, culprit: culprit, explain: func() string {
		if len(candidates) == 0 {
			return fmt.Sprintf("NodePool %q: its requirements match no instance type", pool)
		}
		if who := culprit(); who != "" {
			return fmt.Sprintf("NodePool %q: %s matches no instance type", pool, who)
		}
		return fmt.Sprintf("NodePool %q: no instance type meets the pod's node requirements together (%s)", pool, term.reqs)
	}}
}

// offeringsChanged reports whether the zone or capacity-type requirement differs, which
// changes the price each type is sold at.
func offeringsChanged(before, after scheduling.Requirements) bool {
	for _, key := range []string{v1.LabelZone, v1.LabelCapacityType} {
		a, aok := before.Get(key)
		b, bok := after.Get(key)
		if aok != bok || (aok && a.String() != b.String()) {
			return true
		}
	}
	return false
}

// culpritKey finds the first (by key) of the term's requirements that on its own leaves no
// candidate type, and returns how the pod asked for it; "" when only the combination fails.
func culpritKey(w *world, base scheduling.Requirements, term *podTerm, candidates []int) string {
	if len(candidates) == 0 {
		return ""
	}
	for _, r := range term.reqs {
		if !w.decidedByInstanceType(r.Key) {
			continue
		}
		if len(w.typesAllowing(candidates, base.With(r))) == 0 {
			return term.origin(r.Key)
		}
	}
	return ""
}

func checkResources(c *claim, p *pendingPod, f *claimFit) *rejection {
	if !f.narrowed && !c.requests.sumFitsIn(p.requests, c.ceiling) {
		return resourceRejection(c, c.requests.plus(p.requests), f.types)
	}
	need := c.requests.plus(p.requests)
	kept := typesWithRoom(c.pool, f.types, need)
	if len(kept) == 0 {
		return resourceRejection(c, need, f.types)
	}
	f.narrowed = f.narrowed || len(kept) != len(f.types)
	f.types, f.requests = kept, need
	return nil
}

// typesWithRoom filters types to those whose allocatable in the pool holds need. It reuses
// the input slice when the types kept are a run of it (every type, while a claim is small;
// the larger ones, when types are cheapest first and prices follow size), and copies only
// otherwise.
func typesWithRoom(pool *poolState, types []int, need vec) []int {
	start, end := -1, -1 // the fitting types so far, while they are the run types[start:end]
	var out []int        // the fitting types, once they are not
	for j, i := range types {
		if !need.fitsIn(pool.alloc[i]) {
			continue
		}
		switch {
		case out != nil:
			out = append(out, i)
		case start < 0:
			start, end = j, j+1
		case end == j:
			end++
		default: // room for every type left, so the list never grows
			out = append(append(make([]int, 0, end-start+len(types)-j), types[start:end]...), i)
		}
	}
	switch {
	case out != nil:
		return out
	case start < 0:
		return nil
	}
	return slices.Clip(types[start:end])
}

func resourceRejection(c *claim, need vec, candidates []int) *rejection {
	w, pool := c.world, c.pool
	return &rejection{pool: pool.name, explain: func() string {
		return explainResources(w, pool, need, candidates)
	}}
}

// explainResources names the first resource no candidate type has enough of.
func explainResources(w *world, p *poolState, need vec, candidates []int) string {
	pool := p.name
	largest := make(vec, len(need))
	for _, i := range candidates {
		largest.raiseTo(p.alloc[i])
	}
	after := ""
	if p.daemonOverhead {
		after = " after daemonset overhead"
	}
	for d, amount := range need {
		if amount > largest[d] {
			name := w.dims.names[d]
			return fmt.Sprintf("no instance type in NodePool %q has %s >= %s (largest allows %s%s)",
				pool, name, humanAmount(name, amount), humanAmount(name, max(largest[d], 0)), after)
		}
	}
	var parts []string
	for d, amount := range need {
		if amount > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", w.dims.names[d], humanAmount(w.dims.names[d], amount)))
		}
	}
	return fmt.Sprintf("no instance type in NodePool %q has room for %s together", pool, strings.Join(parts, ", "))
}

// checkLimits keeps the claim within every budget of its pool: spec.limits and the pool's
// max-hourly-cost, and the cluster's limits. Only types whose capacity and price stay within
// what is left are kept, and the claim is charged the most any of them has in each resource
// (Karpenter subtracts the same maximum) and its dearest allowed offering's price, so
// whichever option EC2 Fleet launches, for this claim and every other of the plan, no
// budget is passed.
func checkLimits(c *claim, _ *pendingPod, f *claimFit) *rejection {
	pool := c.pool
	if !pool.limited || len(f.types) == 0 { // the resource step refuses claims with no type
		return nil
	}
	if pool.blocked != "" {
		blocked := pool.blocked
		return &rejection{pool: pool.name, explain: func() string { return blocked }}
	}
	var offerings offeringFilter
	if pool.priced {
		offerings = newOfferingFilter(f.reqs)
	}
	chargeOf := func(i int) charge {
		ch := charge{capacity: c.world.types[i].capacity}
		if pool.priced {
			ch.price = microDollars(c.world.types[i].dearest(offerings))
		}
		return ch
	}
	var was *charge
	if c.charged != nil {
		was = &charge{capacity: c.charged, price: c.chargedPrice}
	}
	first := chargeOf(f.types[0]) // types are cheapest first
	if hit, over := overBudget(pool.budgets, was, first); over {
		d := c.world.dims
		return &rejection{pool: pool.name, explain: func() string { return hit.explain(d) }}
	}
	charged := charge{capacity: slices.Clone(first.capacity), price: first.price}
	kept := slices.DeleteFunc(slices.Clone(f.types), func(i int) bool {
		ch := chargeOf(i)
		if _, over := overBudget(pool.budgets, was, ch); over {
			return true
		}
		charged.capacity.raiseTo(ch.capacity)
		charged.price = max(charged.price, ch.price)
		return false
	})
	f.narrowed = f.narrowed || len(kept) != len(f.types)
	f.types, f.charged, f.chargedPrice = kept, charged.capacity, charged.price
	return nil
}

// overBudget returns the first cap of the budgets that charging ch in place of was passes.
func overBudget(budgets []*budget, was *charge, ch charge) (limitHit, bool) {
	for _, b := range budgets {
		if hit, over := b.exceeded(was, ch); over {
			return hit, true
		}
	}
	return limitHit{}, false
}
