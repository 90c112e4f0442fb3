package schedulerengine

import corev1 "k8s.io/api/core/v1"

// prepareTopology registers every topology group the input states (pending pods' with all
// preferences in force, existing pods' required anti-affinity), reads the existing nodes'
// domains and spread groups' possible domains, and counts the existing pods.
func (s *solver) prepareTopology() {
	registered := map[string]bool{}
	register := func(p *corev1.Pod, c constraints) {
		if len(c.spreads) == 0 && len(c.affinities) == 0 && len(c.antis) == 0 {
			return // no group to make: most pods, and keying each cost a disruption pass dearly
		}
		key := topoKey(p, c)
		if registered[key] {
			return
		}
		registered[key] = true
		_, _, antis, err := s.topo.groupsFor(p, c)
		if err != nil {
			return // the pod's level reports it
		}
		for _, o := range antis[:c.requiredAntis] {
			o.group.ownable = true
		}
	}
	for _, p := range s.pods {
		register(p.pod, constraintsInForce(p.pod, nil).topology)
	}
	for _, n := range s.existing {
		for _, p := range n.pods {
			register(p, requiredAntiAffinity(p))
		}
	}
	if len(s.topo.groups) == 0 {
		for _, n := range s.existing {
			n.settleDomains(s.topo)
		}
		return
	}
	for _, n := range s.existing {
		n.settleDomains(s.topo)
	}
	for _, g := range s.topo.groups {
		if g.kind == groupSpread && g.keyIdx != hostnameKey {
			g.possibleDomains = s.spreadDomains(g)
		}
	}
	for _, n := range s.existing {
		for _, p := range n.pods {
			s.recordOnNode(n, s.topo.matching(p), existingAntis(s.topo, p))
		}
	}
}

func requiredAntiAffinity(p *corev1.Pod) constraints {
	var c constraints
	if a := p.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		c.antis = a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		c.requiredAntis = len(c.antis)
	}
	return c
}

func existingAntis(t *topology, p *corev1.Pod) []*topoGroup {
	c := requiredAntiAffinity(p)
	if len(c.antis) == 0 {
		return nil
	}
	_, _, antis, err := t.groupsFor(p, c)
	if err != nil {
		return nil
	}
	out := make([]*topoGroup, len(antis))
	for i, o := range antis {
		out[i] = o.group
	}
	return out
}
