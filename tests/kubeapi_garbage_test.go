package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/workflows"
)

// An operator terminates one node's workflow in the Temporal UI and walks away; another
// node's instance is terminated outside Nodewright, from the EC2 console. Nothing else
// happens to either. The garbage collector terminates the first's instance and deletes its
// Node and NodeClaim, and tells the second's workflow, which cleans up and ends.
func TestGarbageCollectionReclaimsWhatNoWorkflowAccountsFor(t *testing.T) {
	e := startAPIEnv(t, poolYAML("gc", "", "consolidateAfter: Never"))
	collectEvery(t, e, 2*time.Second)
	e.deploy("web", 2, "500m", oneNodeEach)
	used := e.allBound(2)
	claims := claimsOf(t, e, used)
	var orphanNode, orphanClaim, goneNode, goneClaim string
	for node, claim := range claims {
		if orphanNode == "" {
			orphanNode, orphanClaim = node, claim
		} else {
			goneNode, goneClaim = node, claim
		}
	}
	// Ready in their workflows' eyes first: pods may run on a node before its workflow has
	// seen it initialized, and an instance that vanishes before then is a launch that failed
	// (phase Failed), not a node gone.
	e.eventually("both node workflows Ready", time.Minute, func() (bool, string) {
		for _, claim := range []string{orphanClaim, goneClaim} {
			if st := e.nodeState(claim); st.Phase != workflows.PhaseReady {
				return false, fmt.Sprintf("node/%s phase %s", claim, st.Phase)
			}
		}
		return true, ""
	})
	orphanInstance, goneInstance := e.nodeState(orphanClaim).InstanceID, e.nodeState(goneClaim).InstanceID

	if err := e.op.Client.TerminateWorkflow(e.ctx, workflows.NodeWorkflowID(orphanClaim), "", "terminated by hand"); err != nil {
		t.Fatalf("terminate node/%s: %v", orphanClaim, err)
	}
	if _, err := labEC2().TerminateInstances(e.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{goneInstance}}); err != nil {
		t.Fatalf("terminate %s from outside: %v", goneInstance, err)
	}

	e.eventually("the orphan's instance, Node and NodeClaim are gone", 2*time.Minute, func() (bool, string) {
		inst, _ := lab.EC2.Instance(orphanInstance)
		_, nodeErr := lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, orphanNode, metav1.GetOptions{})
		_, claimErr := dynamicClient(t).Resource(v1.NodeClaimResource).Get(e.ctx, orphanClaim, metav1.GetOptions{})
		return inst.State == ec2sim.StateTerminated && apierrors.IsNotFound(nodeErr) && apierrors.IsNotFound(claimErr),
			fmt.Sprintf("instance %s %s, node: %v, nodeclaim: %v", orphanInstance, inst.State, nodeErr, claimErr)
	})
	var st workflows.NodeState
	e.eventually("the workflow of the vanished instance ends", 2*time.Minute, func() (bool, string) {
		st = e.nodeState(goneClaim)
		return st.Phase == workflows.PhaseTerminated, "phase " + string(st.Phase)
	})
	if st.Disruption == nil || st.Disruption.Reason != workflows.InterruptInstanceGone {
		t.Errorf("the vanished instance's workflow ended with disruption %+v, want reason %s", st.Disruption, workflows.InterruptInstanceGone)
	}
	e.eventually("the vanished instance's Node is gone", time.Minute, func() (bool, string) {
		_, err := lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, goneNode, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("get node %s: %v", goneNode, err)
	})
	e.allBound(2) // the pods found new nodes

	var gc workflows.GarbageCollectorState
	if err := query(e, workflows.GarbageCollectorID, &gc); err != nil {
		t.Fatal(err)
	}
	if gc.Reclaimed < 1 || gc.VanishedSignalled < 1 {
		t.Errorf("garbage collector state %+v: want the orphan claim reclaimed and the vanished instance signalled", gc)
	}
	if err := e.op.Client.TerminateWorkflow(e.ctx, workflows.GarbageCollectorID, "", "test done"); err != nil {
		t.Fatal(err)
	}
	replayHistory(t, e.ctx, workflows.GarbageCollectorID, workflows.GarbageCollectorWorkflow, "garbagecollector_history.json")
}

// collectEvery runs the garbage collector with a short period for the test, and with its
// default period afterwards.
func collectEvery(t *testing.T, e *env, every time.Duration) {
	t.Helper()
	start := func(every time.Duration) error {
		_, err := e.op.Client.ExecuteWorkflow(e.ctx, client.StartWorkflowOptions{
			ID: workflows.GarbageCollectorID, TaskQueue: workflows.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
		}, workflows.GarbageCollectorWorkflow, workflows.GarbageCollectorInput{Every: workflows.Duration(every)})
		return err
	}
	if err := start(every); err != nil {
		t.Fatalf("start garbage collector: %v", err)
	}
	t.Cleanup(func() {
		if err := start(workflows.DefaultGarbageCollectEvery); err != nil {
			t.Errorf("restart garbage collector: %v", err)
		}
	})
}

// query reads a workflow's state query.
func query(e *env, workflowID string, into any) error {
	v, err := e.op.Client.QueryWorkflow(e.ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		return fmt.Errorf("query %s: %w", workflowID, err)
	}
	return v.Get(into)
}

// oneNodeEach keeps a Deployment's pods on different nodes.
func oneNodeEach(p *corev1.PodTemplateSpec) {
	term := []corev1.PodAffinityTerm{{TopologyKey: corev1.LabelHostname, LabelSelector: &metav1.LabelSelector{MatchLabels: p.Labels}}}
	p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: term}}
}
