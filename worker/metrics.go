package worker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/workflows"
)

// metrics are every series /metrics serves, on one registry:
//   - the worker's own nodewright_provisioner_* series;
//   - Karpenter's names, so that its dashboards and alerts carry over: the lifecycle
//     counters workflows emit (workflowCounters, fed by the Temporal client's handler, see
//     sdkmetrics.go), the series activities update (activities), and the cluster's current
//     state computed at scrape time (collectors.go);
//   - the Temporal SDK's own temporal_* series, through the same handler.
type metrics struct {
	registry          *prometheus.Registry
	podsSignalled     prometheus.Counter
	signalErrors      prometheus.Counter
	unschedulablePods prometheus.Gauge
	// activities are the EC2, scheduling, disruption and interruption series.
	activities *activities.Metrics
	// workflowCounters are the counters of workflows.Counters, by name.
	workflowCounters map[string]workflowCounter
	// workflowGauges are the gauges of workflows.Gauges, by name.
	workflowGauges map[string]prometheus.Gauge
}

// workflowCounter is one counter workflows emit, with its label names in order.
type workflowCounter struct {
	vec    *prometheus.CounterVec
	labels []string
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		podsSignalled: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "nodewright", Subsystem: "provisioner", Name: "pods_signalled_total",
			Help: "Unschedulable pods reported to the Provisioner workflow.",
		}),
		signalErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "nodewright", Subsystem: "provisioner", Name: "signal_errors_total",
			Help: "Failed attempts to signal the Provisioner workflow.",
		}),
		unschedulablePods: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "nodewright", Subsystem: "provisioner", Name: "unschedulable_pods",
			Help: "Pods the kube-scheduler currently reports Unschedulable.",
		}),
		workflowCounters: map[string]workflowCounter{},
		workflowGauges:   map[string]prometheus.Gauge{},
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.podsSignalled, m.signalErrors, m.unschedulablePods,
	)
	for _, spec := range workflows.Counters() {
		c := workflowCounter{vec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: spec.Name, Help: spec.Help}, spec.Labels), labels: spec.Labels}
		m.registry.MustRegister(c.vec)
		m.workflowCounters[spec.Name] = c
	}
	for _, spec := range workflows.Gauges() {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: spec.Name, Help: spec.Help})
		m.registry.MustRegister(g)
		m.workflowGauges[spec.Name] = g
	}
	acts, err := activities.NewMetrics(m.registry)
	if err != nil {
		panic(fmt.Sprintf("register activity metrics: %v", err)) // as MustRegister: names clash only by mistake
	}
	m.activities = acts
	return m
}
