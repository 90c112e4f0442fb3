package worker

import (
	"fmt"
	"sync"
	"time"

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
	workflowGauges map[string]*workflowGauge
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
		workflowGauges:   map[string]*workflowGauge{},
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
		g := newWorkflowGauge(spec)
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

// workflowGaugeFresh is how long a workflow gauge is served after it was last set. The
// disruption controller sets its gauges every pass, and a pass waits at most for a
// replacement to be Ready (15 minutes) and its re-checks.
const workflowGaugeFresh = 30 * time.Minute

// workflowGauge is a gauge a workflow sets, served only while fresh. The controllers run on
// whichever replica takes their workflow task: once one has moved to another replica, the
// replica it left must not serve its last value for good beside the live one (a
// nodewright_disruption_paused stuck at 1 after the resume, for max() or sum() to see).
// Until first set it serves nothing.
type workflowGauge struct {
	desc *prometheus.Desc
	now  func() time.Time

	mu    sync.Mutex
	value float64
	at    time.Time // zero until set
}

func newWorkflowGauge(spec workflows.GaugeSpec) *workflowGauge {
	return &workflowGauge{desc: prometheus.NewDesc(spec.Name, spec.Help, nil, nil), now: time.Now}
}

// Update is the SDK's gauge interface.
func (g *workflowGauge) Update(v float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.value, g.at = v, g.now()
}

func (g *workflowGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *workflowGauge) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.at.IsZero() || g.now().Sub(g.at) > workflowGaugeFresh {
		return
	}
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, g.value)
}
