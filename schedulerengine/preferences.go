package schedulerengine

import (
	"cmp"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// prefKind is a kind of soft constraint the engine first treats as required.
type prefKind int

const (
	prefPodAffinity prefKind = iota + 1
	prefPodAntiAffinity
	prefNodeAffinity
	prefSpread
)

// preference is one soft constraint of a pod.
type preference struct {
	kind   prefKind
	index  int // into the pod's list of that kind
	weight int32
}

// preferencesOf lists a pod's soft constraints in the order they are relaxed when the pod
// cannot be placed with them. The kinds go in Karpenter's order (preferred pod affinity,
// preferred pod anti-affinity, preferred node affinity, ScheduleAnyway spread); within a
// kind the lightest weight goes first, so the heaviest preference is dropped last, and
// spreads go in the order they are written.
func preferencesOf(p *corev1.Pod) []preference {
	var out []preference
	byWeight := func(kind prefKind, weights []int32) {
		start := len(out)
		for i, w := range weights {
			out = append(out, preference{kind: kind, index: i, weight: w})
		}
		slices.SortStableFunc(out[start:], func(a, b preference) int { return cmp.Compare(a.weight, b.weight) })
	}
	if a := p.Spec.Affinity; a != nil {
		if a.PodAffinity != nil {
			byWeight(prefPodAffinity, podTermWeights(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution))
		}
		if a.PodAntiAffinity != nil {
			byWeight(prefPodAntiAffinity, podTermWeights(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution))
		}
		if a.NodeAffinity != nil {
			var weights []int32
			for _, t := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
				weights = append(weights, t.Weight)
			}
			byWeight(prefNodeAffinity, weights)
		}
	}
	for i, sc := range p.Spec.TopologySpreadConstraints {
		if sc.WhenUnsatisfiable == corev1.ScheduleAnyway {
			out = append(out, preference{kind: prefSpread, index: i})
		}
	}
	return out
}

func podTermWeights(terms []corev1.WeightedPodAffinityTerm) []int32 {
	out := make([]int32, len(terms))
	for i, t := range terms {
		out[i] = t.Weight
	}
	return out
}

// inForce is what of a pod's constraints apply once the given preferences are relaxed.
type inForce struct {
	topology      constraints
	nodePreferred []corev1.NodeSelectorTerm
}

func constraintsInForce(p *corev1.Pod, relaxed []preference) inForce {
	dropped := func(kind prefKind, i int) bool {
		return slices.ContainsFunc(relaxed, func(r preference) bool { return r.kind == kind && r.index == i })
	}
	var f inForce
	for i, sc := range p.Spec.TopologySpreadConstraints {
		if sc.WhenUnsatisfiable != corev1.ScheduleAnyway || !dropped(prefSpread, i) {
			f.topology.spreads = append(f.topology.spreads, sc)
		}
	}
	a := p.Spec.Affinity
	if a == nil {
		return f
	}
	if a.PodAffinity != nil {
		f.topology.affinities = append(f.topology.affinities, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		f.topology.requiredAffinities = len(f.topology.affinities)
		for i, t := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			if !dropped(prefPodAffinity, i) {
				f.topology.affinities = append(f.topology.affinities, t.PodAffinityTerm)
			}
		}
	}
	if a.PodAntiAffinity != nil {
		f.topology.antis = append(f.topology.antis, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		f.topology.requiredAntis = len(f.topology.antis)
		for i, t := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			if !dropped(prefPodAntiAffinity, i) {
				f.topology.antis = append(f.topology.antis, t.PodAffinityTerm)
			}
		}
	}
	if a.NodeAffinity != nil {
		for i, t := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			if !dropped(prefNodeAffinity, i) {
				f.nodePreferred = append(f.nodePreferred, t.Preference)
			}
		}
	}
	return f
}

// describe names a preference as the pod spec does, for reasons.
func (pr preference) describe() string {
	switch pr.kind {
	case prefPodAffinity:
		return fmt.Sprintf("preferred pod affinity term %d (weight %d)", pr.index, pr.weight)
	case prefPodAntiAffinity:
		return fmt.Sprintf("preferred pod anti-affinity term %d (weight %d)", pr.index, pr.weight)
	case prefNodeAffinity:
		return fmt.Sprintf("preferred node affinity term %d (weight %d)", pr.index, pr.weight)
	default:
		return fmt.Sprintf("ScheduleAnyway topology spread constraint %d", pr.index)
	}
}
