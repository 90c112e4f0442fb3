package v1

// Well-known label keys, annotations and taints, spelled as Karpenter spells them so that
// existing pod specs and NodePools keep working.
const (
	Group = "karpenter.sh"

	LabelNodePool     = "karpenter.sh/nodepool"
	LabelCapacityType = "karpenter.sh/capacity-type"
	LabelNodeClaim    = "karpenter.sh/nodeclaim"
	LabelRegistered   = "karpenter.sh/registered"
	LabelInitialized  = "karpenter.sh/initialized"

	LabelInstanceType = "node.kubernetes.io/instance-type"
	LabelZone         = "topology.kubernetes.io/zone"
	LabelRegion       = "topology.kubernetes.io/region"
	LabelArch         = "kubernetes.io/arch"
	LabelOS           = "kubernetes.io/os"
	LabelHostname     = "kubernetes.io/hostname"

	CapacityTypeOnDemand = "on-demand"
	CapacityTypeSpot     = "spot"
	CapacityTypeReserved = "reserved"

	AnnotationDoNotDisrupt = "karpenter.sh/do-not-disrupt"
	// AnnotationNodePoolHash records the NodePool template a node was launched from.
	AnnotationNodePoolHash = "karpenter.sh/nodepool-hash"

	// LabelZoneID names a node's zone as every account names it (use1-az1).
	LabelZoneID = "topology.k8s.aws/zone-id"

	TaintKeyDisrupted = "karpenter.sh/disrupted"
	// TaintKeyUnregistered is on a node from its first registration until the controller has
	// matched it to its NodeClaim and labelled it.
	TaintKeyUnregistered = "karpenter.sh/unregistered"
)
