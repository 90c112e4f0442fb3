package schedulerengine

import (
	"fmt"
	"strings"

	"github.com/nodewright/nodewright/schedulerengine/packing"
)

// Solve plans capacity for in.Pods. It is a pure function of its input: no clients, clocks,
// logging or shared state, and the same Input always gives the same Plan.
//
// Pods are placed largest first (by their larger share of the pods' total cpu or memory)
// onto, in order: existing nodes (ready ones, then in-flight ones, each by name); a claim
// already opened in this Solve that holds the pod without a dearer instance type; one that
// can grow to hold it within its size limit (see claim_sizelimit.go); a new claim from the
// first NodePool (highest weight, then name) that can take it; and, last, any open claim
// grown beyond its limit. Pod topology (spread, affinity, anti-affinity), host ports, daemonset
// overhead and minValues are honoured; preferences are treated as requirements and relaxed
// one at a time when a pod cannot be placed. Claims holding only pods nothing else depends on
// are then repacked, and pods whose move changes no topology count are rebalanced across
// claims, each pass kept only when it is cheaper (see improve_repack.go and
// improve_rebalance.go). Each claim ends up on the cheapest instance type able to hold all
// its pods. The package documentation has the steps in order and the words they use.
//
// Not modelled: dynamic resource allocation and CSI volume attach limits.
func Solve(in Input) (Plan, error) { return solve(in, solveOptions{}) }

// solveOptions let tests take Solve apart; the zero value is Solve.
type solveOptions struct {
	skipImprovement   bool // stop after first-fit-decreasing
	antiListMinClaims int  // when above 0, overrides antiListMinClaims
}

func solve(in Input, o solveOptions) (Plan, error) {
	in.Pods = withVolumeTopology(in.Pods, in.Volumes)
	s, err := newSolver(in)
	if err != nil {
		return Plan{}, fmt.Errorf("solve: %w", err)
	}
	if o.antiListMinClaims > 0 {
		s.antiListMinClaims = o.antiListMinClaims
	}
	s.run()
	if !o.skipImprovement {
		s.improve()
	}
	return s.plan(), nil
}

// solver is one Solve's working state. Everything it reads from is in world and the sorted
// copies it makes; nothing outlives the call.
type solver struct {
	// Every pass reads these; setup builds them.
	world *world    // the catalog as vecs, and the claim steps
	topo  *topology // topology groups and their counts per domain
	pools []*poolState
	// existing are the nodes that exist or are on their way, ready ones first.
	existing []*runningNode
	// pods are the pods to place, largest first.
	pods []*pendingPod

	// The claims, and what finds them (placement reads, the improvement passes update).
	claims []*claim // in opening order; claim.idx is the position
	slack  claimSlack
	// antiLists lists, per hostname anti-affinity group, the claims it does not exclude
	// (see claim_antilists.go); antiListMinClaims is how many claims make the lists pay.
	antiLists         map[*topoGroup][]int
	antiListMinClaims int
	// nextHostname is the hostname domain the next claim will get.
	nextHostname int32

	// Caches shared by the passes.
	seeds       map[seedKey]seed
	priceTables map[string][]float64 // prices per offering filter (see prices.go)

	// Setup and placement (and the repack's fallback to placement) only.
	// classCache and topoCache share pod classes and pod topologies between pods alike
	// (see podClass), as pods are levelled and relaxed.
	classCache map[string]*podClass
	topoCache  map[string]cachedTopo
	// demand is the summed requests of the pods of each class still to place, which sizes
	// new claims (see claim_sizelimit.go).
	demand map[*podClass]vec

	decided podDecisions
}

// podDecisions is what Solve has decided for each pod so far, as the Plan reports it: the
// existing node it goes to, or why it goes nowhere, and the order pods were placed in.
type podDecisions struct {
	onExistingNodes map[string]string
	unschedulable   map[string]string
	order           []string
}

// seedKey names a fresh claim of a pool narrowed for one pod term.
type seedKey struct {
	pool *poolState
	term *podTerm
}

type seed struct {
	claim     *claim
	rejection *rejection
}

// run places the pods in order, then retries what did not fit, round after round, for as
// long as a round places something: a pod whose affinity needs another pod placed first
// fits in a later round.
func (s *solver) run() {
	toPlace := s.pods
	for len(toPlace) > 0 {
		var retry []*pendingPod
		for _, p := range toPlace {
			if !s.place(p) {
				retry = append(retry, p)
			}
		}
		if len(retry) == len(toPlace) {
			return
		}
		toPlace = retry
	}
}

// place tries the pod with all its preferences, relaxing them one at a time until it fits or
// none is left.
func (s *solver) place(p *pendingPod) bool {
	var relaxed []string
	for {
		if s.placeWithoutRelaxing(p) {
			delete(s.decided.unschedulable, p.key)
			s.decided.order = append(s.decided.order, p.key)
			s.consumeDemand(p)
			return true
		}
		if !p.canRelax() {
			if len(relaxed) > 0 {
				s.decided.unschedulable[p.key] += " (after relaxing " + strings.Join(relaxed, ", ") + ")"
			}
			return false
		}
		relaxed = append(relaxed, s.relax(p).describe())
	}
}

// placeWithoutRelaxing tries the pod at its level in force, in the placement order: an
// existing node, then an open claim that holds it without a dearer type or within its size
// limit, then a new claim, and last an open claim grown beyond its size limit. It records
// why when the pod fits nowhere.
func (s *solver) placeWithoutRelaxing(p *pendingPod) bool {
	lv := p.level()
	if lv.class.err != nil {
		s.decided.unschedulable[p.key] = fmt.Sprintf("node affinity cannot be evaluated: %v", lv.class.err)
		return false
	}
	if lv.err != nil {
		s.decided.unschedulable[p.key] = fmt.Sprintf("pod topology cannot be evaluated: %v", lv.err)
		return false
	}
	return s.onExisting(p) || s.onOpenClaim(p) || s.onNewClaim(p) || s.onClaimBeyondLimit(p)
}

func (s *solver) onExisting(p *pendingPod) bool {
	for _, n := range s.existing {
		if fit, rej := n.CanAdd(p); rej == nil {
			n.Add(p, fit)
			s.decided.onExistingNodes[p.key] = n.name
			s.recordOnNode(n, p.level().topo.matches, p.level().topo.requiredAntis)
			return true
		}
	}
	return false
}

// onOpenClaim puts the pod on an open claim: first one that holds it without a dearer type
// (adding it costs nothing), else the first that can grow to hold it within its size limit.
func (s *solver) onOpenClaim(p *pendingPod) bool {
	need := packing.NeedOf(p.requests)
	addIfNoDearer := func(i int) bool {
		c := s.claims[i]
		fit, ok := s.tryClaim(c, p)
		if ok && fit.types[0] == c.types[0] {
			s.addToClaim(c, p, fit)
			return true
		}
		return false
	}
	addIfWithinLimit := func(i int) bool {
		c := s.claims[i]
		if !c.requests.sumFitsIn(p.requests, c.sizeLimit) {
			return false // a resource beyond cpu, memory and pods
		}
		fit, ok := s.tryClaim(c, p)
		if ok {
			s.addToClaim(c, p, fit)
		}
		return ok
	}
	if found, used := s.eachOnAntiList(p, roomAtCheapest, need, addIfNoDearer); used {
		if found {
			return true
		}
		found, _ = s.eachOnAntiList(p, roomToSizeLimit, need, addIfWithinLimit)
		return found
	}
	return s.slack.atCheapest.Each(need, addIfNoDearer) || s.slack.toSizeLimit.Each(need, addIfWithinLimit)
}

// onClaimBeyondLimit is the last resort: the first open claim that can hold the pod at all,
// grown past its size limit (a pod whose affinity ties it to a full claim, or a NodePool out
// of room for another node).
func (s *solver) onClaimBeyondLimit(p *pendingPod) bool {
	visit := func(i int) bool {
		c := s.claims[i]
		fit, ok := s.tryClaim(c, p)
		if ok {
			s.addToClaim(c, p, fit)
		}
		return ok
	}
	if found, used := s.eachOnAntiList(p, roomAtCeiling, packing.NeedOf(p.requests), visit); used {
		return found
	}
	return s.slack.toCeiling.Each(packing.NeedOf(p.requests), visit)
}

// tryClaim checks the pod's node-affinity terms in turn against the claim, after the cheap
// test of the domains the claim has decided.
func (s *solver) tryClaim(c *claim, p *pendingPod) (claimFit, bool) {
	lv := p.level()
	if !lv.topo.empty() && lv.topo.blocksDecided(c.domains) {
		return claimFit{}, false
	}
	for _, t := range lv.class.terms {
		if fit, rej := c.CanAdd(p, t); rej == nil {
			return fit, true
		}
	}
	return claimFit{}, false
}

func (s *solver) addToClaim(c *claim, p *pendingPod, fit claimFit) {
	c.Add(p, fit)
	c.settleDomains()
	s.recordOnClaim(c, p.level().topo)
	s.slack.set(c)
}

// onNewClaim opens a claim in the first pool that can take the pod, or records why none can.
func (s *solver) onNewClaim(p *pendingPod) bool {
	rejections := make([]*rejection, 0, len(s.pools))
	for _, pool := range s.pools {
		c, fit, rej := s.newClaimFor(pool, p)
		if rej == nil {
			s.open(c, p, fit)
			return true
		}
		rejections = append(rejections, rej)
	}
	s.decided.unschedulable[p.key] = summarize(rejections)
	return false
}

// open adds a new claim holding its first pod, with its own hostname and a size limit.
func (s *solver) open(c *claim, p *pendingPod, fit claimFit) {
	c.idx = len(s.claims)
	s.claims = append(s.claims, c)
	s.nextHostname = s.topo.keys[hostnameKey].intern(claimHostname(len(s.claims)))
	c.sizeLimit = s.sizeLimitFor(c, fit, p)
	s.addToClaim(c, p, fit)
	s.addToAntiLists(c)
}

// newClaimFor tries each of the pod's terms on a fresh claim of pool and returns the first
// that fits, or the rejection that got furthest.
func (s *solver) newClaimFor(pool *poolState, p *pendingPod) (*claim, claimFit, *rejection) {
	var worst *rejection
	for _, t := range p.level().class.terms {
		sd := s.seedFor(pool, p, t)
		if sd.rejection != nil {
			worst = furthest(worst, sd.rejection)
			continue
		}
		c := sd.claim.fresh(s.nextHostname)
		fit, rej := c.CanAdd(p, t)
		if rej == nil {
			return c, fit, nil
		}
		worst = furthest(worst, rej)
	}
	return nil, claimFit{}, worst
}

// seedFor runs the static steps for (pool, term) once and caches the narrowed empty claim.
func (s *solver) seedFor(pool *poolState, p *pendingPod, t *podTerm) seed {
	key := seedKey{pool: pool, term: t}
	if sd, ok := s.seeds[key]; ok {
		return sd
	}
	c := newClaim(s.world, pool, s.topo)
	fit, rej := c.check(p, t, staticSteps(s.world.steps))
	sd := seed{rejection: rej}
	if rej == nil {
		c.absorb(fit)
		sd.claim = c
	}
	s.seeds[key] = sd
	return sd
}

// recordOnNode counts a pod placed on a running node in the groups matching it, and as an
// owner of its required anti-affinity.
func (s *solver) recordOnNode(n *runningNode, matches, requiredAntis []*topoGroup) {
	for _, g := range matches {
		d := n.domains[g.keyIdx]
		if d < 0 || g.selective() && !n.eligibleFor(g) {
			continue
		}
		g.record(d, true)
	}
	for _, g := range requiredAntis {
		if d := n.domains[g.keyIdx]; d >= 0 {
			g.owners = incrementAt(g.owners, d)
		}
	}
}

// recordOnClaim does the same for a claim, whose eligibility for a spread group may still be
// in doubt.
func (s *solver) recordOnClaim(c *claim, pt *podTopo) {
	if pt == nil {
		return
	}
	for _, g := range pt.matches {
		d := c.domains[g.keyIdx]
		if d < 0 {
			continue
		}
		surely := true
		if g.selective() {
			e := s.world.claimEligibility(c.reqs, c.types, c.pool.taints, g)
			if e == eligibleNo {
				continue
			}
			surely = e == eligibleYes
		}
		g.record(d, surely)
	}
	for _, g := range pt.requiredAntis {
		if d := c.domains[g.keyIdx]; d >= 0 {
			g.owners = incrementAt(g.owners, d)
		}
	}
}
