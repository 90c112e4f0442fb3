package schedulerengine

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// runningNode is a running or in-flight node with the room it has left in this Solve.
type runningNode struct {
	name   string
	labels map[string]string
	fields map[string]string // metadata.name, for matchFields
	taints []corev1.Taint
	free   vec
}

// nodeFit is the node's room after adding a pod.
type nodeFit struct{ free vec }

func newRunningNode(d dims, n ExistingNode) *runningNode {
	return &runningNode{
		name:   n.Name,
		labels: n.Labels,
		fields: map[string]string{fieldNodeName: n.Name},
		taints: n.Taints,
		free:   d.vec(n.Available),
	}
}

// CanAdd checks, without changing the node, whether pod p fits: its taints are tolerated,
// one of the pod's node-affinity terms matches its labels, and it has room.
func (n *runningNode) CanAdd(p *pendingPod) (nodeFit, *rejection) {
	if untoleratedTaint(n.taints, p.class.tolerations) != nil {
		return nodeFit{}, &rejection{kind: reasonTaints, explain: func() string { return "node " + n.name + " taints not tolerated" }}
	}
	if !slices.ContainsFunc(p.class.terms, n.satisfies) {
		return nodeFit{}, &rejection{kind: reasonRequirements, explain: func() string { return "node " + n.name + " labels do not match" }}
	}
	if !p.requests.fitsIn(n.free) {
		return nodeFit{}, &rejection{kind: reasonResources, explain: func() string { return "node " + n.name + " is full" }}
	}
	return nodeFit{free: n.free.minus(p.requests)}, nil
}

// Add commits a fit CanAdd returned for the same pod.
func (n *runningNode) Add(f nodeFit) { n.free = f.free }

func (n *runningNode) satisfies(t *podTerm) bool {
	return t.reqs.MatchesLabels(n.labels) && t.fields.MatchesLabels(n.fields)
}
