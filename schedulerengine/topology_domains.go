package schedulerengine

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// domainValues lists the values key could take on a node of one of types (which all satisfy
// reqs), sorted: zones and capacity types from the allowed offerings, instance-type labels
// from the types, NodePool labels from an In requirement. A key none of these sets has no
// value: the node will not carry the label.
func (w *world) domainValues(key string, reqs scheduling.Requirements, types []int) []string {
	switch {
	case key == v1.LabelZone || key == v1.LabelCapacityType || w.decidedByInstanceType(key):
		return w.distinctValues(key, types, newOfferingFilter(reqs))
	}
	r, ok := reqs.Get(key)
	if !ok || r.IsComplement() {
		return nil
	}
	return r.Values()
}

// eligibility is whether a node counts for a spread group whose nodeAffinityPolicy or
// nodeTaintsPolicy is Honor.
type eligibility int

const (
	eligibleNo eligibility = iota
	eligibleMaybe
	eligibleYes
)

// eligibleFor reports exactly whether a running node counts for the group.
func (n *runningNode) eligibleFor(g *topoGroup) bool {
	if g.honorTaints && untoleratedTaint(n.taints, g.tolerations) != nil {
		return false
	}
	for _, k := range g.otherKeys {
		if _, ok := n.labels[k]; !ok {
			return false
		}
	}
	return g.filter == nil || slices.ContainsFunc(g.filter.terms, n.satisfies)
}

// claimEligibility says whether a claim (its requirements, remaining types and taints)
// counts for the group: yes when every type it may launch as would, no when none would,
// maybe otherwise.
func (w *world) claimEligibility(reqs scheduling.Requirements, types []int, taints []corev1.Taint, g *topoGroup) eligibility {
	if g.honorTaints && untoleratedTaint(taints, g.tolerations) != nil {
		return eligibleNo
	}
	keys := w.keysEligibility(reqs, types, g.otherKeys)
	if keys == eligibleNo || g.filter == nil {
		return keys
	}
	verdict := eligibleNo
	for _, t := range g.filter.terms {
		verdict = max(verdict, w.termEligibility(reqs, types, t))
		if verdict == eligibleYes {
			break
		}
	}
	return min(verdict, keys)
}

// keysEligibility says whether a claim will carry every one of keys: always for the hostname,
// zone and capacity type, as far as its types and requirements tell for the rest.
func (w *world) keysEligibility(reqs scheduling.Requirements, types []int, keys []string) eligibility {
	verdict := eligibleYes
	for _, k := range keys {
		switch {
		case k == v1.LabelHostname || k == v1.LabelZone || k == v1.LabelCapacityType:
		case w.decidedByInstanceType(k):
			if len(w.domainValues(k, reqs, types)) == 0 {
				return eligibleNo
			}
			if w.someTypeLacks(k, types) {
				verdict = eligibleMaybe
			}
		default:
			if len(w.domainValues(k, reqs, types)) == 0 {
				return eligibleNo
			}
		}
	}
	return verdict
}

func (w *world) termEligibility(reqs scheduling.Requirements, types []int, t *podTerm) eligibility {
	if len(t.fields) > 0 {
		return eligibleNo // matchFields names a node; a new node has another name
	}
	verdict := eligibleYes
	for _, r := range t.reqs {
		v := w.requirementEligibility(reqs, types, r)
		if v == eligibleNo {
			return eligibleNo
		}
		verdict = min(verdict, v)
	}
	return verdict
}

func (w *world) requirementEligibility(reqs scheduling.Requirements, types []int, r scheduling.Requirement) eligibility {
	switch {
	case r.Key == v1.LabelHostname:
		return eligibleMaybe
	case r.Key == v1.LabelZone || r.Key == v1.LabelCapacityType || w.decidedByInstanceType(r.Key):
		if len(types) == 0 {
			return eligibleNo
		}
		some, all := false, true
		for _, v := range w.domainValues(r.Key, reqs, types) {
			ok := r.Has(v)
			some, all = some || ok, all && ok
		}
		if r.Key != v1.LabelZone && r.Key != v1.LabelCapacityType && w.someTypeLacks(r.Key, types) {
			some, all = some || r.AllowsAbsence(), all && r.AllowsAbsence()
		}
		switch {
		case all:
			return eligibleYes
		case some:
			return eligibleMaybe
		}
		return eligibleNo
	}
	have, ok := reqs.Get(r.Key)
	if !ok {
		return boolEligibility(r.AllowsAbsence())
	}
	if v, single := have.SingleValue(); single {
		return boolEligibility(r.Has(v))
	}
	if have.CompatibleWith(r) {
		return eligibleMaybe
	}
	return eligibleNo
}

func (w *world) someTypeLacks(key string, types []int) bool {
	return slices.ContainsFunc(types, func(i int) bool { _, ok := w.types[i].labels[key]; return !ok })
}

func boolEligibility(ok bool) eligibility {
	if ok {
		return eligibleYes
	}
	return eligibleNo
}

// spreadDomains lists the domains of a spread group's key that an eligible node could have:
// those of eligible existing nodes and those any NodePool could launch an eligible node in.
func (s *solver) spreadDomains(g *topoGroup) []int32 {
	table := s.topo.keys[g.keyIdx]
	seen := map[int32]bool{}
	for _, n := range s.existing {
		if d := n.domains[g.keyIdx]; d >= 0 && n.eligibleFor(g) {
			seen[d] = true
		}
	}
	for _, pool := range s.pools {
		if g.honorTaints && untoleratedTaint(pool.taints, g.tolerations) != nil {
			continue
		}
		variants := []scheduling.Requirements{pool.reqs}
		if g.filter != nil {
			variants = nil
			for _, t := range g.filter.terms {
				if len(t.fields) == 0 && pool.reqs.IsCompatible(t.reqs, s.world.decidedByInstanceType) {
					variants = append(variants, pool.reqs.Intersect(t.reqs))
				}
			}
		}
		for _, reqs := range variants {
			types := s.world.typesAllowing(pool.types, reqs)
			if s.world.keysEligibility(reqs, types, g.otherKeys) == eligibleNo {
				continue
			}
			for _, v := range s.world.domainValues(table.key, reqs, types) {
				seen[table.intern(v)] = true
			}
		}
	}
	out := make([]int32, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}
