package tests

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/nodewright/nodewright/activities"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/demo"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
	"github.com/nodewright/nodewright/workflows"
)

// The demo's path, asserted: pending pods become nodes through NodeLifecycle workflows, the
// real kube-scheduler binds every pod, a drained node's instance and Node are gone and its
// workflow completed, and no instance is left that no workflow owns.
func TestPendingPodsBecomeNodesAndADrainedNodeGoesAway(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	var out bytes.Buffer
	res, err := demo.Run(ctx, lab, demo.Options{Out: &out, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatalf("demo run: %v\nprogress:\n%s", err, out.String())
	}
	t.Logf("demo progress:\n%s", out.String())

	pods, err := demo.PodsOf(ctx, lab)
	if err != nil {
		t.Fatal(err)
	}
	assertBoundByKubeScheduler(t, ctx, pods, res.Drained.Name)
	assertLaunchedTypesSatisfyPool(t, ctx)
	assertDrainedNodeIsGone(t, ctx, res.Drained)
	assertEveryInstanceIsOwned(t, ctx)
	replayHistory(t, ctx, res.Drained.WorkflowID, workflows.NodeLifecycleWorkflow, "nodelifecycle_drained_history.json")
	replayHistory(t, ctx, workflows.ProvisionerID, workflows.ProvisionerWorkflow, "provisioner_demo_history.json")
}

func assertBoundByKubeScheduler(t *testing.T, ctx context.Context, pods []corev1.Pod, drained string) {
	t.Helper()
	if len(pods) != 10 {
		t.Fatalf("demo has %d pods, want 10", len(pods))
	}
	events, err := lab.Kube.Client.EventsV1().Events(demo.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	scheduledBy := map[string]string{} // pod → controller that reported it Scheduled
	for _, e := range events.Items {
		if e.Reason == "Scheduled" && e.Regarding.Kind == "Pod" {
			scheduledBy[e.Regarding.Name] = e.ReportingController
		}
	}
	for _, p := range pods {
		if p.Spec.NodeName == "" || p.Spec.NodeName == drained {
			t.Errorf("pod %s is on %q, want a live Nodewright node other than the drained %s", p.Name, p.Spec.NodeName, drained)
		}
		if by := scheduledBy[p.Name]; by != "default-scheduler" {
			t.Errorf("pod %s: Scheduled event reported by %q, want the kube-scheduler (default-scheduler)", p.Name, by)
		}
	}
}

func assertLaunchedTypesSatisfyPool(t *testing.T, ctx context.Context) {
	t.Helper()
	pools := loadPools(t, demo.NodePoolYAML)
	var term corev1.NodeSelectorTerm
	for _, r := range pools[0].Spec.Template.Spec.Requirements {
		term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{Key: r.Key, Operator: r.Operator, Values: r.Values})
	}
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	typeLabels := map[string]map[string]string{}
	for _, it := range catalog.InstanceTypes(types, []string{"us-east-1a"}) {
		typeLabels[it.Name] = it.Labels
	}
	launched := 0
	for _, inst := range lab.EC2.Instances() {
		if inst.Tags[activities.TagNodePool] != pools[0].Name {
			continue // other tests' pools share the lab
		}
		launched++
		labels := map[string]string{v1.LabelCapacityType: inst.CapacityType, v1.LabelZone: inst.Zone}
		for k, v := range typeLabels[inst.Type] {
			labels[k] = v
		}
		ok, err := corev1helpers.MatchNodeSelectorTerms(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: labels}}, &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}})
		if err != nil || !ok {
			t.Errorf("instance %s of type %s (%s) does not satisfy NodePool default's requirements (err %v)", inst.ID, inst.Type, inst.CapacityType, err)
		}
	}
	if launched < 2 {
		t.Errorf("%d instances launched, want at least the first node and the drained node's replacement or room elsewhere", launched)
	}
}

func assertDrainedNodeIsGone(t *testing.T, ctx context.Context, drained demo.NodeInfo) {
	t.Helper()
	inst, ok := lab.EC2.Instance(drained.InstanceID)
	if !ok || inst.State != ec2sim.StateTerminated {
		t.Errorf("drained instance %s: state %q, want terminated", drained.InstanceID, inst.State)
	}
	if _, err := lab.Kube.Client.CoreV1().Nodes().Get(ctx, drained.Name, metav1.GetOptions{}); err == nil {
		t.Errorf("drained Node %s still exists", drained.Name)
	}
	tc := temporalClient(t)
	d, err := tc.DescribeWorkflowExecution(ctx, drained.WorkflowID, "")
	if err != nil {
		t.Fatalf("describe %s: %v", drained.WorkflowID, err)
	}
	if got := d.GetWorkflowExecutionInfo().GetStatus(); got != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("workflow %s is %s, want Completed", drained.WorkflowID, got)
	}
}

// assertEveryInstanceIsOwned checks that each live instance is tagged with a running node
// workflow, and each terminated one with a closed workflow: nothing leaks.
func assertEveryInstanceIsOwned(t *testing.T, ctx context.Context) {
	t.Helper()
	tc := temporalClient(t)
	for _, inst := range lab.EC2.Instances() {
		if ownTemporalPools[inst.Tags[activities.TagNodePool]] {
			continue // its workflow lives on that test's own Temporal, which checked it
		}
		id := inst.Tags[activities.TagWorkflowID]
		if id == "" {
			t.Errorf("instance %s has no %s tag", inst.ID, activities.TagWorkflowID)
			continue
		}
		d, err := tc.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			t.Errorf("instance %s: its workflow %s: %v", inst.ID, id, err)
			continue
		}
		running := d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		if alive := inst.State != ec2sim.StateTerminated; alive != running {
			t.Errorf("instance %s is %s but its workflow %s is %s", inst.ID, inst.State, id, d.GetWorkflowExecutionInfo().GetStatus())
		}
	}
}

// replayHistory replays a workflow's real history with the current code, and refreshes the
// recorded history workflows/testdata/<file> when UPDATE_HISTORY=1.
func replayHistory(t *testing.T, ctx context.Context, workflowID string, wf any, file string) {
	t.Helper()
	tc := temporalClient(t)
	history := &historypb.History{}
	iter := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		history.Events = append(history.Events, e)
	}
	replayer := sdkworker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(wf)
	if err := replayer.ReplayWorkflowHistory(nil, history); err != nil {
		t.Errorf("replay %s (%d events): %v", workflowID, len(history.Events), err)
	}
	if os.Getenv("UPDATE_HISTORY") == "1" {
		data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(history)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "workflows", "testdata", file)
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}
