package workflows

import (
	"time"

	"github.com/nodewright/nodewright/activities"
)

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
	// QueryWorkflowMetadata is the SDK's built-in query the Temporal UI reads a workflow's
	// current details with (a temporal.api.sdk.v1.WorkflowMetadata).
	QueryWorkflowMetadata = "__temporal_workflow_metadata"

	// Operator controls of a NodeLifecycle, named as Temporal users call them.
	// SignalCancelDrain withdraws a drain that has not begun.
	SignalCancelDrain = "cancelDrain"
	// UpdateRequestDrain (DrainRequest → DrainAccepted) is drain with an answer: its
	// validator rejects, with the reason, a node already terminating.
	UpdateRequestDrain = "requestDrain"
	// UpdateExtendExpiry (ExtendExpiry → ExpiryExtended) pushes the node's expiry back.
	UpdateExtendExpiry = "extendExpiry"
	// SignalDisrupt (Disrupt) is the disruption controller's decision to remove the node.
	SignalDisrupt = "disrupt"
	// SignalInterrupt (Interrupt) reports an EC2 interruption of the node's instance.
	SignalInterrupt = "interrupt"
	// SignalOfferingUnavailable (OfferingUnavailable) tells the Provisioner to avoid an
	// offering for a while, as after a spot interruption.
	SignalOfferingUnavailable = "offering-unavailable"
	// SignalClaimStarted (ClaimStarted) tells the Provisioner about a claim another workflow
	// started (a disruption's replacement): it counts against its pool's limits until its
	// node is Ready.
	SignalClaimStarted = "claim-started"
	// SignalResyncNodeClaim (no payload) asks a NodeLifecycle to write its NodeClaim again,
	// after it was deleted from under a live node.
	SignalResyncNodeClaim = "resyncNodeClaim"

	// Operator controls of the disruption controller: the kill switch.
	// SignalPauseDisruption (PauseDisruption) stops consolidation and drift until resumed;
	// expiration and interruptions, being forceful, go on.
	SignalPauseDisruption = "pause"
	// SignalResumeDisruption (ResumeDisruption) lets voluntary disruption go again.
	SignalResumeDisruption = "resume"

	// UpdateSimulate (SimulateRequest → activities.Simulation) asks the Provisioner for the
	// plan it would make now for the cluster's pending pods, with its in-flight claims and
	// avoided offerings, at the worker's live prices. Nothing is launched.
	UpdateSimulate = "simulate"
)

// SimulateRequest is the payload of UpdateSimulate; it asks nothing yet beyond the plan of
// the pods pending now.
type SimulateRequest struct{}

// PauseDisruption is the payload of SignalPauseDisruption. Both fields are free text from
// whoever can signal the controller: it keeps them cut to a bounded length.
type PauseDisruption struct {
	Reason string `json:"reason,omitempty"`
	// By is who paused, as the sender names itself.
	By string `json:"by,omitempty"`
}

// ResumeDisruption is the payload of SignalResumeDisruption.
type ResumeDisruption struct {
	By string `json:"by,omitempty"`
}

// ClaimStarted is the payload of SignalClaimStarted.
type ClaimStarted = activities.InFlightClaim

// OfferingUnavailable is the payload of SignalOfferingUnavailable.
type OfferingUnavailable struct {
	activities.Offering
	Reason string `json:"reason,omitempty"`
}

// PodRef names a pod; the planner reads the pod itself.
type PodRef = activities.PodRef

// PendingPods is the payload of SignalPendingPods. It counts the pods rather than naming
// them, so that it stays small however many wait: the planner lists them from the cluster.
type PendingPods struct {
	Count int `json:"count,omitempty"`
	// Pods named the pods in signals sent before Count; each counts as one.
	Pods []PodRef `json:"pods,omitempty"`
	// Batch is the sending worker's batching window (BATCH_IDLE_DURATION,
	// BATCH_MAX_DURATION); the Provisioner keeps the last valid one.
	Batch *BatchWindow `json:"batch,omitempty"`
}

// DrainRequest is the payload of SignalDrain and UpdateRequestDrain.
type DrainRequest struct {
	Reason string `json:"reason,omitempty"`
	// GracePeriod delays the start of the drain; until then cancelDrain withdraws it.
	// JSON takes a duration string such as "30s" or "5m".
	GracePeriod Duration `json:"gracePeriod,omitempty"`
}

// DrainAccepted answers UpdateRequestDrain.
type DrainAccepted struct {
	Phase    Phase     `json:"phase"`
	StartsAt time.Time `json:"startsAt"`
}

// ExtendExpiry is the payload of UpdateExtendExpiry.
type ExtendExpiry struct {
	By Duration `json:"by"`
}

// ExpiryExtended answers UpdateExtendExpiry.
type ExpiryExtended struct {
	ExpiresAt time.Time `json:"expiresAt"`
}

// Disrupt is the payload of SignalDisrupt.
type Disrupt struct {
	// Reason is Karpenter's disruption reason: Empty, Underutilized or Drifted.
	Reason     string `json:"reason"`
	DecisionID string `json:"decisionID"`
	// Savings is the decision's saving in $/hour, for the record.
	Savings float64 `json:"savings,omitempty"`
	// Replacement names the claim launched to take this node's pods, if any.
	Replacement string `json:"replacement,omitempty"`
}

// Interrupt is the payload of SignalInterrupt.
type Interrupt struct {
	// Kind is the interruption: SpotInterruption, ScheduledChange, StateChange.
	Kind      string    `json:"kind"`
	EventTime time.Time `json:"eventTime"`
	// Deadline is when the instance goes away; the drain must finish before it.
	Deadline time.Time `json:"deadline"`
	// State is the instance state a StateChange reports (stopping, shutting-down, ...).
	State string `json:"state,omitempty"`
	// InstanceID, when set, is the instance the interruption is about: a workflow whose
	// instance is another (reset to launch again) ignores it.
	InstanceID string `json:"instanceId,omitempty"`
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
