package schedulerengine

import (
	"encoding/binary"
	"slices"
)

// mover is a pod the rebalance pass may move. Moving it must leave every pod's topology check
// with the same answer, whatever order the pods are bound in:
//
//   - on every key but the hostname, the pod keeps its domain (keptDomains), so no count
//     changes;
//   - on the hostname, it may only be counted by, or own, topology spread constraints
//     (hostTies). The engine checks those against a minimum of 0, so a node's count, the pod's
//     included, staying within maxSkew wherever such a constraint is owned is all that
//     matters; a node losing the pod only gets looser.
//
// Hostname affinity and anti-affinity, spreads that count only some nodes, host ports and
// preferences keep a pod where it is.
type mover struct {
	pod         *pendingPod
	keptDomains []keptDomain
	hostTies    []hostTie
}

type keptDomain struct {
	keyIdx int
	domain int32
}

// hostTie is a hostname spread group the mover counts for (matches), owns, or both.
type hostTie struct {
	group   *topoGroup
	matches bool
	owns    bool
}

// moverOn returns the pod as a mover if it may leave claim c.
func moverOn(c *claim, p *pendingPod) (mover, bool) {
	if len(p.prefs) > 0 || len(p.ports) > 0 {
		return mover{}, false
	}
	lv := p.level()
	if lv.class.err != nil || lv.err != nil {
		return mover{}, false
	}
	m := mover{pod: p}
	if lv.topo == nil {
		return m, true
	}
	ok := true
	visit := func(g *topoGroup, owns, matches bool) {
		switch {
		case !ok:
		case g.kind == groupSpread && g.selective():
			ok = false
		case g.keyIdx == hostnameKey && g.kind == groupSpread:
			m.addHostTie(g, owns, matches)
		case g.keyIdx == hostnameKey:
			ok = false // hostname affinity or anti-affinity: the pod stays where it is
		default:
			ok = m.keepDomain(c, g.keyIdx)
		}
	}
	for _, kc := range lv.topo.keys {
		for _, og := range kc.spreads {
			visit(og.group, true, false)
		}
		for _, gs := range [][]ownedGroup{kc.affinities, kc.antis} {
			for _, og := range gs {
				visit(og.group, false, false)
			}
		}
		for _, g := range kc.repelledBy {
			visit(g, false, false)
		}
		for _, g := range kc.matches {
			visit(g, false, true)
		}
	}
	for _, g := range lv.topo.requiredAntis {
		visit(g, false, false)
	}
	for _, g := range lv.topo.matches {
		visit(g, false, true)
	}
	return m, ok
}

// addHostTie records a hostname spread group the mover counts for (matches), owns, or both.
func (m *mover) addHostTie(g *topoGroup, owns, matches bool) {
	i := slices.IndexFunc(m.hostTies, func(t hostTie) bool { return t.group == g })
	if i < 0 {
		m.hostTies = append(m.hostTies, hostTie{group: g})
		i = len(m.hostTies) - 1
	}
	m.hostTies[i].owns = m.hostTies[i].owns || owns
	m.hostTies[i].matches = m.hostTies[i].matches || matches
}

// keepDomain holds the mover to claim c's domain on a key, which c must have decided.
func (m *mover) keepDomain(c *claim, keyIdx int) bool {
	if slices.ContainsFunc(m.keptDomains, func(k keptDomain) bool { return k.keyIdx == keyIdx }) {
		return true
	}
	d := c.domains[keyIdx]
	if d < 0 {
		return false // undecided or absent: no domain the pod can be held to
	}
	m.keptDomains = append(m.keptDomains, keptDomain{keyIdx: keyIdx, domain: d})
	return true
}

// staysIn reports whether claim c has the mover's domain on every key it must keep.
func staysIn(keep []keptDomain, c *claim) bool {
	for _, k := range keep {
		if c.domains[k.keyIdx] != k.domain {
			return false
		}
	}
	return true
}

// hostCounts is what the pass knows of hostname spread groups on a claim beyond the
// groups' own counts: pods it is about to add, and how many pods there own each group.
type hostCounts struct {
	added, owners map[*topoGroup]int32
}

// allows reports whether a mover with ties may join claim c: on every group it counts for
// that some pod of c (or the mover) owns, c's count with the mover stays within maxSkew;
// on every group it owns, c's count with it does.
func (h hostCounts) allows(c *claim, ties []hostTie, extra hostCounts) bool {
	d := c.domains[hostnameKey]
	for _, t := range ties {
		g := t.group
		n := countAt(g.counts, d) + extra.added[g]
		owned := t.owns || h.owners[g]+extra.owners[g] > 0
		if t.matches {
			n++
		}
		if owned && n > g.maxSkew {
			return false
		}
	}
	return true
}

// hostSpreadOwners tracks, per claim, the owners of hostname spread groups while the pass runs.
type hostSpreadOwners map[*claim]hostCounts

func (l hostSpreadOwners) of(c *claim) hostCounts {
	h, ok := l[c]
	if !ok {
		h = hostCounts{owners: map[*topoGroup]int32{}}
		l[c] = h
	}
	return h
}

// add counts claim c's pod p as an owner of its hostname spread groups.
func (l hostSpreadOwners) add(c *claim, p *pendingPod) {
	pt := p.level().topo
	if pt == nil {
		return
	}
	for _, kc := range pt.keys {
		if kc.keyIdx != hostnameKey {
			continue
		}
		for _, og := range kc.spreads {
			l.of(c).owners[og.group]++
		}
	}
}

// lift and land move the mover's count in its hostname groups off claim c and onto it.
func (m mover) lift(c *claim) {
	for _, t := range m.hostTies {
		if t.matches {
			t.group.counts[c.domains[hostnameKey]]--
		}
	}
}

func (m mover) land(c *claim) {
	for _, t := range m.hostTies {
		if t.matches {
			t.group.counts = incrementAt(t.group.counts, c.domains[hostnameKey])
		}
	}
}

// moverBucket is the movers of one size, pod class, set of kept domains and hostname ties,
// in the order they were placed.
type moverBucket struct {
	bucket
	size        int     // index of the bucket's requests among all buckets' (see fillState)
	movers      []mover // movers[i] is pods[i]
	class       *podClass
	keptDomains []keptDomain
	hostTies    []hostTie
}

// take removes the bucket's first mover.
func (b *moverBucket) take() mover {
	m := b.movers[0]
	b.movers, b.pods = b.movers[1:], b.pods[1:]
	return m
}

func moverBuckets(movers []mover) []*moverBucket {
	type key struct {
		class                *podClass
		keep, host, requests string
	}
	index := map[key]*moverBucket{}
	var out []*moverBucket
	for _, m := range movers {
		k := key{class: m.pod.level().class, keep: keepKey(m.keptDomains), host: tiesKey(m.hostTies), requests: vecKey(m.pod.requests)}
		b, ok := index[k]
		if !ok {
			b = &moverBucket{bucket: bucket{requests: m.pod.requests}, class: k.class, keptDomains: m.keptDomains, hostTies: m.hostTies}
			index[k] = b
			out = append(out, b)
		}
		b.pods = append(b.pods, m.pod)
		b.movers = append(b.movers, m)
	}
	return out
}

func vecKey(v vec) string {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return string(b)
}

func keepKey(keep []keptDomain) string {
	b := make([]byte, 0, 12*len(keep))
	for _, k := range keep {
		b = binary.LittleEndian.AppendUint64(b, uint64(k.keyIdx))
		b = binary.LittleEndian.AppendUint32(b, uint32(k.domain))
	}
	return string(b)
}

func tiesKey(ties []hostTie) string {
	sorted := slices.Clone(ties)
	slices.SortFunc(sorted, func(a, b hostTie) int { return a.group.id - b.group.id })
	b := make([]byte, 0, 9*len(ties))
	for _, t := range sorted {
		b = binary.LittleEndian.AppendUint64(b, uint64(t.group.id))
		flags := byte(0)
		if t.matches {
			flags |= 1
		}
		if t.owns {
			flags |= 2
		}
		b = append(b, flags)
	}
	return string(b)
}
