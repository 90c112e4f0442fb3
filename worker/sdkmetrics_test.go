package worker

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/nodewright/nodewright/workflows"
)

// scrapeMux reads /metrics as Prometheus would.
func scrapeMux(t *testing.T, m *metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	metricsMux(m, false).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// sdkTags are the tags the SDK puts on a workflow's metrics handler.
func sdkTags() map[string]string {
	return map[string]string{
		"namespace": "default", "client_name": "temporal_go", "worker_type": "WorkflowWorker",
		"workflow_type": "NodeLifecycleWorkflow", "activity_type": "none", "task_queue": "nodewright",
	}
}

func TestSDKHandlerServesKarpenterCountersAndTheSDKsOwnSeries(t *testing.T) {
	tests := []struct {
		name string
		// emit uses the handler as the SDK and the workflows would.
		emit     func(h client.MetricsHandler)
		want     []string
		unwanted []string
	}{
		{
			name: "a workflow counter carries Karpenter's labels only, its values as they are",
			emit: func(h client.MetricsHandler) {
				h.WithTags(sdkTags()).WithTags(map[string]string{workflows.LabelNodePool: "default", workflows.LabelZone: "us-east-1a"}).
					Counter(workflows.MetricNodesCreated).Inc(1)
			},
			want:     []string{`karpenter_nodes_created_total{nodepool="default",zone="us-east-1a"} 1`},
			unwanted: []string{`karpenter_nodes_created_total{activity_type`, `karpenter_nodes_created_total{namespace`},
		},
		{
			name: "a label a workflow leaves out is empty, and increments add up",
			emit: func(h client.MetricsHandler) {
				c := h.WithTags(map[string]string{workflows.LabelReason: "provisioned", workflows.LabelNodePool: "a"}).Counter(workflows.MetricNodeClaimsCreated)
				c.Inc(1)
				c.Inc(2)
			},
			want: []string{`karpenter_nodeclaims_created_total{min_values_relaxed="",nodepool="a",reason="provisioned"} 3`},
		},
		{
			name: "tags given later override earlier ones without changing the handler they came from",
			emit: func(h client.MetricsHandler) {
				a := h.WithTags(map[string]string{workflows.LabelNodePool: "a", workflows.LabelZone: "z1"})
				a.WithTags(map[string]string{workflows.LabelZone: "z2"}).Counter(workflows.MetricNodesTerminated).Inc(1)
				a.Counter(workflows.MetricNodesTerminated).Inc(1)
			},
			want: []string{
				`karpenter_nodes_terminated_total{nodepool="a",zone="z1"} 1`,
				`karpenter_nodes_terminated_total{nodepool="a",zone="z2"} 1`,
			},
		},
		{
			name: "a workflow gauge keeps its last value and drops the SDK's tags",
			emit: func(h client.MetricsHandler) {
				g := h.WithTags(sdkTags()).Gauge(workflows.MetricDisruptionPausedSince)
				g.Update(1.8e9)
				g.Update(1.9e9)
				h.Gauge(workflows.MetricDisruptionPaused).Update(1)
			},
			want:     []string{`nodewright_disruption_paused_since_timestamp_seconds 1.9e+09`, `nodewright_disruption_paused 1`},
			unwanted: []string{`nodewright_disruption_paused_since_timestamp_seconds{`, `nodewright_disruption_paused{`},
		},
		{
			name: "the SDK's counters end in _total once, its timers are _seconds histograms, its gauges keep their names",
			emit: func(h client.MetricsHandler) {
				s := h.WithTags(sdkTags())
				s.Counter("temporal_request").Inc(2)
				s.Counter("temporal_workflow_completed_total").Inc(1)
				s.Timer("temporal_workflow_task_schedule_to_start_latency").Record(30 * time.Millisecond)
				s.Gauge("temporal_sticky_cache_size").Update(4)
			},
			want: []string{
				`temporal_request_total{activity_type="none",client_name="temporal_go",namespace="default",task_queue="nodewright",worker_type="WorkflowWorker",workflow_type="NodeLifecycleWorkflow"} 2`,
				`temporal_workflow_completed_total{activity_type="none",client_name="temporal_go",namespace="default",task_queue="nodewright",worker_type="WorkflowWorker",workflow_type="NodeLifecycleWorkflow"} 1`,
				`temporal_workflow_task_schedule_to_start_latency_seconds_count{activity_type="none",client_name="temporal_go",namespace="default",task_queue="nodewright",worker_type="WorkflowWorker",workflow_type="NodeLifecycleWorkflow"} 1`,
				`temporal_sticky_cache_size{activity_type="none",client_name="temporal_go",namespace="default",task_queue="nodewright",worker_type="WorkflowWorker",workflow_type="NodeLifecycleWorkflow"} 4`,
			},
			unwanted: []string{"temporal_workflow_completed_total_total", "tally_internal"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetrics()
			h, closer := newSDKMetricsHandler(m, slog.New(slog.DiscardHandler))
			tt.emit(h)
			if err := closer.Close(); err != nil { // flushes tally's report
				t.Fatal(err)
			}
			assertLines(t, scrapeMux(t, m), tt.want, tt.unwanted)
		})
	}
}

// assertLines checks that every wanted line is served and that no line starts with an
// unwanted prefix.
func assertLines(t *testing.T, body string, want, unwanted []string) {
	t.Helper()
	lines := strings.Split(body, "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || l == w
		}
		if !found {
			t.Errorf("no series %s in:\n%s", w, relevant(body))
		}
	}
	for _, u := range unwanted {
		for _, l := range lines {
			if strings.HasPrefix(l, u) {
				t.Errorf("unwanted series %s", l)
			}
		}
	}
}

// relevant is the body without comments, runtime series and histogram buckets.
func relevant(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "go_") || strings.HasPrefix(l, "process_") || strings.Contains(l, "_bucket{") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// TestWorkflowGaugeGoesStaleOnAReplicaTheWorkflowLeft: a replica that no longer runs the
// disruption controller stops serving its last pause gauge, so that after a resume set on the
// replica it moved to, no replica still says paused.
func TestWorkflowGaugeGoesStaleOnAReplicaTheWorkflowLeft(t *testing.T) {
	m := newMetrics()
	now := time.Unix(1_900_000_000, 0)
	g := m.workflowGauges[workflows.MetricDisruptionPaused]
	g.now = func() time.Time { return now }
	const series = workflows.MetricDisruptionPaused + " "

	assertLines(t, scrapeMux(t, m), nil, []string{series})
	g.Update(1)
	assertLines(t, scrapeMux(t, m), []string{series + "1"}, nil)
	now = now.Add(workflowGaugeFresh)
	assertLines(t, scrapeMux(t, m), []string{series + "1"}, nil)
	now = now.Add(time.Second)
	assertLines(t, scrapeMux(t, m), nil, []string{series})
	g.Update(0)
	assertLines(t, scrapeMux(t, m), []string{series + "0"}, nil)
}
