package activities

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/activities/market"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
)

// PodRef names a pending pod. The planner fetches the pod itself, so workflows never carry
// pod specs in their history.
type PodRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
}

// Key is the pod's namespace/name, the key the scheduler engine uses.
func (r PodRef) Key() string { return r.Namespace + "/" + r.Name }

// Offering names one (instance type, zone, capacity type) combination, used to tell the
// planner which offerings recently ran out of capacity.
type Offering struct {
	InstanceType string `json:"instanceType"`
	Zone         string `json:"zone"`
	CapacityType string `json:"capacityType"`
}

// Claim is one node to launch. The planner fills everything but Name, which the
// provisioner assigns.
type Claim struct {
	Name     string `json:"name,omitempty"`
	NodePool string `json:"nodePool"`
	// Pods are the pod keys (namespace/name) the claim was sized for.
	Pods []string `json:"pods"`
	// InstanceTypes are the allowed instance types, cheapest first.
	InstanceTypes []string `json:"instanceTypes"`
	Zones         []string `json:"zones"`
	CapacityTypes []string `json:"capacityTypes"`
	// Labels, Annotations and Taints are what the node must carry once registered;
	// StartupTaints are put on it at launch and removed by a daemon.
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	Taints        []corev1.Taint    `json:"taints,omitempty"`
	StartupTaints []corev1.Taint    `json:"startupTaints,omitempty"`
	// Requests are the summed requests of Pods.
	Requests corev1.ResourceList `json:"requests,omitempty"`
	// PricePerHour is the planned price: the cheapest allowed offering of InstanceTypes[0].
	PricePerHour float64 `json:"pricePerHour"`
	// MaxPricePerHour is the dearest allowed offering of InstanceTypes: what the claim is
	// charged against cost limits until its node registers.
	MaxPricePerHour float64 `json:"maxPricePerHour,omitempty"`
	// Capacity is the most any of InstanceTypes has in each resource: what the claim is
	// charged against its pool's limits until its node registers.
	Capacity corev1.ResourceList `json:"capacity,omitempty"`
	// Unavailable are offerings of these instance types known to have no capacity now; the
	// launch leaves them out.
	Unavailable []Offering `json:"unavailable,omitempty"`
	// PoolHash is the NodePool template's hash at planning time; the node carries it so that
	// a later template change shows as drift.
	PoolHash string `json:"poolHash,omitempty"`
	// NodePoolUID is the pool's UID when it came from the API server: the NodeClaim is owned
	// by the pool, so deleting the pool deletes its NodeClaims. Empty for --nodepools pools.
	NodePoolUID string `json:"nodePoolUID,omitempty"`
	// NodeClassRef is the pool's node class.
	NodeClassRef *apisv1.NodeClassReference `json:"nodeClassRef,omitempty"`
	// ExpireAfter is the NodePool's node lifetime; 0 means Never.
	ExpireAfter time.Duration `json:"expireAfter,omitempty"`
	// TerminationGracePeriod bounds a drain; past it remaining pods are deleted. 0 means wait
	// for PodDisruptionBudgets as long as it takes.
	TerminationGracePeriod time.Duration `json:"terminationGracePeriod,omitempty"`
}

// PlanRequest asks the planner what capacity the cluster's pending pods need. It names no
// pods: the planner lists the pods the kube-scheduler could not place itself, so the request
// stays small however many pods wait.
type PlanRequest struct {
	// Unavailable offerings recently failed with insufficient capacity; the planner treats
	// them as unavailable.
	Unavailable []Offering `json:"unavailable,omitempty"`
	// InFlight are the claims started whose node is not Ready yet: until their Node
	// registers they count against their pools' limits with the capacity they may launch.
	InFlight []InFlightClaim `json:"inFlight,omitempty"`
	// Holding are claims whose node just became Ready: their pods still pending are being
	// bound to it and are left out of the plan.
	Holding []string `json:"holding,omitempty"`
	// PackClaims asks for the result's claims packed by shape (see PlanResult.Packed): only a
	// Provisioner that reads them asks, so a worker of an older version, sharing the task
	// queue during an upgrade, never gets claims it cannot read.
	PackClaims bool `json:"packClaims,omitempty"`
}

// InFlightClaim is a started claim as the limits see it.
type InFlightClaim struct {
	Name     string              `json:"name"`
	NodePool string              `json:"nodePool"`
	Capacity corev1.ResourceList `json:"capacity,omitempty"`
	// MaxPricePerHour is charged against cost limits until the claim's node registers.
	MaxPricePerHour float64 `json:"maxPricePerHour,omitempty"`
	// Nominates is true while the pods the claim was planned for count as on their way to
	// it: the planner leaves them out rather than plan them a second node.
	Nominates bool `json:"nominates,omitempty"`
}

// PlanResult is the planner's answer. It goes into workflow history, so it holds names and
// keys, never pod specs, and stays under maxPlanResultBytes however many pods are pending:
// claims beyond that are left for the next call (More), and per-pod reasons are sampled.
type PlanResult struct {
	Claims []Claim `json:"claims,omitempty"`
	// Packed writes Claims in JSON each shape once (see planresult_json.go); it is not
	// itself encoded.
	Packed bool `json:"-"`
	// More is true when claims were left out to keep the result small: plan again at once,
	// and the claims just started will hold their pods.
	More bool `json:"more,omitempty"`
	// Pods counts the pending pods planned: those not bound, finished, deleted or nominated.
	Pods int `json:"pods,omitempty"`
	// OnExisting counts the pods that fit existing nodes; kube-scheduler will bind them.
	OnExisting int `json:"onExisting,omitempty"`
	// Nominated counts the pending pods left out because an in-flight claim holds them.
	Nominated int `json:"nominated,omitempty"`
	// Unschedulable maps pod keys to the reason no node can take them: the first
	// maxReasonsReported by key when there are more.
	Unschedulable map[string]string `json:"unschedulable,omitempty"`
	// UnschedulableCount counts every pod no node can take.
	UnschedulableCount int `json:"unschedulableCount,omitempty"`
	// Market says where the plan's instance types, offerings and prices came from: AWS, or
	// the embedded fallback and why.
	Market *market.Status `json:"market,omitempty"`
}

// LaunchRequest asks EC2 for one instance for a claim.
type LaunchRequest struct {
	// ClientToken makes CreateFleet idempotent; the workflow derives it from its id so that a
	// retried activity never launches a second instance.
	ClientToken string `json:"clientToken"`
	WorkflowID  string `json:"workflowId"`
	Claim       Claim  `json:"claim"`
}

// Instance is a launched EC2 instance.
type Instance struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Zone         string `json:"zone"`
	CapacityType string `json:"capacityType"`
	State        string `json:"state,omitempty"`
	// ZoneID names the zone the same way in every account (use1-az1), as the node's
	// topology.k8s.aws/zone-id label does.
	ZoneID string `json:"zoneID,omitempty"`
	// ImageID is the AMI the instance runs.
	ImageID string `json:"imageID,omitempty"`
	// PricePerHour is what the instance costs, by the market's figures when it launched; 0
	// when the market had none.
	PricePerHour float64 `json:"pricePerHour,omitempty"`
}

// ProviderID is the AWS cloud provider's identity of the instance's Node.
func (i Instance) ProviderID() string { return ProviderID(i.Zone, i.ID) }

// ProviderID formats aws:///<zone>/<instance-id>.
func ProviderID(zone, instanceID string) string { return "aws:///" + zone + "/" + instanceID }

// SyncRequest lists what a registered Node must carry.
type SyncRequest struct {
	NodeName string `json:"nodeName"`
	// InstanceType adds the type's well-known labels (karpenter.k8s.aws/instance-*), as
	// Karpenter labels its nodes, so that requirements on them can drift.
	InstanceType string            `json:"instanceType,omitempty"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Taints       []corev1.Taint    `json:"taints,omitempty"`
}

// DrainRequest asks for one node to be drained.
type DrainRequest struct {
	NodeName string `json:"nodeName"`
	// InstanceID is the instance the Node must stand for (its providerID): a drain refuses
	// another's Node. Empty (an older worker's request) drains the named Node unchecked.
	InstanceID string `json:"instanceId,omitempty"`
	// Deadline is when the NodePool's terminationGracePeriod runs out: pods still on the
	// node are deleted so that they are gone by then. Zero means none: PodDisruptionBudgets
	// are waited on for ever, and do-not-disrupt pods end the drain with Completed false.
	Deadline time.Time `json:"deadline,omitzero"`
	// Reason is recorded on the pods' eviction events.
	Reason string `json:"reason,omitempty"`
	// Forceful evicts pods annotated karpenter.sh/do-not-disrupt too (expiration,
	// interruption); PodDisruptionBudgets are still respected until the Deadline.
	Forceful bool `json:"forceful,omitempty"`
}

// DrainResult reports what a drain did. Keys are namespace/name.
type DrainResult struct {
	// Evicted pods went through the Eviction API.
	Evicted []string `json:"evicted,omitempty"`
	// Deleted pods were deleted because the deadline left no time to evict them.
	Deleted []string `json:"deleted,omitempty"`
	// Skipped pods stay on the node: mirror pods, finished pods, pods that tolerate the
	// disrupted taint and pods stuck terminating on an unresponsive kubelet.
	Skipped []string `json:"skipped,omitempty"`
	// Blocked says why a pod was not evicted voluntarily (BlockedByPDB,
	// BlockedByMultiplePDBs, BlockedByDoNotDisrupt, BlockedByEvictionError), for pods still
	// on the node or deleted at the deadline.
	Blocked map[string]string `json:"blocked,omitempty"`
	// Completed is false when pods that must not be disrupted keep the drain from finishing
	// and there is no deadline to delete them at; Blocked names them.
	Completed bool `json:"completed"`
	// VolumeAttachmentsWaited counts the VolumeAttachments the drain waited to see go.
	VolumeAttachmentsWaited int `json:"volumeAttachmentsWaited,omitempty"`
}

// Error types workflows match on (temporal.ApplicationError.Type()).
const (
	// ErrTypeInsufficientCapacity: EC2 had no capacity for any offered override. Not retryable;
	// the details carry the []Offering that failed.
	ErrTypeInsufficientCapacity = "InsufficientCapacity"
	// ErrTypeInvalidLaunch: the request can never succeed as built (e.g. a tag too long).
	ErrTypeInvalidLaunch = "InvalidLaunchRequest"
	// ErrTypeInstanceNotFound: EC2 does not know the instance.
	ErrTypeInstanceNotFound = "InstanceNotFound"
)
