package activities

import (
	corev1 "k8s.io/api/core/v1"
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
	// Labels and Taints are what the node must carry once registered.
	Labels map[string]string `json:"labels,omitempty"`
	Taints []corev1.Taint    `json:"taints,omitempty"`
	// PricePerHour is the planned price: the cheapest allowed offering of InstanceTypes[0].
	PricePerHour float64 `json:"pricePerHour"`
}

// PlanRequest asks the planner what capacity a batch of pending pods needs.
type PlanRequest struct {
	Pods []PodRef `json:"pods"`
	// Nominated maps pod keys to the in-flight claim already launching for them; the planner
	// leaves those pods out.
	Nominated map[string]string `json:"nominated,omitempty"`
	// Unavailable offerings recently failed with insufficient capacity; the planner treats
	// them as unavailable.
	Unavailable []Offering `json:"unavailable,omitempty"`
}

// PlanResult is the planner's answer. It goes into workflow history, so it holds names and
// keys, never pod specs.
type PlanResult struct {
	Claims []Claim `json:"claims,omitempty"`
	// OnExisting maps pod keys to the existing node they fit on; kube-scheduler will bind them.
	OnExisting map[string]string `json:"onExisting,omitempty"`
	// Unschedulable maps pod keys to the reason no node can take them.
	Unschedulable map[string]string `json:"unschedulable,omitempty"`
	// Skipped maps pod keys to why they were not planned (bound, deleted, nominated).
	Skipped map[string]string `json:"skipped,omitempty"`
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
}

// ProviderID is the AWS cloud provider's identity of the instance's Node.
func (i Instance) ProviderID() string { return ProviderID(i.Zone, i.ID) }

// ProviderID formats aws:///<zone>/<instance-id>.
func ProviderID(zone, instanceID string) string { return "aws:///" + zone + "/" + instanceID }

// InstanceTypeInfo is what EC2 reports about an instance type offered in the region.
type InstanceTypeInfo struct {
	Name          string   `json:"name"`
	VCPUs         int32    `json:"vcpus"`
	MemoryMiB     int64    `json:"memoryMiB"`
	Architectures []string `json:"architectures,omitempty"`
}

// SyncRequest lists what a registered Node must carry.
type SyncRequest struct {
	NodeName string            `json:"nodeName"`
	Labels   map[string]string `json:"labels"`
	Taints   []corev1.Taint    `json:"taints,omitempty"`
}

// DrainResult reports what a drain did.
type DrainResult struct {
	// Evicted are the pod keys evicted through the Eviction API.
	Evicted []string `json:"evicted,omitempty"`
	// Skipped are pod keys left on the node: mirror pods, DaemonSet pods and pods that
	// tolerate the disrupted taint.
	Skipped []string `json:"skipped,omitempty"`
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
