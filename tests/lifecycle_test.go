package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/workflows"
)

// (b) A Deployment scaled to zero: its nodes are removed as empty, no sooner than
// consolidateAfter after their last pod left.
func TestEmptyNodesAreRemovedAfterConsolidateAfter(t *testing.T) {
	e := startEnv(t, poolYAML("empty", "", "consolidationPolicy: WhenEmpty\nconsolidateAfter: 5s\nbudgets:\n  - nodes: \"100%\""))
	e.deploy("web", 3, "1500m")
	used := e.allBound(3)
	claims := claimsOf(t, e, used)

	e.scale("web", 0)
	scaledDown := time.Now()
	e.eventually("every node of NodePool empty removed", 2*time.Minute, func() (bool, string) {
		n := len(e.nodes())
		return n == 0, fmt.Sprintf("%d nodes left", n)
	})
	for node, claim := range claims {
		st := e.terminatedState(node, claim)
		if st.Disruption == nil || st.Disruption.Reason != "Empty" {
			t.Errorf("node %s: phase %s, disruption %+v; want Terminated for reason Empty", node, st.Phase, st.Disruption)
			continue
		}
		if waited := st.Disruption.RequestedAt.Sub(scaledDown); waited < 5*time.Second-time.Second {
			t.Errorf("node %s disrupted %s after its pods left, before consolidateAfter (5s)", node, waited)
		}
		assertTerminated(t, st.InstanceID)
	}
	for _, claim := range claims {
		replayHistory(t, e.ctx, workflows.NodeWorkflowID(claim), workflows.NodeLifecycleWorkflow, "nodelifecycle_empty_history.json")
		break
	}
	replayHistory(t, e.ctx, workflows.DisruptionID, workflows.DisruptionWorkflow, "disruption_empty_history.json")
}

// (a) expireAfter 30s: each node is replaced, its pods bound elsewhere, its instance
// terminated.
func TestExpiredNodesAreReplaced(t *testing.T) {
	e := startEnv(t, poolYAML("expire", "expireAfter: 30s", "consolidateAfter: Never"))
	e.deploy("web", 2, "500m")
	first := e.allBound(2)
	claims := claimsOf(t, e, first)

	e.eventually("the first nodes expire and the pods run on new ones", 3*time.Minute, func() (bool, string) {
		pods := e.pods()
		moved := 0
		for _, p := range pods {
			if p.Spec.NodeName != "" && !first[p.Spec.NodeName] {
				moved++
			}
		}
		left := 0
		for _, n := range e.nodes() {
			if first[n.Name] {
				left++
			}
		}
		return moved == 2 && len(pods) == 2 && left == 0, fmt.Sprintf("%d of %d pods on new nodes, %d first nodes left", moved, len(pods), left)
	})
	for node, claim := range claims {
		st := e.nodeState(claim)
		if st.Disruption == nil || st.Disruption.Source != workflows.SourceExpiration || st.Disruption.Reason != "Expired" {
			t.Errorf("node %s: disruption %+v, want Expiration/Expired", node, st.Disruption)
		}
		if st.ExpiresAt == nil || st.Disruption != nil && st.Disruption.RequestedAt.Before(*st.ExpiresAt) {
			t.Errorf("node %s disrupted before it expired (expires %v, disrupted %+v)", node, st.ExpiresAt, st.Disruption)
		}
		assertTerminated(t, st.InstanceID)
	}
	for _, claim := range claims {
		replayHistory(t, e.ctx, workflows.NodeWorkflowID(claim), workflows.NodeLifecycleWorkflow, "nodelifecycle_expired_history.json")
		break
	}
}

// (g) A manual drain through the starter's requestDrain update; asking again while the node
// terminates is refused with the reason.
func TestManualDrainByUpdateAndRejectionOfASecondRequest(t *testing.T) {
	e := startEnv(t, poolYAML("manual", "", "consolidateAfter: Never"))
	e.deploy("web", 1, "500m")
	var node string
	for n := range e.allBound(1) {
		node = n
	}
	// The pod is bound once the Node is Ready and synced; the workflow turns Ready a moment
	// later, once it has seen the Node initialized.
	var claim string
	for _, n := range e.nodes() {
		if n.Name == node {
			claim = n.Labels[v1.LabelNodeClaim]
		}
	}
	e.eventually("node "+node+"'s workflow Ready", time.Minute, func() (bool, string) {
		st := e.nodeState(claim)
		return st.Phase == workflows.PhaseReady, string(st.Phase)
	})
	id, accepted, err := e.op.Drain(e.ctx, node, "kernel upgrade", 0)
	if err != nil {
		t.Fatalf("drain %s: %v", node, err)
	}
	if accepted.Phase != workflows.PhaseReady {
		t.Errorf("drain accepted in phase %s, want Ready", accepted.Phase)
	}
	e.eventually("the node starts terminating", time.Minute, func() (bool, string) {
		st := e.nodeState(strings.TrimPrefix(id, "node/"))
		return st.Phase == workflows.PhaseDraining || st.Phase == workflows.PhaseTerminating || st.Phase == workflows.PhaseTerminated, string(st.Phase)
	})
	_, _, err = e.op.Drain(e.ctx, id, "again", 0)
	if err == nil || !strings.Contains(err.Error(), "already terminating") {
		t.Errorf("second drain of %s: %v, want a rejection saying it is already terminating", node, err)
	}
	e.allBound(1) // the pod runs elsewhere
	e.eventually("Node "+node+" deleted", time.Minute, func() (bool, string) {
		_, err := lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{})
		return err != nil, "still there"
	})
	st := e.nodeState(strings.TrimPrefix(id, "node/"))
	if st.Disruption == nil || st.Disruption.Reason != "kernel upgrade" || st.Disruption.Source != workflows.SourceManual {
		t.Errorf("disruption %+v, want Manual with the operator's reason", st.Disruption)
	}
	assertTerminated(t, st.InstanceID)
	replayHistory(t, e.ctx, id, workflows.NodeLifecycleWorkflow, "nodelifecycle_requestdrain_history.json")
}

// claimsOf maps the test's nodes to their claims.
func claimsOf(t *testing.T, e *env, nodes map[string]bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range e.nodes() {
		if nodes[n.Name] {
			out[n.Name] = n.Labels[v1.LabelNodeClaim]
		}
	}
	if len(out) != len(nodes) {
		t.Fatalf("found claims for %d of %d nodes", len(out), len(nodes))
	}
	return out
}

func assertTerminated(t *testing.T, instanceID string) {
	t.Helper()
	inst, ok := lab.EC2.Instance(instanceID)
	if !ok || inst.State != ec2sim.StateTerminated {
		t.Errorf("instance %s is %q, want terminated", instanceID, inst.State)
	}
}

// Drift: a node launched from an older version of its NodePool's template is replaced by one
// from the current template, its pod moving over once the replacement is Ready.
func TestDriftedNodesAreReplaced(t *testing.T) {
	v1Pool := poolYAML("drift", "", "consolidateAfter: Never")
	e := startEnv(t, v1Pool)
	e.deploy("web", 1, "500m")
	var old string
	for n := range e.allBound(1) {
		old = n
	}
	claims := claimsOf(t, e, map[string]bool{old: true})

	// The operator adds a label to the template and rolls the worker out with it.
	e.stopWorker()
	e.startWorker(strings.Replace(v1Pool, "  template:\n", "  template:\n    metadata:\n      labels:\n        tier: gold\n", 1))
	e.eventually("the pod runs on a node with the new template's label", 2*time.Minute, func() (bool, string) {
		for _, p := range e.pods() {
			if p.Spec.NodeName == "" || p.Spec.NodeName == old || p.Status.Phase != corev1.PodRunning {
				return false, "pod on " + p.Spec.NodeName
			}
			n, err := lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, p.Spec.NodeName, metav1.GetOptions{})
			if err != nil || n.Labels["tier"] != "gold" {
				return false, "new node without tier=gold"
			}
		}
		return len(e.pods()) == 1, "no pod"
	})
	st := e.nodeState(claims[old])
	if st.Disruption == nil || st.Disruption.Reason != "Drifted" || st.Disruption.Replacement == "" {
		t.Errorf("old node's disruption %+v, want Drifted with a replacement", st.Disruption)
	}
}
