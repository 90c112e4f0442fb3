package tests

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

// The worker's /metrics carries Karpenter's series under Karpenter's names and labels, so its
// dashboards and alerts work unchanged: counters of what the node workflows did, the EC2,
// scheduling and interruption series, the cluster's current state, and the Temporal SDK's
// own series, all on one endpoint.
func TestWorkerExposesKarpenterMetrics(t *testing.T) {
	const pool = "metrics"
	e := startAPIEnv(t, `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: metrics
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: metrics}
      requirements:
        - key: karpenter.k8s.aws/instance-category
          operator: In
          values: ["c", "m"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["spot"]
  limits:
    cpu: "100"
  disruption:
    consolidateAfter: Never
`+nodeClassYAML(pool), withMetricsAddr(t))
	e.deploy("web", 3, "500m")
	used := e.allBound(3)
	claims := claimsOf(t, e, used)
	nodes := float64(len(used))

	// Provisioning: one created NodeClaim and Node per node, the launches, the plan, the pods.
	m := e.scrapeUntil("the launches and the Ready pods are counted", func(m scrape) string {
		switch {
		case m.sum("karpenter_nodeclaims_created_total", "nodepool", pool, "reason", "provisioned", "min_values_relaxed", "false") != nodes:
			return "nodeclaims created"
		case m.sum("karpenter_nodes_created_total", "nodepool", pool) != nodes:
			return "nodes created"
		case m.sum("karpenter_pods_startup_duration_seconds_count") < 3:
			return "pod startups"
		case len(m.find("karpenter_voluntary_disruption_eligible_nodes", "reason", "drifted")) == 0:
			return "disruption candidates"
		}
		return ""
	})
	running := []string{"namespace", e.ns, "nodepool", pool, "phase", "Running", "ready", "true", "scheduled", "true", "capacity_type", "spot", "managed", "true"}
	for _, c := range []struct {
		what    string
		name    string
		labels  []string
		want    float64
		atLeast bool // want is a floor, not the exact value
	}{
		{"CreateFleet calls of the node workflows", "karpenter_cloudprovider_duration_seconds_count", []string{"controller", "nodeclaim.lifecycle", "method", "Create", "provider", "aws"}, nodes, true},
		{"plans, under Karpenter v1's name", "karpenter_scheduler_scheduling_duration_seconds_count", []string{"controller", "provisioner"}, 1, true},
		{"plans, under Karpenter v0.3x's name", "karpenter_provisioner_scheduling_duration_seconds_count", nil, 1, true},
		{"the pool's CPU limit", "karpenter_nodepools_limit", []string{"nodepool", pool, "resource_type", "cpu"}, 100, false},
		{"the pool's nodes", "karpenter_nodepools_usage", []string{"nodepool", pool, "resource_type", "nodes"}, nodes, false},
		{"the pool's CPU", "karpenter_nodepools_usage", []string{"nodepool", pool, "resource_type", "cpu"}, 1.5, true},
		{"the test's pods, Running and Ready on the pool's spot nodes", "karpenter_pods_state", running, 3, false},
		{"disruption candidates (consolidateAfter Never, nothing drifted)", "karpenter_voluntary_disruption_eligible_nodes", nil, 0, false},
		{"the SDK's workflow task latencies", "temporal_workflow_task_schedule_to_start_latency_seconds_count", nil, 1, true},
		{"the SDK's requests", "temporal_request_total", nil, 1, true},
		{"the worker's own pods-signalled counter", "nodewright_provisioner_pods_signalled_total", nil, 3, true},
	} {
		if got := m.sum(c.name, c.labels...); got != c.want && !(c.atLeast && got > c.want) {
			t.Errorf("%s: %s%v = %v, want %v", c.what, c.name, c.labels, got, c.want)
		}
	}
	for node := range used {
		if got := m.sum("karpenter_nodes_allocatable", "node_name", node, "resource_type", "cpu", "nodepool", pool, "managed", "true", "capacity_type", "spot"); got <= 0 {
			t.Errorf("karpenter_nodes_allocatable{node_name=%q,resource_type=\"cpu\"} = %v, want the node's CPU", node, got)
		}
	}
	m.assertKarpenterShapes(t)

	// A spot interruption: the message is received, timed and deleted, and the node counts as
	// disrupted for it.
	var node string
	for n := range used {
		node = n
		break
	}
	st := e.nodeState(claims[node])
	if err := lab.InterruptSpot(st.InstanceID, ec2sim.SpotNotice); err != nil {
		t.Fatalf("interrupt %s: %v", st.InstanceID, err)
	}
	e.scrapeUntil("the interruption is counted", func(m scrape) string {
		switch {
		case m.sum("karpenter_interruption_received_messages_total", "message_type", "spot_interrupted") < 1:
			return "messages received"
		case m.sum("karpenter_interruption_deleted_messages_total") < 1:
			return "messages deleted"
		case m.sum("karpenter_interruption_message_queue_duration_seconds_count") < 1:
			return "queue durations"
		case m.sum("karpenter_nodeclaims_disrupted_total", "reason", "spot_interrupted", "nodepool", pool, "capacity_type", "spot", "termination_mode", "graceful") != 1:
			return "nodeclaims disrupted"
		case m.sum("karpenter_nodeclaims_terminated_total", "nodepool", pool, "capacity_type", "spot", "zone", st.Zone) < 1:
			return "nodeclaims terminated"
		case m.sum("karpenter_nodes_terminated_total", "nodepool", pool, "zone", st.Zone) < 1:
			return "nodes terminated"
		}
		return ""
	})

	// Everything drained: as many NodeClaims and Nodes terminated as were created, and a
	// manual drain is no disruption.
	e.scale("web", 0)
	e.eventually("the pods are gone", time.Minute, func() (bool, string) { return len(e.pods()) == 0, fmt.Sprintf("%d pods", len(e.pods())) })
	// Drained until none is left: a replacement for the interrupted node may still be in
	// flight, and it would stay empty (consolidateAfter: Never) if drained only once.
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
	defer cancel()
	if left := e.drainPools(ctx, "test", pool); left != "" {
		t.Fatalf("waited 2m for the pool's nodes to go; left: %s", left)
	}
	e.scrapeUntil("every node counted terminated", func(m scrape) string {
		created := m.sum("karpenter_nodeclaims_created_total", "nodepool", pool)
		switch {
		case m.sum("karpenter_nodeclaims_terminated_total", "nodepool", pool) != created:
			return fmt.Sprintf("%v of %v nodeclaims terminated", m.sum("karpenter_nodeclaims_terminated_total", "nodepool", pool), created)
		case m.sum("karpenter_nodes_terminated_total", "nodepool", pool) != m.sum("karpenter_nodes_created_total", "nodepool", pool):
			return "nodes terminated"
		case m.sum("karpenter_nodeclaims_disrupted_total", "nodepool", pool) != 1:
			return "nodeclaims disrupted"
		case m.sum("karpenter_cloudprovider_duration_seconds_count", "method", "Delete", "controller", "nodeclaim.lifecycle") < created:
			return "TerminateInstances calls"
		case len(m.find("karpenter_pods_state", "namespace", e.ns)) != 0:
			return "pods still in karpenter_pods_state"
		case m.sum("karpenter_nodepools_usage", "nodepool", pool, "resource_type", "nodes") != 0:
			return "pool usage"
		}
		return ""
	})
}

// withMetricsAddr serves the worker's /metrics on a free loopback port.
func withMetricsAddr(t *testing.T) func(*env) {
	return func(e *env) { e.metricsAddr = freeLoopbackAddr(t) }
}

// scrape is one read of /metrics.
type scrape []series

// series is one series' value.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// scrapeUntil scrapes until pending, given the scrape, says nothing is missing, and returns
// that scrape.
func (e *env) scrapeUntil(what string, pending func(scrape) string) scrape {
	e.t.Helper()
	var m scrape
	e.eventually(what, time.Minute, func() (bool, string) {
		m = e.scrape()
		missing := pending(m)
		return missing == "", "missing: " + missing
	})
	return m
}

func (e *env) scrape() scrape {
	e.t.Helper()
	resp, err := http.Get("http://" + e.metricsAddr + "/metrics")
	if err != nil {
		e.t.Fatalf("scrape /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		e.t.Fatalf("scrape /metrics: %d %v", resp.StatusCode, err)
	}
	m, err := parseExposition(string(body))
	if err != nil {
		e.t.Fatalf("scrape /metrics: %v", err)
	}
	return m
}

// find returns the samples named name whose labels include the given pairs.
func (m scrape) find(name string, pairs ...string) []series {
	var out []series
	for _, s := range m {
		if s.name != name {
			continue
		}
		match := true
		for i := 0; i+1 < len(pairs); i += 2 {
			if s.labels[pairs[i]] != pairs[i+1] {
				match = false
			}
		}
		if match {
			out = append(out, s)
		}
	}
	return out
}

// sum adds up the values of find's samples.
func (m scrape) sum(name string, pairs ...string) float64 {
	total := 0.0
	for _, s := range m.find(name, pairs...) {
		total += s.value
	}
	return total
}

// assertKarpenterShapes checks the label names of Karpenter's series and that no name is
// mangled by a metrics library (a doubled _total, an OpenTelemetry scope label).
func (m scrape) assertKarpenterShapes(t *testing.T) {
	t.Helper()
	want := map[string][]string{
		"karpenter_nodeclaims_created_total":                  {"min_values_relaxed", "nodepool", "reason"},
		"karpenter_nodes_created_total":                       {"nodepool", "zone"},
		"karpenter_cloudprovider_duration_seconds_count":      {"controller", "method", "provider"},
		"karpenter_scheduler_scheduling_duration_seconds_sum": {"controller"},
		"karpenter_nodepools_limit":                           {"nodepool", "resource_type"},
		"karpenter_nodepools_usage":                           {"nodepool", "resource_type"},
		"karpenter_voluntary_disruption_eligible_nodes":       {"reason"},
		"karpenter_pods_state": {"arch", "capacity_type", "instance_type", "managed", "name", "namespace", "node",
			"nodepool", "owner", "phase", "ready", "scheduled", "zone"},
	}
	for name, labels := range want {
		samples := m.find(name)
		if len(samples) == 0 {
			t.Errorf("no %s series", name)
			continue
		}
		if got := slices.Sorted(maps.Keys(samples[0].labels)); !slices.Equal(got, labels) {
			t.Errorf("%s labels %v, want %v", name, got, labels)
		}
	}
	for _, s := range m {
		if strings.HasSuffix(s.name, "_total_total") || s.labels["otel_scope_name"] != "" {
			t.Errorf("series %s%v is mangled", s.name, s.labels)
		}
	}
}

// parseExposition reads Prometheus' text format: name{label="value",...} value.
func parseExposition(text string) (scrape, error) {
	var out scrape
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := series{labels: map[string]string{}}
		rest := line
		if i := strings.IndexAny(rest, "{ "); i >= 0 {
			s.name, rest = rest[:i], rest[i:]
		}
		if strings.HasPrefix(rest, "{") {
			var err error
			if rest, err = parseLabels(rest[1:], s.labels); err != nil {
				return nil, fmt.Errorf("%q: %w", line, err)
			}
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("%q: no value", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		s.value = v
		out = append(out, s)
	}
	return out, nil
}

// parseLabels reads label="value" pairs up to the closing brace and returns what follows.
func parseLabels(s string, into map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, ",")
		if strings.HasPrefix(s, "}") {
			return s[1:], nil
		}
		eq := strings.Index(s, `="`)
		if eq < 0 {
			return "", fmt.Errorf("label without value")
		}
		key := s[:eq]
		s = s[eq+2:]
		var b strings.Builder
		for {
			if s == "" {
				return "", fmt.Errorf("unterminated label %s", key)
			}
			c := s[0]
			s = s[1:]
			if c == '\\' && s != "" {
				switch s[0] {
				case 'n':
					b.WriteByte('\n')
				default:
					b.WriteByte(s[0])
				}
				s = s[1:]
				continue
			}
			if c == '"' {
				break
			}
			b.WriteByte(c)
		}
		into[key] = b.String()
	}
}
