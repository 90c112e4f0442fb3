package schedulerengine

import (
	"encoding/binary"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// pendingPod is a pod with what placement needs precomputed.
type pendingPod struct {
	key      string
	pod      *corev1.Pod
	requests vec
	ports    []hostPort
	// prefs are the pod's soft constraints in the order they are relaxed; levels[i] is the
	// pod with the first i relaxed, built as needed; relaxedCount, how many are relaxed,
	// picks the level in force.
	prefs        []preference
	levels       []*podLevel
	relaxedCount int
}

// podLevel is a pod's node requirements and pod topology with some preferences relaxed.
type podLevel struct {
	class *podClass
	topo  *podTopo
	// err is set when the pod's topology constraints cannot be evaluated.
	err error
}

func (p *pendingPod) level() *podLevel { return p.levels[p.relaxedCount] }

// canRelax reports whether a preference is left to relax.
func (p *pendingPod) canRelax() bool { return p.relaxedCount < len(p.prefs) }

// relax drops the next preference and returns what it was.
func (s *solver) relax(p *pendingPod) preference {
	dropped := p.prefs[p.relaxedCount]
	p.relaxedCount++
	if len(p.levels) <= p.relaxedCount {
		p.levels = append(p.levels, s.levelOf(p.pod, p.prefs[:p.relaxedCount]))
	}
	return dropped
}

// levelOf builds (or finds in the solver's caches) a pod's level with the given preferences
// relaxed.
func (s *solver) levelOf(p *corev1.Pod, relaxed []preference) *podLevel {
	f := constraintsInForce(p, relaxed)
	classKey := podClassKey(p, f.nodePreferred)
	class, ok := s.classCache[classKey]
	if !ok {
		class = newPodClass(p, f.nodePreferred)
		s.classCache[classKey] = class
	}
	topo, err := s.podTopoOf(p, f.topology)
	return &podLevel{class: class, topo: topo, err: err}
}

// podTopoOf returns the pod's topology for the constraints in force, shared by every pod of
// the same namespace, labels and constraints.
func (s *solver) podTopoOf(p *corev1.Pod, c constraints) (*podTopo, error) {
	key := topoKey(p, c)
	if cached, ok := s.topoCache[key]; ok {
		return cached.topo, cached.err
	}
	pt, err := s.buildPodTopo(p, c)
	s.topoCache[key] = cachedTopo{topo: pt, err: err}
	return pt, err
}

type cachedTopo struct {
	topo *podTopo
	err  error
}

// topoKey identifies a pod's topology: its namespace and labels (which groups count it,
// matchLabelKeys), its constraints and, when it has spreads, its node selector, node
// affinity and tolerations, which decide the nodes a spread counts.
func topoKey(p *corev1.Pod, c constraints) string {
	key := labelSetKey(p.Namespace, p.Labels) + "\x01" + constraintsKey(c)
	if len(c.spreads) > 0 {
		key += "\x01" + podClassKey(&corev1.Pod{Spec: corev1.PodSpec{NodeSelector: p.Spec.NodeSelector, Affinity: nodeAffinityOnly(p), Tolerations: p.Spec.Tolerations}}, nil)
	}
	return key
}

// constraintsKey serialises the constraints deterministically (the generated protobuf
// marshalling sorts map keys).
func constraintsKey(c constraints) string {
	if len(c.spreads) == 0 && len(c.affinities) == 0 && len(c.antis) == 0 {
		return ""
	}
	var b []byte
	add := func(tag byte, m interface{ Marshal() ([]byte, error) }) {
		data, err := m.Marshal()
		if err != nil {
			data = []byte(fmt.Sprintf("%+v", m)) // never happens for these types
		}
		b = append(b, tag)
		b = binary.AppendUvarint(b, uint64(len(data)))
		b = append(b, data...)
	}
	for i := range c.spreads {
		add('s', &c.spreads[i])
	}
	for i := range c.affinities {
		tag := byte('f') // preferred
		if i < c.requiredAffinities {
			tag = 'a'
		}
		add(tag, &c.affinities[i])
	}
	for i := range c.antis {
		tag := byte('p')
		if i < c.requiredAntis {
			tag = 'r'
		}
		add(tag, &c.antis[i])
	}
	return string(b)
}

// buildPodTopo gathers, per topology key, what the pod asks and which groups will count it.
func (s *solver) buildPodTopo(p *corev1.Pod, c constraints) (*podTopo, error) {
	spreads, affinities, antis, err := s.topo.groupsFor(p, c)
	if err != nil {
		return nil, err
	}
	pt := &podTopo{affinities: affinities, matchesEveryAffinity: true}
	for _, o := range affinities {
		pt.matchesEveryAffinity = pt.matchesEveryAffinity && o.matchesSelf
	}
	for i, o := range antis {
		if i < c.requiredAntis {
			pt.requiredAntis = append(pt.requiredAntis, o.group)
		}
	}
	pt.matches = s.topo.matching(p)
	byKey := map[int]*keyConstraints{}
	of := func(k int) *keyConstraints {
		if kc, ok := byKey[k]; ok {
			return kc
		}
		kc := &keyConstraints{keyIdx: k}
		byKey[k] = kc
		return kc
	}
	for _, o := range spreads {
		kc := of(o.group.keyIdx)
		kc.spreads = append(kc.spreads, o)
	}
	for _, o := range affinities {
		kc := of(o.group.keyIdx)
		kc.affinities = append(kc.affinities, o)
	}
	for _, o := range antis {
		kc := of(o.group.keyIdx)
		kc.antis = append(kc.antis, o)
	}
	for _, g := range pt.matches {
		kc := of(g.keyIdx)
		kc.matches = append(kc.matches, g)
		if g.kind == groupAntiAffinity && g.ownable {
			kc.repelledBy = append(kc.repelledBy, g)
		}
	}
	for k := range len(s.topo.keys) {
		if kc, ok := byKey[k]; ok {
			pt.keys = append(pt.keys, *kc)
		}
	}
	return pt, nil
}
