package schedulerengine

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// groupKind is what a topology group constrains.
type groupKind int

const (
	groupSpread groupKind = iota + 1
	groupAffinity
	groupAntiAffinity
)

// Domain ids: each topology key interns its values; these two mark a node without one.
const (
	domainUndecided int32 = -1 // a claim that could still take several values
	domainAbsent    int32 = -2 // the node will not carry the label
)

// topoGroup is one pod-topology constraint shape (a spread constraint, or an affinity or
// anti-affinity term), shared by every pod that states it: which pods it counts, on which
// key, and how many of them each domain holds.
type topoGroup struct {
	id         int // position in topology.groups
	kind       groupKind
	keyIdx     int
	namespaces namespaceMatcher
	selector   labels.Selector
	// otherRequiredTerms are the owner's other required affinity terms: the kube-scheduler
	// counts a pod for any of a pod's affinity terms only if it matches all of them.
	otherRequiredTerms []podMatcher
	maxSkew            int32
	minDomains         int32
	// filter and tolerations decide which nodes a spread group counts (nodeAffinityPolicy
	// and nodeTaintsPolicy Honor); nil filter counts every node, honorTaints false ignores
	// taints.
	filter      *podClass
	tolerations []corev1.Toleration
	honorTaints bool
	// otherKeys are the owner's other hard spread keys: a node lacking one is not counted.
	otherKeys []string
	// possibleDomains are the domain ids a node eligible for a spread group could have (zones from
	// offerings and existing nodes); unused for hostname, where a new node is always
	// possible and the minimum is therefore 0.
	possibleDomains []int32
	// counts are matching pods per domain on nodes that may count; sure those on nodes that
	// surely count (nil when eligibility is never in doubt, then counts are sure too). A
	// spread check compares the first against the minimum of the second, so doubt only ever
	// makes it stricter.
	counts, sure []int32
	// owners are pods per domain whose required anti-affinity is this group; ownable says
	// some pod in the input has it as required anti-affinity, so matching pods must check.
	owners  []int32
	ownable bool
	// total is how many matching pods have a domain at all.
	total int32
	// described reads like the pod's constraint, for reasons.
	described string
}

// domainTable interns the values of one topology key.
type domainTable struct {
	key   string
	ids   map[string]int32
	names []string
}

func (t *domainTable) intern(value string) int32 {
	if id, ok := t.ids[value]; ok {
		return id
	}
	id := int32(len(t.names))
	t.ids[value] = id
	t.names = append(t.names, value)
	return id
}

// topology is the solver's pod-topology state: the keys in use, the groups, and which groups
// each distinct set of pod labels matches.
type topology struct {
	keys     []*domainTable
	keyIndex map[string]int
	groups   []*topoGroup
	byShape  map[string]*topoGroup
	// matched caches, per namespace and label set, the groups whose selector matches.
	matched         map[string][]*topoGroup
	namespaceLabels map[string]map[string]string
}

func newTopology(namespaceLabels map[string]map[string]string) *topology {
	t := &topology{keyIndex: map[string]int{}, byShape: map[string]*topoGroup{}, matched: map[string][]*topoGroup{}, namespaceLabels: namespaceLabels}
	t.keyOf(v1.LabelHostname) // hostname is key 0, so claims can set it when opened
	return t
}

const hostnameKey = 0

func (t *topology) keyOf(key string) int {
	if i, ok := t.keyIndex[key]; ok {
		return i
	}
	i := len(t.keys)
	t.keyIndex[key] = i
	t.keys = append(t.keys, &domainTable{key: key, ids: map[string]int32{}})
	return i
}

// add registers a group shape, returning the existing group when the shape is known.
func (t *topology) add(shape string, g *topoGroup) *topoGroup {
	if existing, ok := t.byShape[shape]; ok {
		return existing
	}
	t.byShape[shape] = g
	g.id = len(t.groups)
	t.groups = append(t.groups, g)
	return g
}

// matching returns the groups whose namespaces and selector match a pod, cached per label set.
func (t *topology) matching(p *corev1.Pod) []*topoGroup {
	if len(t.groups) == 0 {
		return nil
	}
	key := labelSetKey(p.Namespace, p.Labels)
	if gs, ok := t.matched[key]; ok {
		return gs
	}
	var out []*topoGroup
	set := labels.Set(p.Labels)
	for _, g := range t.groups {
		if g.selects(p.Namespace, set, t.namespaceLabels) {
			out = append(out, g)
		}
	}
	t.matched[key] = out
	return out
}

func labelSetKey(namespace string, l map[string]string) string {
	n := len(namespace) + 1
	for k, v := range l {
		n += len(k) + len(v) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, namespace...)
	for _, k := range sortedKeys(l) {
		b = append(b, 0)
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, l[k]...)
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func countAt(s []int32, d int32) int32 {
	if int(d) < len(s) {
		return s[d]
	}
	return 0
}

func incrementAt(s []int32, d int32) []int32 {
	if int(d) >= len(s) {
		s = append(s, make([]int32, int(d)+1-len(s))...)
	}
	s[d]++
	return s
}

// minCount is the smallest sure count over the group's eligible domains, or 0 for hostname
// (a new node is always possible) and when fewer domains than minDomains exist.
func (g *topoGroup) minCount() int32 {
	if g.keyIdx == hostnameKey || len(g.possibleDomains) == 0 || int32(len(g.possibleDomains)) < g.minDomains {
		return 0
	}
	sure := g.sure
	if sure == nil {
		sure = g.counts
	}
	low := countAt(sure, g.possibleDomains[0])
	for _, d := range g.possibleDomains[1:] {
		low = min(low, countAt(sure, d))
	}
	return low
}

// record counts a pod matching the group in domain d; surely says whether the node surely
// counts for the group (always, except for spread groups whose eligibility is in doubt).
func (g *topoGroup) record(d int32, surely bool) {
	g.counts = incrementAt(g.counts, d)
	if g.sure != nil && surely {
		g.sure = incrementAt(g.sure, d)
	}
	g.total++
}

// podMatcher is one term's namespaces and label selector.
type podMatcher struct {
	namespaces namespaceMatcher
	selector   labels.Selector
}

func (m podMatcher) String() string { return fmt.Sprintf("%s|%s", m.namespaces, m.selector) }

// selects reports whether the group counts a pod of namespace ns with labels set.
func (g *topoGroup) selects(ns string, set labels.Set, namespaceLabels map[string]map[string]string) bool {
	if !g.namespaces.matches(ns, namespaceLabels) || !g.selector.Matches(set) {
		return false
	}
	for _, m := range g.otherRequiredTerms {
		if !m.namespaces.matches(ns, namespaceLabels) || !m.selector.Matches(set) {
			return false
		}
	}
	return true
}

// selective reports whether some nodes may not count for the group.
func (g *topoGroup) selective() bool {
	return g.filter != nil || g.honorTaints || len(g.otherKeys) > 0
}
