package tests

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/history"
	"github.com/nodewright/nodewright/workflows"
)

// Editing a NodePool's requirements with kubectl drifts the nodes that no longer meet them:
// each is replaced and its pods move over, with no worker restart.
func TestEditedNodePoolRequirementsDriftItsNodes(t *testing.T) {
	manifest := poolYAML("edited", "", "consolidateAfter: Never")
	e := startAPIEnv(t, manifest)
	e.deploy("web", 1, "500m")
	used := e.allBound(1)
	var old corev1.Node
	for _, n := range e.nodes() {
		if used[n.Name] {
			old = n
		}
	}
	oldType := old.Labels[v1.LabelInstanceType]

	// The operator stops using the instance type the node runs on.
	edited := strings.Replace(manifest, "      nodeClassRef:", fmt.Sprintf(`        - key: node.kubernetes.io/instance-type
          operator: NotIn
          values: [%q]
      nodeClassRef:`, oldType), 1)
	applyManifest(t, edited)
	e.eventually("the pod runs on a node of another instance type and the old node is gone", 2*time.Minute, func() (bool, string) {
		for _, p := range e.pods() {
			if p.Spec.NodeName == "" || p.Spec.NodeName == old.Name || p.Status.Phase != corev1.PodRunning {
				return false, "pod on " + p.Spec.NodeName
			}
		}
		for _, n := range e.nodes() {
			if n.Name == old.Name {
				return false, "old node still there"
			}
			if n.Labels[v1.LabelInstanceType] == oldType {
				return false, "a new node of the excluded type " + oldType
			}
		}
		return len(e.pods()) == 1, "no pod"
	})
	st := e.nodeState(old.Labels[v1.LabelNodeClaim])
	if st.Disruption == nil || st.Disruption.Reason != "Drifted" || st.Disruption.Replacement == "" {
		t.Errorf("old node's disruption %+v, want Drifted with a replacement", st.Disruption)
	}
	replayHistory(t, e.ctx, workflows.DisruptionID, workflows.DisruptionWorkflow, "disruption_drift_history.json")
}

// Deleting a NodePool drains and terminates its nodes, through the NodeClaims its owner
// references let the garbage collector delete.
func TestDeletedNodePoolsNodesDrainAndGo(t *testing.T) {
	manifest := poolYAML("deleted", "", "consolidateAfter: Never")
	e := startAPIEnv(t, manifest)
	e.deploy("web", 2, "1500m")
	used := e.allBound(2)
	claims := claimsOf(t, e, used)

	if err := dynamicClient(t).Resource(v1.NodePoolResource).Delete(e.ctx, e.pool, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete NodePool: %v", err)
	}
	e.eventually("the pool's nodes and NodeClaims are gone", 2*time.Minute, func() (bool, string) {
		nodes, claims := len(e.nodes()), len(e.nodeClaims())
		return nodes == 0 && claims == 0, fmt.Sprintf("%d nodes, %d NodeClaims left", nodes, claims)
	})
	for node, claim := range claims {
		st := e.terminatedState(node, claim)
		if st.Disruption == nil || !strings.Contains(st.Disruption.Reason, "deleted") {
			t.Errorf("node %s: phase %s, disruption %+v; want Terminated after its NodeClaim was deleted", node, st.Phase, st.Disruption)
		}
		assertTerminated(t, st.InstanceID)
	}
}

// `kubectl delete nodeclaim` and `kubectl delete node` each drain and terminate through the
// node's workflow, and the object goes only once its instance is terminated.
func TestDeletingANodeClaimOrANodeDrainsThroughTheWorkflow(t *testing.T) {
	for _, what := range []string{"nodeclaim", "node"} {
		t.Run(what, func(t *testing.T) {
			e, node, claim, instanceID := oneNodeOf(t, "del-"+what)

			// Sample the object and the instance from now until the object is gone: it may never
			// be gone while the instance still runs.
			gone := watchUntilGone(t, e, what, node, claim, instanceID)
			var err error
			if what == "node" {
				err = lab.Kube.Client.CoreV1().Nodes().Delete(e.ctx, node, metav1.DeleteOptions{})
			} else {
				err = dynamicClient(t).Resource(v1.NodeClaimResource).Delete(e.ctx, claim, metav1.DeleteOptions{})
			}
			if err != nil {
				t.Fatalf("delete %s: %v", what, err)
			}
			result := <-gone
			if result.err != "" {
				t.Fatal(result.err)
			}
			if result.stateWhenGone != ec2sim.StateTerminated {
				t.Errorf("the %s was gone while instance %s was %q; its finalizer must wait until EC2 says terminated", what, instanceID, result.stateWhenGone)
			}
			e.eventually("the pod runs on another node", 2*time.Minute, func() (bool, string) {
				for _, p := range e.pods() {
					if p.Spec.NodeName != "" && p.Spec.NodeName != node && p.Status.Phase == corev1.PodRunning {
						return true, ""
					}
				}
				return false, "not yet"
			})
			// The object goes once the instance is terminated; the workflow then releases the
			// rest and ends a moment later.
			var st workflows.NodeState
			e.eventually("the node workflow ends", time.Minute, func() (bool, string) {
				st = e.nodeState(claim)
				return st.Phase == workflows.PhaseTerminated, "phase " + string(st.Phase)
			})
			if st.Disruption == nil || st.Disruption.Source != workflows.SourceManual ||
				st.Disruption.Reason != strings.ToLower(kindName(what))+" deleted" {
				t.Errorf("workflow state %s, disruption %+v; want a manual drain for the deletion", st.Phase, st.Disruption)
			}
			assertTerminatedBeforeReleased(t, e, claim)
			replayHistory(t, e.ctx, workflows.NodeWorkflowID(claim), workflows.NodeLifecycleWorkflow, "nodelifecycle_"+what+"deleted_history.json")
		})
	}
}

// A NodeClaim whose workflow an operator terminated by hand in the Temporal UI has no one to
// drain it: deleted, the worker terminates its instance itself (its tags prove it is the
// claim's), releases the NodeClaim once EC2 says terminated, and deletes its Node.
func TestDeletingAnOrphanedNodeClaimTerminatesItsInstance(t *testing.T) {
	e, node, claim, instanceID := oneNodeOf(t, "del-orphan")
	if err := e.op.Client.TerminateWorkflow(e.ctx, workflows.NodeWorkflowID(claim), "", "terminated by hand"); err != nil {
		t.Fatalf("terminate node/%s: %v", claim, err)
	}

	gone := watchUntilGone(t, e, "nodeclaim", node, claim, instanceID)
	if err := dynamicClient(t).Resource(v1.NodeClaimResource).Delete(e.ctx, claim, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete nodeclaim: %v", err)
	}
	result := <-gone
	if result.err != "" {
		t.Fatal(result.err)
	}
	if result.stateWhenGone != ec2sim.StateTerminated {
		t.Errorf("the orphaned NodeClaim was gone while instance %s was %q, want terminated", instanceID, result.stateWhenGone)
	}
	e.eventually("the orphan's Node is gone", time.Minute, func() (bool, string) {
		_, err := lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("get node %s: %v", node, err)
	})
}

// oneNodeOf applies a NodePool named pool that never consolidates and runs one pod on it: the
// node it gets, its claim and its instance.
func oneNodeOf(t *testing.T, pool string) (e *env, node, claim, instanceID string) {
	t.Helper()
	e = startAPIEnv(t, poolYAML(pool, "", "consolidateAfter: Never"))
	e.deploy("web", 1, "500m")
	used := e.allBound(1)
	for n := range used {
		node = n
	}
	claim = claimsOf(t, e, used)[node]
	return e, node, claim, e.nodeState(claim).InstanceID
}

func kindName(what string) string {
	if what == "node" {
		return "Node"
	}
	return v1.KindNodeClaim
}

type goneResult struct {
	stateWhenGone string
	err           string
}

// watchUntilGone polls the NodeClaim (or Node) every 20 ms and reports the instance's state
// at the first look that finds it gone.
func watchUntilGone(t *testing.T, e *env, what, node, claim, instanceID string) <-chan goneResult {
	out := make(chan goneResult, 1)
	var once sync.Once
	go func() {
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			inst, _ := lab.EC2.Instance(instanceID) // read first: the object may go in between
			var err error
			if what == "node" {
				_, err = lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{})
			} else {
				_, err = dynamicClient(t).Resource(v1.NodeClaimResource).Get(e.ctx, claim, metav1.GetOptions{})
			}
			if apierrors.IsNotFound(err) {
				once.Do(func() { out <- goneResult{stateWhenGone: inst.State} })
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		once.Do(func() { out <- goneResult{err: what + " still there after 3 minutes"} })
	}()
	return out
}

// assertTerminatedBeforeReleased reads the node's history: the instance's termination
// completed before the NodeClaim's finalizer was released.
func assertTerminatedBeforeReleased(t *testing.T, e *env, claim string) {
	t.Helper()
	iter := e.op.Client.GetWorkflowHistory(e.ctx, workflows.NodeWorkflowID(claim), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	terminated, released := int64(-1), int64(-1)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		name, err := history.StartedActivity(ev)
		if err != nil {
			t.Fatal(err)
		}
		if name == "ReleaseNodeClaim" && released < 0 {
			released = ev.GetEventId()
		}
		if c := ev.GetActivityTaskCompletedEventAttributes(); c != nil && scheduled[c.GetScheduledEventId()] == "Terminate" {
			terminated = ev.GetEventId()
		}
	}
	if terminated < 0 || released < 0 || released < terminated {
		t.Errorf("history: Terminate completed at event %d, ReleaseNodeClaim scheduled at %d; want the release after the termination", terminated, released)
	}
}
