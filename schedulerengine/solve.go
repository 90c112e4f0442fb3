package schedulerengine

import "fmt"

// Solve plans capacity for in.Pods. It is a pure function of its input: no clients, clocks,
// logging or shared state, and the same Input always gives the same Plan.
//
// Pods are placed first-fit-decreasing (largest CPU, then memory, first) onto, in order:
// existing nodes (by name), claims already opened in this Solve (in opening order), and a new
// claim from the first NodePool (highest weight, then name) that can take the pod. Each claim
// ends up on the cheapest instance type able to hold all its pods.
//
// Not modelled yet: pod affinity and anti-affinity, topology spread constraints, preferred
// node affinity, daemonset overhead, host ports, volume topology and minValues. Pods using
// them are still placed, as if those fields were absent.
func Solve(in Input) (Plan, error) {
	s, err := newSolver(in)
	if err != nil {
		return Plan{}, fmt.Errorf("solve: %w", err)
	}
	s.run()
	return s.plan(), nil
}

// solver is one Solve's working state. Everything it reads from is in world and the sorted
// copies it makes; nothing outlives the call.
type solver struct {
	world    *world
	pools    []*poolState
	existing []*runningNode
	claims   []*claim
	queue    []*pendingPod
	seeds    map[seedKey]seed

	onNodes       map[string]string
	unschedulable map[string]string
}

// pendingPod is a pod with what placement needs precomputed.
type pendingPod struct {
	key      string
	requests vec
	class    *podClass
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

// run places the queue, then retries what did not fit for as long as a pass places
// something. In this cut no placement can make room for another pod, so the second pass
// always ends the loop; the loop is here for the inter-pod constraints that will need it.
func (s *solver) run() {
	queue := s.queue
	for len(queue) > 0 {
		var retry []*pendingPod
		for _, p := range queue {
			if !s.place(p) {
				retry = append(retry, p)
			}
		}
		if len(retry) == len(queue) {
			return
		}
		queue = retry
	}
}

// place is the ladder: an existing node, then a claim already opened, then a new claim.
func (s *solver) place(p *pendingPod) bool {
	if p.class.err != nil {
		s.unschedulable[p.key] = fmt.Sprintf("node affinity cannot be evaluated: %v", p.class.err)
		return false
	}
	if s.onExisting(p) || s.onOpenClaim(p) || s.onNewClaim(p) {
		delete(s.unschedulable, p.key)
		return true
	}
	return false
}

func (s *solver) onExisting(p *pendingPod) bool {
	for _, n := range s.existing {
		if fit, rej := n.CanAdd(p); rej == nil {
			n.Add(fit)
			s.onNodes[p.key] = n.name
			return true
		}
	}
	return false
}

func (s *solver) onOpenClaim(p *pendingPod) bool {
	for _, c := range s.claims {
		for _, t := range p.class.terms {
			if fit, rej := c.CanAdd(p, t); rej == nil {
				c.Add(p, fit)
				return true
			}
		}
	}
	return false
}

// onNewClaim opens a claim in the first pool that can take the pod, or records why none can.
func (s *solver) onNewClaim(p *pendingPod) bool {
	rejections := make([]*rejection, 0, len(s.pools))
	for _, pool := range s.pools {
		c, fit, rej := s.newClaimFor(pool, p)
		if rej == nil {
			c.Add(p, fit)
			s.claims = append(s.claims, c)
			return true
		}
		rejections = append(rejections, rej)
	}
	s.unschedulable[p.key] = summarize(rejections)
	return false
}

// newClaimFor tries each of the pod's terms on a fresh claim of pool and returns the first
// that fits, or the rejection that got furthest.
func (s *solver) newClaimFor(pool *poolState, p *pendingPod) (*claim, claimFit, *rejection) {
	var worst *rejection
	for _, t := range p.class.terms {
		sd := s.seedFor(pool, p, t)
		if sd.rejection != nil {
			worst = furthest(worst, sd.rejection)
			continue
		}
		c := sd.claim.fresh()
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
	c := newClaim(s.world, pool)
	fit, rej := c.check(p, t, staticSteps(s.world.steps))
	sd := seed{rejection: rej}
	if rej == nil {
		c.absorb(fit)
		sd.claim = c
	}
	s.seeds[key] = sd
	return sd
}
