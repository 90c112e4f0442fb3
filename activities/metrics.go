package activities

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/nodewright/nodewright/activities/interruption"
)

// Metrics are the Karpenter-named Prometheus series the activities update, with Karpenter's
// names, types, help and label names. Every method is safe on a nil *Metrics, which records
// nothing, so activities built without one (tests) need not set it.
type Metrics struct {
	cloudProviderDuration *prometheus.HistogramVec
	cloudProviderErrors   *prometheus.CounterVec
	schedulingDuration    *prometheus.HistogramVec
	// provisionerScheduling is the name Karpenter used before v1 (v0.33–v0.37).
	provisionerScheduling prometheus.Histogram
	eligibleNodes         *prometheus.GaugeVec
	messagesReceived      *prometheus.CounterVec
	messagesDeleted       prometheus.Counter
	messageLatency        prometheus.Histogram
	// garbageCollectedTotal has no Karpenter counterpart: Karpenter's garbage collection
	// only logs what it reclaims.
	garbageCollectedTotal *prometheus.CounterVec
}

// Karpenter's cloud provider method names, as its metrics decorator labels them.
const (
	MethodCreate           = "Create"
	MethodDelete           = "Delete"
	MethodGet              = "Get"
	MethodGetInstanceTypes = "GetInstanceTypes"
)

// Controller names, as Karpenter's controller label reads them.
const (
	ControllerProvisioner = "provisioner"
	ControllerDisruption  = "disruption"
	ControllerInterrupt   = "interruption"
	ControllerLifecycle   = "nodeclaim.lifecycle"
	ControllerGarbage     = "nodeclaim.garbagecollection"
)

// NewMetrics defines the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		cloudProviderDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "karpenter", Subsystem: "cloudprovider", Name: "duration_seconds",
			Help: "Duration of cloud provider method calls. Labeled by the controller, method name and provider.",
		}, []string{"controller", "method", "provider"}),
		cloudProviderErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "karpenter", Subsystem: "cloudprovider", Name: "errors_total",
			Help: "Total number of errors returned from CloudProvider calls.",
		}, []string{"controller", "method", "provider", "error"}),
		schedulingDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "karpenter", Subsystem: "scheduler", Name: "scheduling_duration_seconds",
			Help:    "Duration of scheduling simulations used for deprovisioning and provisioning in seconds.",
			Buckets: DurationBuckets(),
		}, []string{"controller"}),
		provisionerScheduling: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "karpenter", Subsystem: "provisioner", Name: "scheduling_duration_seconds",
			Help: "Duration of scheduling process in seconds.", Buckets: DurationBuckets(),
		}),
		eligibleNodes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "karpenter", Subsystem: "voluntary_disruption", Name: "eligible_nodes",
			Help: "Number of nodes eligible for disruption by Karpenter. Labeled by disruption reason.",
		}, []string{"reason"}),
		messagesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "karpenter", Subsystem: "interruption", Name: "received_messages_total",
			Help: "Count of messages received from the SQS queue. Broken down by message type and whether the message was actionable.",
		}, []string{"message_type"}),
		messagesDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "karpenter", Subsystem: "interruption", Name: "deleted_messages_total",
			Help: "Count of messages deleted from the SQS queue.",
		}),
		messageLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "karpenter", Subsystem: "interruption", Name: "message_queue_duration_seconds",
			Help:    "Amount of time an interruption message is on the queue before it is processed by karpenter.",
			Buckets: DurationBuckets(),
		}),
		garbageCollectedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "nodewright", Name: "garbage_collected_total",
			Help: "Instances and claims reclaimed because no running node workflow accounted for them. Labeled by kind (instance, claim).",
		}, []string{"kind"}),
	}
	for _, c := range []prometheus.Collector{
		m.cloudProviderDuration, m.cloudProviderErrors, m.schedulingDuration, m.provisionerScheduling,
		m.eligibleNodes, m.messagesReceived, m.messagesDeleted, m.messageLatency, m.garbageCollectedTotal,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// DurationBuckets are Karpenter's buckets for duration histograms.
func DurationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
		1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60, 120, 150, 300, 450, 600}
}

// cloudProviderCall records one EC2 call that began at start: its duration, and *err if it
// failed. Deferred with a pointer to the method's named error result.
func (m *Metrics) cloudProviderCall(ctx context.Context, method string, start time.Time, err *error) {
	if m == nil {
		return
	}
	controller := controllerOf(ctx)
	m.cloudProviderDuration.WithLabelValues(controller, method, "aws").Observe(time.Since(start).Seconds())
	if *err != nil {
		m.cloudProviderErrors.WithLabelValues(controller, method, "aws", cloudProviderErrorType(*err)).Inc()
	}
}

// controllerOf names the controller an activity works for, by its workflow; outside an
// activity it is the NodeClaim finalizer (the worker's deletion watch).
func controllerOf(ctx context.Context) string {
	if !activity.IsActivity(ctx) || activity.GetInfo(ctx).WorkflowType == nil {
		return ControllerLifecycle
	}
	return controllerFor(activity.GetInfo(ctx).WorkflowType.Name)
}

// controllerFor is Karpenter's controller name for the work of a workflow type.
func controllerFor(workflowType string) string {
	switch workflowType {
	case "ProvisionerWorkflow":
		return ControllerProvisioner
	case "DisruptionWorkflow":
		return ControllerDisruption
	case "InterruptionWorkflow":
		return ControllerInterrupt
	case "NodeLifecycleWorkflow":
		return ControllerLifecycle
	case "GarbageCollectorWorkflow":
		return ControllerGarbage
	}
	return strings.ToLower(workflowType)
}

// cloudProviderErrorType is Karpenter's error label: its well-known error types, else "".
func cloudProviderErrorType(err error) string {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return ""
	}
	switch appErr.Type() {
	case ErrTypeInsufficientCapacity:
		return "InsufficientCapacityError"
	case ErrTypeInstanceNotFound:
		return "NodeClaimNotFoundError"
	}
	return ""
}

// scheduled records one scheduling simulation for controller that began at start.
func (m *Metrics) scheduled(controller string, start time.Time) {
	if m == nil {
		return
	}
	took := time.Since(start).Seconds()
	m.schedulingDuration.WithLabelValues(controller).Observe(took)
	if controller == ControllerProvisioner {
		m.provisionerScheduling.Observe(took)
	}
}

// setEligible sets the nodes eligible for voluntary disruption, by Karpenter's lower-case
// reason (empty, drifted, underutilized).
func (m *Metrics) setEligible(byReason map[string]int) {
	if m == nil {
		return
	}
	for reason, n := range byReason {
		m.eligibleNodes.WithLabelValues(reason).Set(float64(n))
	}
}

// received counts a message read from the interruption queue by Karpenter's message type,
// and how long it waited there; messages that do not parse are not counted, as in Karpenter.
func (m *Metrics) received(msgType string, sentAt time.Time) {
	if m == nil || msgType == "" {
		return
	}
	m.messagesReceived.WithLabelValues(msgType).Inc()
	if !sentAt.IsZero() {
		m.messageLatency.Observe(max(time.Since(sentAt).Seconds(), 0))
	}
}

// deleted counts a message removed from the interruption queue.
func (m *Metrics) deleted() {
	if m == nil {
		return
	}
	m.messagesDeleted.Inc()
}

// garbageCollected counts one reclaimed object of a kind.
func (m *Metrics) garbageCollected(kind string) {
	if m == nil {
		return
	}
	m.garbageCollectedTotal.WithLabelValues(kind).Inc()
}

// messageType is Karpenter's message_type for a parsed interruption message.
func messageType(msg interruption.Message) string {
	switch msg.Kind {
	case interruption.SpotInterruption:
		return "spot_interrupted"
	case interruption.RebalanceRecommendation:
		return "rebalance_recommendation"
	case interruption.ScheduledChange:
		return "scheduled_change"
	case interruption.StateChange:
		if msg.State == "stopping" || msg.State == "stopped" {
			return "instance_stopped"
		}
		return "instance_terminated"
	}
	return "no_op"
}
