package worker

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the worker's own Prometheus series; workflow-level facts (nodes, phases) are in
// Temporal's visibility store and the node workflows' queries.
type metrics struct {
	registry          *prometheus.Registry
	podsSignalled     prometheus.Counter
	signalErrors      prometheus.Counter
	unschedulablePods prometheus.Gauge
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
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.podsSignalled, m.signalErrors, m.unschedulablePods,
	)
	return m
}
