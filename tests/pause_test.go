package tests

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/schedulerengine/disruption"
	"github.com/nodewright/nodewright/starter"
	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// The kill switch: while voluntary disruption is paused, two underutilized nodes that
// consolidation wants to merge stay, and an empty node past its expireAfter still goes;
// once resumed, consolidation merges them.
func TestPausedDisruptionStopsConsolidationButNotExpiration(t *testing.T) {
	e := startEnv(t, poolYAML("pause", "expireAfter: 45s", "consolidationPolicy: WhenEmptyOrUnderutilized\nconsolidateAfter: 1s\nbudgets:\n  - nodes: \"100%\""), withMetricsAddr(t))
	t.Logf("$ starter pause disruption --reason \"e2e incident\"\n%s", e.starter("pause", "disruption", "--reason", "e2e incident"))
	var since time.Time
	e.eventually("the controller reports the pause", 30*time.Second, func() (bool, string) {
		st := e.disruptionState()
		if st.Pause != nil {
			since = st.Pause.Since
		}
		return st.Pause != nil && st.Pause.Reason == "e2e incident", fmt.Sprintf("pause %+v", st.Pause)
	})

	// Two nodes that keep going past expireAfter, each with a 600m pod once their fillers go:
	// either pod fits beside the other, so consolidation wants one node gone.
	underused := claimsOf(t, e, e.fillNodes(2))
	for node, claim := range underused {
		// A pod binds once the kubelet reports the Node Ready; the workflow sees that a
		// moment later, and only then arms (and so can extend) the node's expiry.
		e.eventually("node "+node+" Ready in its workflow", 30*time.Second, func() (bool, string) {
			st := e.nodeState(claim)
			return st.Phase == workflows.PhaseReady, fmt.Sprintf("phase %s", st.Phase)
		})
		if _, _, err := e.op.Extend(e.ctx, workflows.NodeWorkflowID(claim), 10*time.Minute); err != nil {
			t.Fatalf("extend %s: %v", claim, err)
		}
	}
	e.deploy("web", 2, "600m")
	e.allBound(4)
	// And a third node, empty once its filler goes, that expires 45s after its launch.
	e.deploy("filler-x", 1, "1300m")
	onX := e.allBound(5)
	var expiring string
	for node := range onX {
		if _, ok := underused[node]; !ok {
			expiring = node
		}
	}
	expiringClaim := claimsOf(t, e, map[string]bool{expiring: true})[expiring]
	for _, d := range []string{"filler-0", "filler-1", "filler-x"} {
		e.scale(d, 0)
	}
	e.allBound(2)
	consolidatable := time.Now()

	e.eventually("the empty node expires while disruption is paused", 2*time.Minute, func() (bool, string) {
		st := e.nodeState(expiringClaim)
		return st.Phase == workflows.PhaseTerminated, fmt.Sprintf("node %s %s, disruption %+v", expiring, st.Phase, st.Disruption)
	})
	if st := e.nodeState(expiringClaim); st.Disruption == nil || st.Disruption.Source != workflows.SourceExpiration {
		t.Errorf("node %s went for %+v, want expiration", expiring, st.Disruption)
	}
	// Consolidation had the whole time since the fillers went, many passes of 2s and a
	// validation delay of 2s; the controller found the merge and withheld it.
	e.eventually("the controller withholds consolidating the underutilized nodes", 30*time.Second, func() (bool, string) {
		p := e.disruptionState().Pause
		return p != nil && strings.HasPrefix(p.LastWithheld, disruption.ReasonUnderutilized+":") && !p.Since.After(since), fmt.Sprintf("pause %+v", p)
	})
	t.Logf("paused for %s after the nodes became consolidatable", time.Since(consolidatable).Round(time.Second))
	for node, claim := range underused {
		if st := e.nodeState(claim); st.Disruption != nil || st.Phase != workflows.PhaseReady {
			t.Errorf("node %s is %s with disruption %+v while disruption is paused", node, st.Phase, st.Disruption)
		}
	}
	nodes := e.starter("nodes")
	t.Logf("$ starter nodes\n%s", nodes)
	if want := fmt.Sprintf("disruption paused since %s (e2e incident)", since.UTC().Format(time.RFC3339)); !strings.Contains(nodes, want) {
		t.Errorf("starter nodes does not say %q", want)
	}
	e.scrapeUntil("the pause gauges", func(m scrape) string {
		if m.sum(workflows.MetricDisruptionPaused) != 1 || m.sum(workflows.MetricDisruptionPausedSince) != float64(since.UnixNano())/1e9 {
			return fmt.Sprintf("paused %v since %v", m.sum(workflows.MetricDisruptionPaused), m.sum(workflows.MetricDisruptionPausedSince))
		}
		return ""
	})

	e.starter("resume", "disruption")
	e.eventually("one underutilized node is consolidated once resumed", time.Minute, func() (bool, string) {
		gone := 0
		for _, claim := range underused {
			if d := e.nodeState(claim).Disruption; d != nil && d.Source == workflows.SourceDisruption && d.Reason == disruption.ReasonUnderutilized {
				gone++
			}
		}
		running := 0
		for _, p := range e.pods() {
			if p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return gone >= 1 && running == 2, fmt.Sprintf("%d of the 2 nodes consolidated, %d of 2 pods running", gone, running)
	})
	if st := e.disruptionState(); st.Pause != nil {
		t.Errorf("still paused after resume: %+v", st.Pause)
	}
	e.scrapeUntil("the pause gauges at 0", func(m scrape) string {
		if m.sum(workflows.MetricDisruptionPaused) != 0 || m.sum(workflows.MetricDisruptionPausedSince) != 0 {
			return "gauges not back to 0"
		}
		return ""
	})
	replayHistory(t, e.ctx, workflows.DisruptionID, workflows.DisruptionWorkflow, "disruption_paused_history.json")
}

// starter runs the starter's command line against the lab and returns what it printed.
func (e *env) starter(args ...string) string {
	e.t.Helper()
	var stdout, stderr bytes.Buffer
	env := temporalconn.MapEnv{"TEMPORAL_ADDRESS": lab.Temporal.FrontendAddress(), "TEMPORAL_NAMESPACE": lab.Temporal.Namespace()}
	if code := starter.Main(e.ctx, "test", args, &stdout, &stderr, env); code != 0 {
		e.t.Fatalf("starter %s exited %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

// disruptionState queries the disruption controller.
func (e *env) disruptionState() workflows.DisruptionState {
	e.t.Helper()
	st, err := e.op.DisruptionState(e.ctx)
	if err != nil {
		e.t.Fatalf("disruption controller state: %v", err)
	}
	return st
}
