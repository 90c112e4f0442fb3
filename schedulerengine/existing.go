package schedulerengine

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// withHostname returns labels with kubernetes.io/hostname set to the node name when missing,
// as the kubelet sets it; the input map is never modified.
func withHostname(labels map[string]string, name string) map[string]string {
	if _, ok := labels[v1.LabelHostname]; ok {
		return labels
	}
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		out[k] = v
	}
	out[v1.LabelHostname] = name
	return out
}

// runningNode is a running or in-flight node with the room it has left in this Solve.
type runningNode struct {
	name     string
	inFlight bool
	labels   map[string]string
	fields   map[string]string // metadata.name, for matchFields; made on first use (nameFields)
	taints   []corev1.Taint
	free     vec
	ports    []hostPort
	pods     []*corev1.Pod // bound before this Solve
	// domains is the node's domain per topology key (domainAbsent without the label).
	domains []int32
}

// nodeFit is the node's room after adding a pod.
type nodeFit struct{ free vec }

func newRunningNode(d dims, n ExistingNode) *runningNode {
	rn := &runningNode{
		name:     n.Name,
		inFlight: n.InFlight,
		labels:   withHostname(scheduling.NormalizedLabels(n.Labels), n.Name),
		taints:   n.Taints,
		free:     d.vec(n.Available),
	}
	for _, p := range n.Pods {
		if p != nil {
			rn.pods = append(rn.pods, p)
			rn.ports = append(rn.ports, podHostPorts(p)...)
		}
	}
	return rn
}

// settleDomains reads the node's domain for every topology key from its labels.
func (n *runningNode) settleDomains(t *topology) {
	n.domains = make([]int32, len(t.keys))
	for i, table := range t.keys {
		if v, ok := n.labels[table.key]; ok {
			n.domains[i] = table.intern(v)
		} else {
			n.domains[i] = domainAbsent
		}
	}
}

// CanAdd checks, without changing the node, whether pod p fits: its taints are tolerated,
// one of the pod's node-affinity terms matches its labels, its host ports are free, pod
// topology allows its domains, and it has room.
func (n *runningNode) CanAdd(p *pendingPod) (nodeFit, *rejection) {
	lv := p.level()
	if untoleratedTaint(n.taints, lv.class.tolerations) != nil {
		return nodeFit{}, &rejection{kind: reasonTaints, explain: func() string { return "node " + n.name + " taints not tolerated" }}
	}
	if !slices.ContainsFunc(lv.class.terms, n.satisfies) {
		return nodeFit{}, &rejection{kind: reasonRequirements, explain: func() string { return "node " + n.name + " labels do not match" }}
	}
	if !p.requests.fitsIn(n.free) {
		return nodeFit{}, &rejection{kind: reasonResources, explain: func() string { return "node " + n.name + " is full" }}
	}
	if _, clash := portConflict(n.ports, p.ports); clash {
		return nodeFit{}, &rejection{kind: reasonTopology, explain: func() string { return "node " + n.name + " has the host port taken" }}
	}
	if !lv.topo.empty() {
		if why := lv.topo.nodeBlocker(n.domains); why != "" {
			return nodeFit{}, &rejection{kind: reasonTopology, explain: func() string { return "node " + n.name + ": " + why }}
		}
	}
	return nodeFit{free: n.free.minus(p.requests)}, nil
}

// Add commits a fit CanAdd returned for the same pod.
func (n *runningNode) Add(p *pendingPod, f nodeFit) {
	n.free = f.free
	n.ports = append(n.ports, p.ports...)
}

func (n *runningNode) satisfies(t *podTerm) bool {
	return t.reqs.MatchesLabels(n.labels) && (len(t.fields) == 0 || t.fields.MatchesLabels(n.nameFields()))
}

// nameFields are the node's fields for matchFields, made when a term first has some: few
// pods ask for a node by name, and a consolidation pass builds every node once per
// simulation.
func (n *runningNode) nameFields() map[string]string {
	if n.fields == nil {
		n.fields = map[string]string{fieldNodeName: n.name}
	}
	return n.fields
}
