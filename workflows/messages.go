package workflows

import "github.com/nodewright/nodewright/activities"

// TaskQueue is the queue the worker polls for every workflow and activity.
const TaskQueue = "nodewright"

// ProvisionerID is the workflow id of the singleton Provisioner.
const ProvisionerID = "provisioner"

// NodeWorkflowID is the workflow id of the NodeLifecycle workflow for a claim.
func NodeWorkflowID(claim string) string { return "node/" + claim }

// Signal and query names.
const (
	// SignalPendingPods (PendingPods) tells the Provisioner about pods waiting for a node.
	SignalPendingPods = "pending-pods"
	// SignalDrain (DrainRequest) asks a NodeLifecycle to drain and terminate its node.
	SignalDrain = "drain"
	// SignalClaimFailed (ClaimFailed) tells the Provisioner a claim will never become a node.
	SignalClaimFailed = "claim-failed"
	// SignalNodeReady (NodeReady) tells the Provisioner a claim's node is Ready.
	SignalNodeReady = "node-ready"
	// QueryState returns a workflow's state (ProvisionerState or NodeState).
	QueryState = "state"
)

// PodRef names a pod; the planner reads the pod itself.
type PodRef = activities.PodRef

// PendingPods is the payload of SignalPendingPods.
type PendingPods struct {
	Pods []PodRef `json:"pods"`
}

// DrainRequest is the payload of SignalDrain.
type DrainRequest struct {
	Reason string `json:"reason,omitempty"`
}

// ClaimFailed is the payload of SignalClaimFailed.
type ClaimFailed struct {
	Claim string `json:"claim"`
	// Pods are the pod keys the claim was for; the Provisioner plans them again.
	Pods   []string `json:"pods,omitempty"`
	Reason string   `json:"reason"`
	// Unavailable are offerings EC2 had no capacity for; the next plans avoid them for a while.
	Unavailable []activities.Offering `json:"unavailable,omitempty"`
}

// NodeReady is the payload of SignalNodeReady.
type NodeReady struct {
	Claim    string `json:"claim"`
	NodeName string `json:"nodeName"`
}
