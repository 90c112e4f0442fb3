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
		out = append(out, daemon{class: class, requests: d.vec(PodRequests(p))})
	}
	return out, nil
}

// daemonOverhead returns, per instance type (indexed as world.types), the summed requests of
// the daemon pods that would run on a node of this pool and type: those tolerating the pool's
// taints whose node selector and required affinity some offering of the type could satisfy.
// "Could" errs towards counting a daemon (one selecting a zone counts on a type sold there
// even if the claim ends up elsewhere), so a node never runs short. Nil when none lands.
func daemonOverhead(w *world, pool *poolState, daemons []daemon) []vec {
	var overhead []vec
	for _, d := range daemons {
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
		if !slices.Contains(lands, true) {
			continue
		}
		if overhead == nil {
			overhead = make([]vec, len(w.types))
		}
		for i, ok := range lands {
			if !ok {
				continue
			}
			if overhead[i] == nil {
				overhead[i] = make(vec, len(w.dims.names))
			}
			overhead[i] = overhead[i].plus(d.requests)
		}
	}
	return overhead
}

// applyDaemonOverhead sets the pool's per-type allocatable to the type's less the daemons
// that would run there.
func (p *poolState) applyDaemonOverhead(w *world, daemons []daemon) {
	p.alloc = make([]vec, len(w.types))
	for i := range w.types {
		p.alloc[i] = w.types[i].alloc
	}
	overhead := daemonOverhead(w, p, daemons)
	for i, o := range overhead {
		if o != nil {
			p.alloc[i] = w.types[i].alloc.minus(o)
			p.daemonOverhead = true
		}
	}
}
