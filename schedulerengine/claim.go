package schedulerengine

import (
	"slices"

	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// claim is a node this Solve plans to launch. It keeps the instance types still able to hold
// all of its pods and satisfy all of their requirements, cheapest first; adding a pod only
// ever narrows that set, and a pod that would empty it is refused.
type claim struct {
	idx   int // position in opening order
	world *world
	pool  *poolState
	topo  *topology
	reqs  scheduling.Requirements
	// merged are the pod terms already folded into reqs and types; a pod with one of them
	// skips the label checks.
	merged   []*podTerm
	types    []int // indices into world.types, cheapest allowed offering first
	requests vec
	// ceiling is the largest allocatable per resource over types: a quick test that turns
	// away pods from a full claim without scanning its types.
	ceiling vec
	// sizeLimit is how far the claim may grow before new pods prefer a new claim: the
	// allocatable of the type that carries its pod class's demand most cheaply (see
	// claim_sizelimit.go).
	sizeLimit vec
	// charged is the capacity charged to the pool's and the cluster's limits (the most any
	// of its types has) and chargedPrice the price (its dearest allowed offering's); charged
	// is nil until the claim holds a pod or when no limit applies to its pool.
	charged      vec
	chargedPrice int64
	pods         []string
	members      []*pendingPod // the pods of pods, for the improvement pass
	ports        []hostPort
	// domains caches, per topology key, the domain the claim is pinned to, or domainUndecided.
	domains []int32
	// removed marks a claim the improvement pass replaced.
	removed bool
}

// claimFit is what adding one pod would make of a claim, computed by CanAdd without side
// effects and applied by Add.
type claimFit struct {
	term         *podTerm
	reqs         scheduling.Requirements
	types        []int
	narrowed     bool // types differ from the claim's
	requests     vec
	charged      vec
	chargedPrice int64
}

func newClaim(w *world, pool *poolState, topo *topology) *claim {
	c := &claim{world: w, pool: pool, topo: topo, reqs: pool.reqs, types: pool.types, requests: make(vec, len(w.dims.names))}
	c.ceiling = c.ceilingOf(c.types)
	return c
}

// fresh copies a seeded claim for a new node with its own hostname; slices are shared
// because claims replace rather than modify them.
func (c *claim) fresh(hostname int32) *claim {
	cp := *c
	cp.merged = slices.Clip(c.merged)
	cp.pods, cp.members, cp.ports = nil, nil, nil
	cp.domains = make([]int32, len(c.topo.keys))
	for i := range cp.domains {
		cp.domains[i] = domainUndecided
	}
	cp.domains[hostnameKey] = hostname
	return &cp
}

// CanAdd checks, without changing the claim, whether pod p can join it through term t, and
// returns what the claim would become.
func (c *claim) CanAdd(p *pendingPod, t *podTerm) (claimFit, *rejection) {
	return c.check(p, t, c.world.steps)
}

func (c *claim) check(p *pendingPod, t *podTerm, steps []claimStep) (claimFit, *rejection) {
	f := claimFit{term: t, reqs: c.reqs, types: c.types, requests: c.requests, charged: c.charged, chargedPrice: c.chargedPrice}
	for _, step := range steps {
		if rej := step.check(c, p, &f); rej != nil {
			rej.kind = step.kind
			return claimFit{}, rej
		}
	}
	return f, nil
}

// Add commits a fit CanAdd returned for the same pod.
func (c *claim) Add(p *pendingPod, f claimFit) {
	c.absorb(f)
	if c.pool.limited && f.charged != nil {
		for _, b := range c.pool.budgets {
			if c.charged != nil {
				b.remove(charge{capacity: c.charged, price: c.chargedPrice})
			}
			b.add(charge{capacity: f.charged, price: f.chargedPrice})
		}
		c.charged, c.chargedPrice = f.charged, f.chargedPrice
	}
	c.requests = f.requests
	c.pods = append(c.pods, p.key)
	c.members = append(c.members, p)
	c.ports = append(c.ports, p.ports...)
}

// absorb takes a fit's requirements and instance types (but no pod), which is also how a
// seed claim for a pod class is made.
func (c *claim) absorb(f claimFit) {
	if !c.hasMerged(f.term) {
		c.merged = append(slices.Clip(c.merged), f.term)
	}
	c.reqs = f.reqs
	if f.narrowed {
		c.types = f.types
		c.ceiling = c.ceilingOf(c.types)
	}
}

func (c *claim) hasMerged(t *podTerm) bool { return slices.Contains(c.merged, t) }

func (c *claim) ceilingOf(types []int) vec {
	ceiling := make(vec, len(c.world.dims.names))
	for _, i := range types {
		ceiling.raiseTo(c.pool.alloc[i])
	}
	return ceiling
}

// domainIn returns the claim's domain for a topology key under reqs (the claim's or a fit's)
// and whether it is decided: the hostname always is, a key reqs pin to one value is, and a
// key neither the instance type nor the NodePool sets is decided absent.
func (c *claim) domainIn(reqs scheduling.Requirements, keyIdx int) (int32, bool) {
	if d := c.domains[keyIdx]; d != domainUndecided {
		return d, true
	}
	table := c.topo.keys[keyIdx]
	r, ok := reqs.Get(table.key)
	if !ok {
		if c.world.decidedByInstanceType(table.key) {
			return domainUndecided, false
		}
		return domainAbsent, true
	}
	if v, single := r.SingleValue(); single {
		return table.intern(v), true
	}
	if !r.IsComplement() || c.world.decidedByInstanceType(table.key) {
		return domainUndecided, false
	}
	return domainAbsent, true // a NodePool-level Exists or NotIn: no value the engine can name
}

// settleDomains records the domains the claim's requirements now decide, so later checks
// and counts read them from domains.
func (c *claim) settleDomains() {
	for k := range c.domains {
		if c.domains[k] != domainUndecided {
			continue
		}
		if d, decided := c.domainIn(c.reqs, k); decided {
			c.domains[k] = d
		}
	}
}
