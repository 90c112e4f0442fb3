package tests

import (
	"errors"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	node, claim := e.oneNode()
	victim := e.nodeState(claim)

	forged := "forged-" + claim
	state := victim
	state.Claim = forged
	in := workflows.NodeLifecycleInput{Claim: activities.Claim{Name: forged, NodePool: e.pool}, Restore: drainDue(state)}
	run := e.startNodeWorkflow(forged, in)
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

// A node's workflow continued from its own state, as continue-as-new does, checks the state
// against EC2 and the API server, finds it its own, and carries on: here it drains at once.
func TestARestoredRunOfItsOwnNodeCarriesOn(t *testing.T) {
	e := startEnv(t, poolYAML("restored", "", "consolidateAfter: Never"))
	node, claim := e.oneNode()
	id := workflows.NodeWorkflowID(claim)
	in := e.nodeWorkflowInput(id)
	in.Restore = drainDue(e.nodeState(claim))
	// The first run ends without a clean-up, as a run that continues as new does.
	if err := e.op.Client.TerminateWorkflow(e.ctx, id, "", "continued by the test"); err != nil {
		t.Fatalf("end the first run of %s: %v", id, err)
	}
	var result workflows.NodeLifecycleResult
	if err := e.startNodeWorkflow(claim, in).Get(e.ctx, &result); err != nil {
		t.Fatalf("restored run of %s: %v", id, err)
	}
	if result.State.Phase != workflows.PhaseTerminated {
		t.Errorf("restored run ended %s, want Terminated", result.State.Phase)
	}
	assertTerminated(t, result.State.InstanceID)
	if _, err := lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node %s after the restored run's drain: %v, want deleted", node, err)
	}
	replayHistory(t, e.ctx, id, workflows.NodeLifecycleWorkflow, "nodelifecycle_restored_history.json")
}

// oneNode deploys one pod and returns the node it runs on and the node's claim.
func (e *env) oneNode() (node, claim string) {
	e.deploy("web", 1, "500m")
	for n, c := range claimsOf(e.t, e, e.allBound(1)) {
		node, claim = n, c
	}
	return node, claim
}

// drainDue is the state with a manual drain starting now.
func drainDue(state workflows.NodeState) *workflows.NodeState {
	now := time.Now()
	state.Disruption = &workflows.Disruption{Source: workflows.SourceManual, Reason: "restore test", RequestedAt: now, StartsAt: now}
	return &state
}

// nodeWorkflowInput reads the input a node workflow was started with.
func (e *env) nodeWorkflowInput(id string) workflows.NodeLifecycleInput {
	e.t.Helper()
	iter := e.op.Client.GetWorkflowHistory(e.ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	first, err := iter.Next()
	if err != nil {
		e.t.Fatalf("history of %s: %v", id, err)
	}
	var in workflows.NodeLifecycleInput
	if err := converter.GetDefaultDataConverter().FromPayloads(first.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
		e.t.Fatalf("input of %s: %v", id, err)
	}
	return in
}

// startNodeWorkflow starts the claim's node workflow with the input, as anyone with access to
// Temporal can.
func (e *env) startNodeWorkflow(claim string, in workflows.NodeLifecycleInput) client.WorkflowRun {
	e.t.Helper()
	run, err := e.op.Client.ExecuteWorkflow(e.ctx, client.StartWorkflowOptions{
		ID: workflows.NodeWorkflowID(claim), TaskQueue: workflows.TaskQueue,
	}, workflows.NodeLifecycleWorkflow, in)
	if err != nil {
		e.t.Fatalf("start node workflow of %s: %v", claim, err)
	}
	return run
}
