package worker

import (
	"io"
	"log/slog"
	"maps"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	contribtally "go.temporal.io/sdk/contrib/tally"
)

// sdkReportEvery is how often tally hands the SDK's metrics to the Prometheus registry.
const sdkReportEvery = time.Second

// newSDKMetricsHandler is the Temporal client's metrics handler (client.Options.
// MetricsHandler), serving both kinds of series on the worker's registry:
//   - the SDK's own (temporal_request_total, temporal_workflow_task_schedule_to_start_latency_seconds,
//     temporal_sticky_cache_size, ...) through the SDK's tally contrib and tally's Prometheus
//     reporter, named the Prometheus way (counters end _total, timers are _seconds histograms);
//   - the Karpenter counters workflows emit (workflows.Counters), straight to the registry's
//     counters with exactly Karpenter's label names: the SDK's tags (namespace, task_queue,
//     workflow_type, ...) are dropped from them, and label values are kept as they are
//     (tally's Prometheus sanitizing would turn us-east-1a into us_east_1a);
//   - the gauges workflows set (workflows.Gauges), without labels, likewise.
//
// Close the returned closer when the client is closed; it flushes tally's last report.
func newSDKMetricsHandler(m *metrics, log *slog.Logger) (client.MetricsHandler, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       m.registry,
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError: func(err error) {
			log.Warn("Temporal SDK metric not registered", "err", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &contribtally.PrometheusSanitizeOptions,
		// No tally_internal_* series: the endpoint carries only what the README lists.
		OmitCardinalityMetrics: true,
	}, sdkReportEvery)
	sdk := contribtally.NewMetricsHandler(contribtally.NewPrometheusNamingScope(scope))
	h := routingHandler{sdk: sdk, counters: m.workflowCounters, gauges: m.workflowGauges, labelNames: map[string]bool{}}
	for _, c := range m.workflowCounters {
		for _, l := range c.labels {
			h.labelNames[l] = true
		}
	}
	return h, closer
}

// routingHandler sends the workflow counters it knows to their Prometheus counters and
// everything else to the SDK's handler. It remembers the tags given to it that are labels
// of those counters.
type routingHandler struct {
	sdk        client.MetricsHandler
	counters   map[string]workflowCounter
	gauges     map[string]*workflowGauge
	labelNames map[string]bool
	labels     map[string]string
}

var _ client.MetricsHandler = routingHandler{}

func (h routingHandler) WithTags(tags map[string]string) client.MetricsHandler {
	next := h
	next.sdk = h.sdk.WithTags(tags)
	copied := false
	for k, v := range tags {
		if !h.labelNames[k] {
			continue
		}
		if !copied {
			next.labels = make(map[string]string, len(h.labels)+len(tags))
			maps.Copy(next.labels, h.labels)
			copied = true
		}
		next.labels[k] = v
	}
	return next
}

func (h routingHandler) Counter(name string) client.MetricsCounter {
	c, ok := h.counters[name]
	if !ok {
		return h.sdk.Counter(name)
	}
	values := make([]string, len(c.labels))
	for i, l := range c.labels {
		values[i] = h.labels[l] // a label the workflow left out is empty
	}
	return promCounter{c.vec.WithLabelValues(values...)}
}

func (h routingHandler) Gauge(name string) client.MetricsGauge {
	if g, ok := h.gauges[name]; ok {
		return g
	}
	return h.sdk.Gauge(name)
}

func (h routingHandler) Timer(name string) client.MetricsTimer { return h.sdk.Timer(name) }

// promCounter is a Prometheus counter as the SDK's counter interface.
type promCounter struct{ c prometheus.Counter }

func (p promCounter) Inc(d int64) { p.c.Add(float64(d)) }
