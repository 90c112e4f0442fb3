package schedulerengine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// allows reports whether the pod's constraints on one key accept domain d (domainAbsent for
// a node without the label), as the kube-scheduler's PodTopologySpread and InterPodAffinity
// filters would, with the engine's conservative counts. It allocates nothing: it runs for
// every candidate node.
func (kc *keyConstraints) allows(pt *podTopo, d int32) bool {
	_, blocked := kc.firstBlock(pt, d)
	return !blocked
}

// block is a constraint that rejects a domain.
type block struct {
	group  *topoGroup
	reason blockReason
}

type blockReason int

const (
	blockNoLabel blockReason = iota + 1
	blockSkew
	blockNoAffinePod
	blockAntiAffinePod
	blockRepelled
)

func (kc *keyConstraints) firstBlock(pt *podTopo, d int32) (block, bool) {
	for _, o := range kc.spreads {
		g := o.group
		if d < 0 {
			return block{g, blockNoLabel}, true
		}
		count := countAt(g.counts, d)
		if o.matchesSelf {
			count++
		}
		if count-g.minCount() > g.maxSkew {
			return block{g, blockSkew}, true
		}
	}
	for _, o := range kc.affinities {
		if d < 0 {
			return block{o.group, blockNoLabel}, true
		}
		if countAt(o.group.counts, d) == 0 && !pt.firstOfItsKind() {
			return block{o.group, blockNoAffinePod}, true
		}
	}
	if d < 0 {
		return block{}, false
	}
	for _, o := range kc.antis {
		if countAt(o.group.counts, d) > 0 {
			return block{o.group, blockAntiAffinePod}, true
		}
	}
	for _, g := range kc.repelledBy {
		if countAt(g.owners, d) > 0 {
			return block{g, blockRepelled}, true
		}
	}
	return block{}, false
}

// blocker describes the first constraint on the key that rejects d, or "" if none does.
func (kc *keyConstraints) blocker(pt *podTopo, d int32) string {
	b, blocked := kc.firstBlock(pt, d)
	if !blocked {
		return ""
	}
	switch b.reason {
	case blockNoLabel:
		return b.group.described + ": the node has no such label"
	case blockSkew:
		return b.group.described + " would be exceeded"
	case blockNoAffinePod:
		return b.group.described + ": no such pod there"
	case blockAntiAffinePod:
		return b.group.described + ": a matching pod is there"
	default:
		return "a pod there repels this one (" + b.group.described + ")"
	}
}

// blocksDecided reports whether any key the node has already decided rejects the pod: the
// cheap test run before the full check of a claim.
func (pt *podTopo) blocksDecided(domains []int32) bool {
	for i := range pt.keys {
		kc := &pt.keys[i]
		if d := domains[kc.keyIdx]; d != domainUndecided && !kc.allows(pt, d) {
			return true
		}
	}
	return false
}

// firstOfItsKind is the kube-scheduler's exception for self-affinity: when no pod anywhere
// matches the pod's affinity terms and the pod matches them itself, it may go to any node
// that has the topology labels.
func (pt *podTopo) firstOfItsKind() bool {
	if !pt.matchesEveryAffinity {
		return false
	}
	for _, o := range pt.affinities {
		if o.group.total > 0 {
			return false
		}
	}
	return true
}

// nodeBlocker checks a running node: every key the pod cares about must accept the node's
// domain.
func (pt *podTopo) nodeBlocker(domains []int32) string {
	for i := range pt.keys {
		kc := &pt.keys[i]
		if why := kc.blocker(pt, domains[kc.keyIdx]); why != "" {
			return why
		}
	}
	return ""
}

func checkPortsAndTopology(c *claim, p *pendingPod, f *claimFit) *rejection {
	lv := p.level()
	if conflict, ok := portConflict(c.ports, p.ports); ok {
		return &rejection{pool: c.pool.name, explain: func() string {
			return fmt.Sprintf("host port %s is taken on the node", conflict)
		}}
	}
	if kept, taken, ok := c.pool.typesFreeOfDaemonPorts(f.types, p.ports); !ok {
		pool := c.pool.name
		return &rejection{pool: pool, explain: func() string {
			return fmt.Sprintf("host port %s is taken by a daemonset on every instance type NodePool %q could launch", taken, pool)
		}}
	} else if len(kept) != len(f.types) {
		f.types, f.narrowed = kept, true
	}
	if lv.topo.empty() {
		return nil
	}
	w, topo := c.world, c.topo
	for i := range lv.topo.keys {
		kc := &lv.topo.keys[i]
		if d, decided := c.domainIn(f.reqs, kc.keyIdx); decided {
			if why := kc.blocker(lv.topo, d); why != "" {
				return topologyRejection(c, why)
			}
			continue
		}
		key := topo.keys[kc.keyIdx].key
		options := w.domainValues(key, f.reqs, f.types)
		best, ok := chooseDomain(c, lv.topo, kc, f, options)
		if !ok {
			return topologyRejection(c, explainNoDomain(topo, lv.topo, kc, key, options))
		}
		f.reqs = f.reqs.With(scheduling.In(key, best))
		// A pin may change which offerings are allowed, hence the price order.
		f.types = w.byPrice(w.typesAllowing(f.types, f.reqs), newOfferingFilter(f.reqs))
		f.narrowed = true
	}
	return nil
}

// chooseDomain picks, among the values a claim could still take for a key, the one the
// pod's constraints allow that keeps spreads lowest, then is cheapest, then is least used
// by the groups counting the pod, then comes first by name.
func chooseDomain(c *claim, pt *podTopo, kc *keyConstraints, f *claimFit, options []string) (string, bool) {
	type candidate struct {
		value        string
		spread, used int32
		price        float64
	}
	table := c.topo.keys[kc.keyIdx]
	var best *candidate
	for _, v := range options {
		d := table.intern(v)
		if !kc.allows(pt, d) {
			continue
		}
		cand := candidate{value: v}
		for _, o := range kc.spreads {
			cand.spread += countAt(o.group.counts, d)
		}
		for _, g := range kc.matches {
			cand.used += countAt(g.counts, d)
		}
		price, ok := c.world.cheapestAllowing(f.types, newOfferingFilter(f.reqs), f.reqs.With(scheduling.In(table.key, v)))
		if !ok {
			continue
		}
		cand.price = price
		if best == nil || compareCandidates(cand.spread, cand.price, cand.used, cand.value, best.spread, best.price, best.used, best.value) < 0 {
			best = &cand
		}
	}
	if best == nil {
		return "", false
	}
	return best.value, true
}

func compareCandidates(s1 int32, p1 float64, u1 int32, v1 string, s2 int32, p2 float64, u2 int32, v2 string) int {
	if c := cmp.Compare(s1, s2); c != 0 {
		return c
	}
	if c := cmp.Compare(p1, p2); c != 0 {
		return c
	}
	if c := cmp.Compare(u1, u2); c != 0 {
		return c
	}
	return strings.Compare(v1, v2)
}

func topologyRejection(c *claim, why string) *rejection {
	pool := c.pool.name
	return &rejection{pool: pool, explain: func() string { return fmt.Sprintf("NodePool %q: %s", pool, why) }}
}

func explainNoDomain(topo *topology, pt *podTopo, kc *keyConstraints, key string, options []string) string {
	if len(options) == 0 {
		return fmt.Sprintf("its nodes have no %s label, which %s needs", key, describeKeyConstraints(kc))
	}
	table := topo.keys[kc.keyIdx]
	reasons := make([]string, 0, len(options))
	for _, v := range options {
		reasons = append(reasons, fmt.Sprintf("%s %s: %s", key, v, kc.blocker(pt, table.intern(v))))
	}
	return "no " + key + " allowed (" + strings.Join(reasons, "; ") + ")"
}

func describeKeyConstraints(kc *keyConstraints) string {
	var parts []string
	for _, list := range [][]ownedGroup{kc.spreads, kc.affinities} {
		for _, o := range list {
			parts = append(parts, o.group.described)
		}
	}
	if len(parts) == 0 {
		return "the pod"
	}
	return strings.Join(slices.Compact(parts), " and ")
}
