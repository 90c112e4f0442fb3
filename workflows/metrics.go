package workflows

import (
	"strings"
	"unicode"

	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities/interruption"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// The lifecycle counters workflows emit, with Karpenter's names and label names, so that
// Karpenter's dashboards and alerts read them unchanged. Workflows emit them only through
// the SDK's replay-aware metrics handler (count), which drops them while a history replays
// and adds no command; the worker's handler turns them into Prometheus counters.
const (
	MetricNodeClaimsCreated    = "karpenter_nodeclaims_created_total"
	MetricNodeClaimsTerminated = "karpenter_nodeclaims_terminated_total"
	MetricNodeClaimsDisrupted  = "karpenter_nodeclaims_disrupted_total"
	MetricNodesCreated         = "karpenter_nodes_created_total"
	MetricNodesTerminated      = "karpenter_nodes_terminated_total"
	MetricDisruptionDecisions  = "karpenter_voluntary_disruption_decisions_total"
)

// The kill switch's gauges, which the disruption controller sets every pass through the same
// replay-aware handler.
const (
	MetricDisruptionPaused      = "nodewright_disruption_paused"
	MetricDisruptionPausedSince = "nodewright_disruption_paused_since_timestamp_seconds"
)

// GaugeSpec is one gauge workflows set, without labels.
type GaugeSpec struct {
	Name string
	Help string
}

// Gauges lists the gauges workflows set, for the worker to register.
func Gauges() []GaugeSpec {
	return []GaugeSpec{
		{MetricDisruptionPaused, "1 while an operator has paused voluntary disruption (consolidation and drift), 0 otherwise."},
		{MetricDisruptionPausedSince, "When voluntary disruption was paused, in seconds since the epoch; 0 while it is not."},
	}
}

// Karpenter's label names.
const (
	LabelNodePool            = "nodepool"
	LabelReason              = "reason"
	LabelCapacityType        = "capacity_type"
	LabelZone                = "zone"
	LabelMinValuesRelaxed    = "min_values_relaxed"
	LabelConsolidationPolicy = "consolidation_policy"
	LabelTerminationMode     = "termination_mode"
	LabelDecision            = "decision"
	LabelConsolidationType   = "consolidation_type"
)

// CounterSpec is one counter workflows emit: its name, help and every label it carries. A
// label a workflow leaves out is exported empty; tags that are not labels (the SDK's
// namespace, task_queue, workflow_type) are dropped.
type CounterSpec struct {
	Name   string
	Help   string
	Labels []string
}

// Counters lists the counters workflows emit, with Karpenter's help text, for the worker to
// register.
func Counters() []CounterSpec {
	return []CounterSpec{
		{MetricNodeClaimsCreated, "Number of nodeclaims created in total by Karpenter. Labeled by reason the nodeclaim was created, the owning nodepool, and if min values was relaxed for this nodeclaim.",
			[]string{LabelReason, LabelNodePool, LabelMinValuesRelaxed}},
		{MetricNodeClaimsTerminated, "Number of nodeclaims terminated in total by Karpenter. Labeled by the owning nodepool, capacity type, and zone.",
			[]string{LabelNodePool, LabelCapacityType, LabelZone}},
		{MetricNodeClaimsDisrupted, "Number of nodeclaims disrupted in total by Karpenter. Labeled by reason the nodeclaim was disrupted, the owning nodepool, the capacity type, the consolidation policy, and the termination mode.",
			[]string{LabelReason, LabelNodePool, LabelCapacityType, LabelConsolidationPolicy, LabelTerminationMode}},
		{MetricNodesCreated, "Number of nodes created in total by Karpenter. Labeled by owning nodepool and zone.",
			[]string{LabelNodePool, LabelZone}},
		{MetricNodesTerminated, "Number of nodes terminated in total by Karpenter. Labeled by owning nodepool and zone.",
			[]string{LabelNodePool, LabelZone}},
		{MetricDisruptionDecisions, "Number of disruption decisions performed. Labeled by disruption decision, reason, and consolidation type.",
			[]string{LabelDecision, LabelReason, LabelConsolidationType}},
	}
}

// count adds one to a counter through the SDK's replay-aware handler.
func count(ctx workflow.Context, name string, labels map[string]string) {
	workflow.GetMetricsHandler(ctx).WithTags(labels).Counter(name).Inc(1)
}

// reasonProvisioned is Karpenter's creation reason for a claim the provisioner planned.
const reasonProvisioned = "provisioned"

// countNodeClaimCreated: the claim's instance was launched.
func (n *nodeLifecycle) countNodeClaimCreated(ctx workflow.Context) {
	reason := reasonProvisioned
	if n.creationReason != "" {
		reason = metricReason(n.creationReason)
	}
	count(ctx, MetricNodeClaimsCreated, map[string]string{
		LabelReason: reason, LabelNodePool: n.state.NodePool, LabelMinValuesRelaxed: "false",
	})
}

// countNodeCreated: the claim's Node registered.
func (n *nodeLifecycle) countNodeCreated(ctx workflow.Context) {
	count(ctx, MetricNodesCreated, map[string]string{LabelNodePool: n.state.NodePool, LabelZone: n.state.Zone})
}

// countNodeTerminated: the claim's Node was deleted.
func (n *nodeLifecycle) countNodeTerminated(ctx workflow.Context) {
	count(ctx, MetricNodesTerminated, map[string]string{LabelNodePool: n.state.NodePool, LabelZone: n.state.Zone})
}

// countNodeClaimTerminated: the claim's instance is gone and its NodeClaim released. A claim
// that never launched was never counted as created, so it is not counted here either.
func (n *nodeLifecycle) countNodeClaimTerminated(ctx workflow.Context) {
	if n.state.InstanceID == "" {
		return
	}
	count(ctx, MetricNodeClaimsTerminated, map[string]string{
		LabelNodePool: n.state.NodePool, LabelCapacityType: n.state.CapacityType, LabelZone: n.state.Zone,
	})
}

// countDisrupted: the node's drain begins for a disruption Karpenter would count, that is
// any but a person's (a manual drain, a deleted NodeClaim, a cancelled workflow).
func (n *nodeLifecycle) countDisrupted(ctx workflow.Context) {
	d := n.state.Disruption
	if d == nil || d.Source == SourceManual {
		return
	}
	mode := "graceful"
	if n.claim.TerminationGracePeriod > 0 {
		mode = "eventual"
	}
	count(ctx, MetricNodeClaimsDisrupted, map[string]string{
		LabelReason: metricReason(d.Reason), LabelNodePool: n.state.NodePool, LabelCapacityType: n.state.CapacityType,
		// The node's workflow does not know its pool's consolidation policy.
		LabelConsolidationPolicy: "", LabelTerminationMode: mode,
	})
}

// countDecision: the disruption controller carried out a decision.
func countDecision(ctx workflow.Context, cmd disruption.Command, replaced bool) {
	decision := "delete"
	if replaced {
		decision = "replace"
	}
	count(ctx, MetricDisruptionDecisions, map[string]string{
		LabelDecision: decision, LabelReason: strings.ToLower(cmd.Reason), LabelConsolidationType: consolidationType(cmd.Method),
	})
}

// consolidationType is Karpenter's consolidation_type label for a disruption method.
func consolidationType(method string) string {
	switch method {
	case disruption.MethodEmptiness:
		return "empty"
	case disruption.MethodMultiNodeConsolidation:
		return "multi"
	case disruption.MethodSingleNodeConsolidation:
		return "single"
	}
	return "" // drift
}

// metricReason writes a disruption reason as Karpenter's reason labels do: Underutilized is
// underutilized, ScheduledChange scheduled_change, and a spot interruption spot_interrupted.
func metricReason(reason string) string {
	if reason == string(interruption.SpotInterruption) {
		return "spot_interrupted"
	}
	var b strings.Builder
	for i, r := range reason {
		switch {
		case r == ' ' || r == '-':
			b.WriteByte('_')
		case unicode.IsUpper(r):
			if i > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
