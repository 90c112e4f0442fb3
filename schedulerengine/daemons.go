package schedulerengine

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// daemon is a daemonset's pod template as the overhead calculation needs it.
type daemon struct {
	class    *podClass
	requests vec
	ports    []hostPort
}

func newDaemons(d dims, pods []*corev1.Pod) ([]daemon, error) {
	out := make([]daemon, 0, len(pods))
	for i, p := range pods {
		if p == nil {
			return nil, fmt.Errorf("daemonset pod %d of the input is nil", i)
		}
		class := newPodClass(p, nil)
		if class.err != nil {
			continue // a template whose node affinity cannot be evaluated lands on no node
		}
		out = append(out, daemon{class: class, requests: d.vec(PodRequests(p)), ports: podHostPorts(p)})
	}
	return out, nil
}

// daemonLandings returns, per daemon, on which instance types (indexed as world.types) of
// the pool it would run: it tolerates the pool's taints and some offering of the type could
// satisfy its node selector and required affinity. "Could" errs towards landing (one
// selecting a zone lands on a type sold there even if the claim ends up elsewhere), so a
// node never runs short. Nil for a daemon that lands nowhere.
func daemonLandings(w *world, pool *poolState, daemons []daemon) [][]bool {
	out := make([][]bool, len(daemons))
	for di, d := range daemons {
		if untoleratedTaint(pool.taints, d.class.tolerations) != nil {
			continue
		}
		lands := make([]bool, len(w.types))
		for _, t := range d.class.terms {
			// The daemonset controller pins each pod to its node with matchFields; a
			// template's own matchFields are left to it, so only labels are checked here.
			if !pool.reqs.IsCompatible(t.reqs, w.decidedByInstanceType) {
				continue
			}
			merged := pool.reqs.Intersect(t.reqs)
			offerings := newOfferingFilter(merged)
			for _, i := range pool.types {
				if !lands[i] && w.allows(&w.types[i], merged, offerings) {
					lands[i] = true
				}
			}
		}
		if slices.Contains(lands, true) {
			out[di] = lands
		}
	}
	return out
}

// applyDaemonOverhead takes from the pool's per-type allocatable the daemons that would run
// there, and records the host ports those daemons bind.
func (p *poolState) applyDaemonOverhead(w *world, daemons []daemon) {
	for di, lands := range daemonLandings(w, p, daemons) {
		d := daemons[di]
		for i, ok := range lands {
			if !ok {
				continue
			}
			p.alloc[i] = p.alloc[i].minus(d.requests)
			p.daemonOverhead = true
			if len(d.ports) > 0 {
				if p.daemonPorts == nil {
					p.daemonPorts = make([][]hostPort, len(w.types))
				}
				p.daemonPorts[i] = append(p.daemonPorts[i], d.ports...)
			}
		}
	}
}

// typesFreeOfDaemonPorts keeps the types on which no daemon of the pool binds one of ports,
// and returns the first port a daemon takes when none is left.
func (p *poolState) typesFreeOfDaemonPorts(types []int, ports []hostPort) ([]int, hostPort, bool) {
	if p.daemonPorts == nil || len(ports) == 0 {
		return types, hostPort{}, true
	}
	var kept []int
	var taken hostPort
	for _, i := range types {
		if conflict, clash := portConflict(p.daemonPorts[i], ports); clash {
			taken = conflict
			continue
		}
		kept = append(kept, i)
	}
	if len(kept) == len(types) {
		return types, hostPort{}, true
	}
	return kept, taken, len(kept) > 0
}
