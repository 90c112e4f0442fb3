package tests

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodewright/nodewright/activities"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/workflows"
)

// Anyone who can start a workflow can hand NodeLifecycle a state to continue from. One that
// names another claim's instance and Node, with a drain already due, fails RestoreRefused
// before it does anything: the instance keeps running and its Node keeps its pod, untainted.
func TestAForgedRestoreTouchesNeitherInstanceNorNode(t *testing.T) {
	e := startEnv(t, poolYAML("forged", "", "consolidateAfter: Never"))
	e.deploy("web", 1, "500m")
	used := e.allBound(1)
	var node, claim string
	for n, c := range claimsOf(t, e, used) {
		node, claim = n, c
	}
	victim := e.nodeState(claim)

	forged := "forged-" + claim
	now := time.Now()
	state := victim
	state.Claim = forged
	state.Disruption = &workflows.Disruption{Source: workflows.SourceManual, Reason: "forged", RequestedAt: now, StartsAt: now}
	in := workflows.NodeLifecycleInput{Claim: activities.Claim{Name: forged, NodePool: e.pool}, Restore: &state}
	run, err := temporalClient(t).ExecuteWorkflow(e.ctx, client.StartWorkflowOptions{
		ID: workflows.NodeWorkflowID(forged), TaskQueue: workflows.TaskQueue,
	}, workflows.NodeLifecycleWorkflow, in)
	if err != nil {
		t.Fatalf("start the forged workflow: %v", err)
	}
	var appErr *temporal.ApplicationError
	if err := run.Get(e.ctx, nil); !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeRestoreRefused {
		t.Fatalf("forged workflow ended with %v, want %s", err, workflows.ErrTypeRestoreRefused)
	}

	if inst, ok := lab.EC2.Instance(victim.InstanceID); !ok || inst.State != ec2sim.StateRunning {
		t.Errorf("instance %s of claim %s is %q after the forged run, want running", victim.InstanceID, claim, inst.State)
	}
	n, err := lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("node %s after the forged run: %v", node, err)
	}
	for _, taint := range n.Spec.Taints {
		if taint.Key == v1.TaintKeyDisrupted {
			t.Errorf("node %s tainted %s by the forged run", node, taint.ToString())
		}
	}
	if pods := e.pods(); len(pods) != 1 || pods[0].Spec.NodeName != node || pods[0].DeletionTimestamp != nil {
		t.Errorf("pods after the forged run: %d, want web still running on %s", len(pods), node)
	}
	if st := e.nodeState(claim); st.Phase != workflows.PhaseReady || st.Disruption != nil {
		t.Errorf("claim %s after the forged run: phase %s, disruption %+v; want Ready and undisturbed", claim, st.Phase, st.Disruption)
	}
	replayHistory(t, e.ctx, workflows.NodeWorkflowID(forged), workflows.NodeLifecycleWorkflow, "nodelifecycle_restorerefused_history.json")
}
