package disruption

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// Snapshot is the cluster as the decision sees it.
type Snapshot struct {
	Now           time.Time
	Nodes         []Node
	NodePools     []v1.NodePool
	InstanceTypes []schedulerengine.InstanceType
	// PoolAllocatable sizes each pool's replacement nodes as schedulerengine.Input's does.
	PoolAllocatable map[string]map[string]corev1.ResourceList
	// BlockedPods are pod keys whose PodDisruptionBudget allows no disruption now.
	BlockedPods map[string]bool
	// Pending are the live pods bound to no node, sorted by key: among them the pods a
	// decision carried out moments ago evicted, recreated by their controllers.
	Pending []*corev1.Pod
	// ClusterLimits cap every pool's nodes together, as the Provisioner's plans are capped: a
	// replacement must fit them once its candidates are gone.
	ClusterLimits schedulerengine.ClusterLimits
}

// Node is one node with the pods bound to it.
type Node struct {
	Name string
	// NodePool and Claim are empty for nodes Nodewright did not launch; those only receive pods.
	NodePool     string
	Claim        string
	Labels       map[string]string
	Annotations  map[string]string
	Taints       []corev1.Taint
	Allocatable  corev1.ResourceList
	PricePerHour float64
	CapacityType string
	// Pods are the live pods bound to the node, daemonset pods included.
	Pods []*corev1.Pod
	// Ready, Initialized and Deleting describe the node: Deleting covers the disrupted taint,
	// a deletion timestamp, or a drain under way.
	Ready, Initialized, Deleting bool
	// Departed marks a node a decision under way has told to go, which the budgets count as
	// gone already: the disruption controller decides its next command while such nodes
	// drain, and validates and carries it out only once they are gone.
	Departed bool
	// Drifted is set by the caller when the node no longer matches its NodePool's template.
	Drifted bool
	// LastPodEvent is when a pod last arrived on or left the node (or it became Ready).
	LastPodEvent time.Time
}

func (n *Node) owned() bool { return n.NodePool != "" }

// reschedulable are the pods that must find a new home if the node goes: not daemonset
// pods (they go with it), not mirror pods, not finished ones.
func (n *Node) reschedulable() []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range n.Pods {
		if isDaemonSetPod(p) || isMirrorPod(p) || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		out = append(out, p)
	}
	return out
}

func isDaemonSetPod(p *corev1.Pod) bool { return ownedBy(p, "DaemonSet") }

// ownedBy reports whether the pod has an owner of that kind.
func ownedBy(p *corev1.Pod, kind string) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == kind {
			return true
		}
	}
	return false
}

func isMirrorPod(p *corev1.Pod) bool {
	_, ok := p.Annotations[corev1.MirrorPodAnnotationKey]
	return ok
}

// doNotDisrupt reports whether karpenter.sh/do-not-disrupt on the pod still protects it:
// "true", or a duration not yet elapsed since the pod started.
func doNotDisrupt(p *corev1.Pod, now time.Time) bool {
	v, ok := p.Annotations[v1.AnnotationDoNotDisrupt]
	if !ok {
		return false
	}
	if until, timed := doNotDisruptUntil(p); timed {
		return now.Before(until)
	}
	forever, _ := v1.DoNotDisrupt(v)
	return forever
}

func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }
