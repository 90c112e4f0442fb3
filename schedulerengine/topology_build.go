package schedulerengine

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// namespaceMatcher is the namespaces an affinity term or spread constraint counts pods in.
type namespaceMatcher struct {
	names    []string // sorted
	selector labels.Selector
}

func (m namespaceMatcher) matches(ns string, nsLabels map[string]map[string]string) bool {
	if _, ok := slices.BinarySearch(m.names, ns); ok {
		return true
	}
	return m.selector != nil && m.selector.Matches(labels.Set(nsLabels[ns]))
}

func (m namespaceMatcher) String() string {
	s := strings.Join(m.names, ",")
	if m.selector != nil {
		s += "|" + m.selector.String()
	}
	return s
}

// ownedGroup is a group one pod states, and whether the pod matches it itself.
type ownedGroup struct {
	group       *topoGroup
	matchesSelf bool
}

// podTopo is what one pod (at one relaxation level) asks of pod topology, grouped by key.
type podTopo struct {
	keys []keyConstraints // sorted by key index
	// affinities are all of the pod's affinity groups; matchesEveryAffinity says the pod matches
	// every one, so the first of its kind may go anywhere.
	affinities           []ownedGroup
	matchesEveryAffinity bool
	// requiredAntis are the pod's required anti-affinity groups: once placed, it repels
	// the pods they select.
	requiredAntis []*topoGroup
	// matches are the groups that count this pod once placed.
	matches []*topoGroup
}

// keyConstraints is everything about one topology key a node must satisfy for the pod.
type keyConstraints struct {
	keyIdx                     int
	spreads, affinities, antis []ownedGroup
	// repelledBy are anti-affinity groups with owners whose selector matches this pod.
	repelledBy []*topoGroup
	// matches are the groups on this key that will count the pod.
	matches []*topoGroup
}

func (pt *podTopo) empty() bool { return pt == nil || len(pt.keys) == 0 }

// constraints is the pod-topology part of a pod spec at one relaxation level.
type constraints struct {
	spreads            []corev1.TopologySpreadConstraint
	affinities, antis  []corev1.PodAffinityTerm
	requiredAffinities int // the first requiredAffinities of affinities are required
	requiredAntis      int // the first requiredAntis of antis are required
}

// groupsFor registers the groups a pod states and returns them with whether the pod matches
// each. Existing pods call it with only their required anti-affinity.
func (t *topology) groupsFor(p *corev1.Pod, c constraints) (spreads, affinities, antis []ownedGroup, err error) {
	hardKeys := spreadKeys(c.spreads)
	for i, sc := range c.spreads {
		g, err := t.spreadGroup(p, sc, hardKeys)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("topology spread constraint %d: %w", i, err)
		}
		spreads = append(spreads, t.owned(p, g))
	}
	matchers := make([]podMatcher, len(c.affinities))
	for i, term := range c.affinities {
		m, err := affinityMatcher(p, term)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("pod affinity term %d: %w", i, err)
		}
		matchers[i] = m
	}
	required := matchers[:c.requiredAffinities]
	for i, term := range c.affinities {
		// A pod counts for one of several required affinity terms only if it matches them
		// all. Preferred terms, held as required until relaxed, stand alone, so relaxing
		// one leaves the required terms' groups as they were.
		var others []podMatcher
		if i < len(required) {
			others = slices.Delete(slices.Clone(required), i, i+1)
		}
		affinities = append(affinities, t.owned(p, t.affinityGroupOf(term, matchers[i], others, groupAffinity)))
	}
	for i, term := range c.antis {
		m, err := affinityMatcher(p, term)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("pod anti-affinity term %d: %w", i, err)
		}
		antis = append(antis, t.owned(p, t.affinityGroupOf(term, m, nil, groupAntiAffinity)))
	}
	return spreads, affinities, antis, nil
}

func (t *topology) owned(p *corev1.Pod, g *topoGroup) ownedGroup {
	return ownedGroup{group: g, matchesSelf: g.selects(p.Namespace, labels.Set(p.Labels), t.namespaceLabels)}
}

// spreadKeys are the topology keys of the DoNotSchedule spreads: the kube-scheduler counts a
// node for any of a pod's spreads only if it carries all of them.
func spreadKeys(spreads []corev1.TopologySpreadConstraint) []string {
	var keys []string
	for _, sc := range spreads {
		if sc.WhenUnsatisfiable == corev1.DoNotSchedule {
			keys = append(keys, scheduling.NormalizedLabelKey(sc.TopologyKey))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// spreadGroup builds the group of a topology spread constraint as the kube-scheduler reads
// it: pods of the owner's namespace matching the selector (narrowed by matchLabelKeys), on
// nodes passing nodeAffinityPolicy (default Honor) and nodeTaintsPolicy (default Ignore)
// that carry every key of the owner's hard spreads.
func (t *topology) spreadGroup(owner *corev1.Pod, sc corev1.TopologySpreadConstraint, hardKeys []string) (*topoGroup, error) {
	sel, err := selectorWithKeys(sc.LabelSelector, owner.Labels, sc.MatchLabelKeys, nil)
	if err != nil {
		return nil, err
	}
	g := &topoGroup{
		kind:       groupSpread,
		keyIdx:     t.keyOf(scheduling.NormalizedLabelKey(sc.TopologyKey)),
		namespaces: namespaceMatcher{names: []string{owner.Namespace}},
		selector:   sel,
		maxSkew:    sc.MaxSkew,
		minDomains: 1,
	}
	if sc.MinDomains != nil && sc.WhenUnsatisfiable == corev1.DoNotSchedule {
		g.minDomains = *sc.MinDomains
	}
	filterKey := ""
	if sc.NodeAffinityPolicy == nil || *sc.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor {
		if key := podClassKey(&corev1.Pod{Spec: corev1.PodSpec{NodeSelector: owner.Spec.NodeSelector, Affinity: nodeAffinityOnly(owner)}}, nil); key != "" {
			g.filter = newPodClass(&corev1.Pod{Spec: corev1.PodSpec{NodeSelector: owner.Spec.NodeSelector, Affinity: nodeAffinityOnly(owner)}}, nil)
			filterKey = key
		}
	}
	tolerationsKey := ""
	if sc.NodeTaintsPolicy != nil && *sc.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor {
		g.honorTaints, g.tolerations = true, owner.Spec.Tolerations
		tolerationsKey = podClassKey(&corev1.Pod{Spec: corev1.PodSpec{Tolerations: owner.Spec.Tolerations}}, nil)
	}
	key := t.keys[g.keyIdx].key
	for _, k := range hardKeys {
		if k != key {
			g.otherKeys = append(g.otherKeys, k)
		}
	}
	if g.filter != nil || g.honorTaints || len(g.otherKeys) > 0 {
		g.sure = []int32{}
	}
	g.described = fmt.Sprintf("topology spread on %s (maxSkew %d) of pods matching %s", t.keys[g.keyIdx].key, g.maxSkew, describeSelector(sel))
	shape := fmt.Sprintf("spread|%d|%s|%s|%d|%d|%s|%v|%s|%s", g.keyIdx, g.namespaces, sel, g.maxSkew, g.minDomains, filterKey, g.honorTaints, tolerationsKey, strings.Join(g.otherKeys, ","))
	return t.add(shape, g), nil
}

func nodeAffinityOnly(p *corev1.Pod) *corev1.Affinity {
	if p.Spec.Affinity == nil || p.Spec.Affinity.NodeAffinity == nil {
		return nil
	}
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution}}
}

// affinityMatcher reads a pod (anti-)affinity term's namespaces (the owner's by default, or
// those namespaceSelector picks) and selector, narrowed by matchLabelKeys and
// mismatchLabelKeys.
func affinityMatcher(owner *corev1.Pod, term corev1.PodAffinityTerm) (podMatcher, error) {
	sel, err := selectorWithKeys(term.LabelSelector, owner.Labels, term.MatchLabelKeys, term.MismatchLabelKeys)
	if err != nil {
		return podMatcher{}, err
	}
	var ns namespaceMatcher
	if len(term.Namespaces) > 0 {
		ns.names = slices.Clone(term.Namespaces)
		slices.Sort(ns.names)
		ns.names = slices.Compact(ns.names)
	}
	if term.NamespaceSelector != nil {
		nsSel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
		if err != nil {
			return podMatcher{}, fmt.Errorf("namespaceSelector: %w", err)
		}
		ns.selector = nsSel
	}
	if len(ns.names) == 0 && ns.selector == nil {
		ns.names = []string{owner.Namespace}
	}
	return podMatcher{namespaces: ns, selector: sel}, nil
}

// affinityGroupOf builds the group of a pod (anti-)affinity term from its matcher and, for
// affinity, the matchers of the owner's other terms.
func (t *topology) affinityGroupOf(term corev1.PodAffinityTerm, m podMatcher, others []podMatcher, kind groupKind) *topoGroup {
	g := &topoGroup{kind: kind, keyIdx: t.keyOf(scheduling.NormalizedLabelKey(term.TopologyKey)), namespaces: m.namespaces, selector: m.selector, otherRequiredTerms: others}
	what := "affinity"
	if kind == groupAntiAffinity {
		what = "anti-affinity"
	}
	g.described = fmt.Sprintf("pod %s on %s to pods matching %s", what, t.keys[g.keyIdx].key, describeSelector(m.selector))
	shape := fmt.Sprintf("%d|%d|%s|%s", kind, g.keyIdx, m.namespaces, m.selector)
	for _, a := range others {
		g.described += " and " + describeSelector(a.selector)
		shape += "|also " + a.String()
	}
	return t.add(shape, g)
}

// selectorWithKeys converts a label selector (nil selects nothing, as in Kubernetes) and adds
// "key In [owner's value]" per matchLabelKeys and "key NotIn [owner's value]" per
// mismatchLabelKeys, for keys the owner carries.
func selectorWithKeys(ls *metav1.LabelSelector, ownerLabels map[string]string, matchKeys, mismatchKeys []string) (labels.Selector, error) {
	if ls == nil {
		return labels.Nothing(), nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, fmt.Errorf("label selector: %w", err)
	}
	add := func(keys []string, op selection.Operator) error {
		for _, k := range keys {
			v, ok := ownerLabels[k]
			if !ok {
				continue
			}
			r, err := labels.NewRequirement(k, op, []string{v})
			if err != nil {
				return fmt.Errorf("label key %q: %w", k, err)
			}
			sel = sel.Add(*r)
		}
		return nil
	}
	if err := add(matchKeys, selection.In); err != nil {
		return nil, err
	}
	if err := add(mismatchKeys, selection.NotIn); err != nil {
		return nil, err
	}
	return sel, nil
}

func describeSelector(sel labels.Selector) string {
	if sel.Empty() {
		return "any labels"
	}
	if s := sel.String(); s != "" {
		return s
	}
	return "nothing"
}
