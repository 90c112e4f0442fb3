package schedulerengine

import (
	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Offering is one way to buy an instance type: a zone and a capacity type at a price.
type Offering struct {
	Zone         string
	CapacityType string // v1.CapacityTypeOnDemand or v1.CapacityTypeSpot
	PricePerHour float64
	Available    bool
}

// InstanceType is a purchasable machine shape as the scheduler sees it.
type InstanceType struct {
	Name string
	// Labels are the node labels every node of this type carries (instance-type, arch, os,
	// karpenter.k8s.aws/instance-*). Zone and capacity type vary per offering and are not here.
	Labels map[string]string
	// Capacity is what the machine has; Allocatable what pods may request after system and
	// kube reservations and the eviction threshold. Both include "pods".
	Capacity    corev1.ResourceList
	Allocatable corev1.ResourceList
	Offerings   []Offering
}

// ExistingNode is a node that already runs (or is being launched) with room left.
type ExistingNode struct {
	Name   string
	Labels map[string]string
	Taints []corev1.Taint
	// Available is allocatable minus the requests of pods already bound to it.
	Available corev1.ResourceList
	// InFlight is true for nodes launched but not yet Ready.
	InFlight bool
	// Capacity is the node's total capacity, counted against its NodePool's limits (the
	// karpenter.sh/nodepool label). Optional: when empty, the capacity of the instance type
	// named by its node.kubernetes.io/instance-type label is used.
	Capacity corev1.ResourceList
	// PricePerHour is what the node costs, charged to cost limits. Optional: when 0, the
	// price of the offering its instance-type, zone and capacity-type labels name is used
	// (the dearest of the type's offerings the labels allow, when some are missing; of all
	// the type's, when the catalog prices none of those). A node the catalog cannot price
	// at all stops every cost limit it is charged to: nothing new is launched under it.
	PricePerHour float64
	// Pods are the pods bound to the node. Their requests are already out of Available;
	// they are here for what they mean to others: topology spread and pod (anti-)affinity
	// counts, their required anti-affinity, and the host ports they hold.
	Pods []*corev1.Pod
}

// Input is everything Solve needs; it is never mutated.
type Input struct {
	Pods          []*corev1.Pod
	NodePools     []v1.NodePool
	InstanceTypes []InstanceType
	ExistingNodes []ExistingNode
	// DaemonSetPods are the pod templates of the cluster's daemonsets. Each new node is
	// sized for the ones that would run on it: those tolerating its NodePool's taints whose
	// node selector and required node affinity its labels could satisfy.
	DaemonSetPods []*corev1.Pod
	// NamespaceLabels gives each namespace's labels, for pod (anti-)affinity terms with a
	// namespaceSelector. A namespace missing here has no labels.
	NamespaceLabels map[string]map[string]string
	// Volumes limits pods with persistent volumes to where their volumes are or may be
	// provisioned; nil ignores volume topology.
	Volumes *Volumes
	// Committed is capacity the NodePools hold that takes no new pods; it counts against
	// their limits and nothing else.
	Committed []CommittedCapacity
	// PoolAllocatable is, by NodePool name and then instance type name, the allocatable of a
	// new node of that type in that pool, where the pool's node class sizes it otherwise than
	// the type's Allocatable (kubelet settings, root volume). Pools and types it does not
	// name keep the type's Allocatable.
	PoolAllocatable map[string]map[string]corev1.ResourceList
	// ClusterLimits caps what all NodePools hold together; the zero value caps nothing.
	ClusterLimits ClusterLimits
}

// ClusterLimits caps the nodes of every NodePool together, counting the existing nodes that
// carry a karpenter.sh/nodepool label (of any pool, in the input or not), the committed
// capacity and the new claims, as spec.limits caps one pool.
type ClusterLimits struct {
	// Resources caps summed capacity per resource; the key "nodes" caps the node count.
	Resources corev1.ResourceList
	// MaxHourlyCost caps the summed hourly price in dollars; nil caps nothing. A new claim
	// is charged its dearest allowed offering's price, since EC2 Fleet may launch any of
	// them, so the cap holds whichever it picks.
	MaxHourlyCost *float64
}

// IsZero reports whether the limits cap nothing.
func (l ClusterLimits) IsZero() bool { return len(l.Resources) == 0 && l.MaxHourlyCost == nil }

// CommittedCapacity is one node's worth of a NodePool's capacity that new pods cannot use:
// a node still registering, draining or cordoned, or a claim launched or planned whose node
// has not registered yet. Counting it keeps two batches from each taking the pool's
// remaining room.
type CommittedCapacity struct {
	NodePool string
	Capacity corev1.ResourceList
	// PricePerHour is charged to cost limits. Optional: when 0, the price Labels name is
	// used, as for an ExistingNode; a claim (no Labels) is charged the dearest offering of
	// its pool's types, and stops the cost limits when its pool is not in the input.
	PricePerHour float64
	// Labels are the node's, when the capacity is a node; nil for a claim.
	Labels map[string]string
}

// Plan is Solve's answer.
type Plan struct {
	// Existing maps pod keys (namespace/name) to the existing node they fit on.
	Existing map[string]string
	// NewNodes are the nodes to launch, cheapest option first in each.
	NewNodes []NodeClaim
	// Unschedulable maps pod keys to a reason a person understands.
	Unschedulable map[string]string
	// Order lists the placed pods (on existing and new nodes) in the order Solve placed
	// them. Each placement was checked against the pods placed before it, so binding them
	// in this order passes the kube-scheduler's filters; another order may not (a pod
	// without constraints bound early can tip another's topology spread).
	Order []string
	// Cost is the summed PricePerHour of NewNodes.
	Cost float64
	// CostLowerBound is LowerBound of the pods on NewNodes over the instance types the
	// NodePools allow: no plan for those pods can cost less, so Cost/CostLowerBound says how
	// far from optimal this one can be at most.
	CostLowerBound float64
}

// NodeClaim is one node to launch.
type NodeClaim struct {
	NodePool string
	// Pods are the pod keys (namespace/name) the claim was sized for.
	Pods []string
	// InstanceTypes are the instance type names that fit all Pods, cheapest first, at most
	// MaxInstanceTypes of them.
	InstanceTypes []string
	// Zones and CapacityTypes are the allowed offerings' zones and capacity types, sorted.
	Zones         []string
	CapacityTypes []string
	// Labels and Taints are what the node must carry: the pool's template labels and taints
	// plus labels the pods' requirements pinned (for example a zone).
	Labels map[string]string
	Taints []corev1.Taint
	// PricePerHour is the price of the cheapest allowed offering of InstanceTypes[0].
	PricePerHour float64
	// MaxPricePerHour is the price of the dearest allowed offering of any of InstanceTypes:
	// what the claim is charged against cost limits until its node is known, since EC2
	// Fleet may launch any of them.
	MaxPricePerHour float64
	// Requests is the sum of the Pods' requests.
	Requests corev1.ResourceList
}

// MaxInstanceTypes is how many instance types a claim keeps for launch, as EC2 Fleet takes.
const MaxInstanceTypes = 60
