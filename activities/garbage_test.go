package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/protobuf/types/known/timestamppb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// gcNow is the garbage collector's clock in these tests.
var gcNow = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// worldEC2 answers DescribeInstances from a list of instances, honouring instance ids (an
// unknown one is NotFound, as EC2 answers) and the state filter, and records terminations.
type worldEC2 struct {
	fakeEC2
	instances []ec2types.Instance
}

func (w *worldEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	var states, tagKeys []string
	for _, f := range in.Filters {
		switch aws.ToString(f.Name) {
		case "instance-state-name":
			states = f.Values
		case "tag-key":
			tagKeys = f.Values
		}
	}
	var out []ec2types.Instance
	for _, i := range w.instances {
		if len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, aws.ToString(i.InstanceId)) {
			continue
		}
		if len(states) > 0 && !slices.Contains(states, string(i.State.Name)) {
			continue
		}
		if len(tagKeys) > 0 && !slices.ContainsFunc(i.Tags, func(t ec2types.Tag) bool { return slices.Contains(tagKeys, aws.ToString(t.Key)) }) {
			continue
		}
		out = append(out, i)
	}
	if len(in.InstanceIds) > 0 && len(out) == 0 {
		return nil, &smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound"}
	}
	return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: out}}}, nil
}

// gcInstance is a running instance of cluster "lab" launched age ago by workflow (no
// workflow tag when workflow is "").
func gcInstance(id, workflow string, age time.Duration) ec2types.Instance {
	i := ec2types.Instance{InstanceId: aws.String(id), LaunchTime: aws.Time(gcNow.Add(-age)),
		State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
		Tags:  []ec2types.Tag{{Key: aws.String(ClusterTagKey("lab")), Value: aws.String("owned")}}}
	if workflow != "" {
		i.Tags = append(i.Tags, ec2types.Tag{Key: aws.String(TagWorkflowID), Value: aws.String(workflow)})
	}
	return i
}

// fakeWorkflows is Temporal as the garbage collector sees it: visibility lists listed as
// running; Describe answers running for those and for lagging (started after the list was
// taken), NotFound for the others.
type fakeWorkflows struct {
	client.Client
	listed  []listedNode
	lagging []string
	// closed are workflows that ended, by how long ago.
	closed map[string]time.Duration
}

type listedNode struct {
	id, instance, phase string
}

// ListWorkflow answers the running node workflows' query one per page, so that a look that
// stops at the first page misses some.
func (f *fakeWorkflows) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	if req.Query != `WorkflowType = "NodeLifecycleWorkflow" AND ExecutionStatus = "Running"` {
		return nil, fmt.Errorf("unexpected query %q", req.Query)
	}
	page := 0
	if len(req.NextPageToken) > 0 {
		page = int(req.NextPageToken[0])
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	if page >= len(f.listed) {
		return resp, nil
	}
	n := f.listed[page]
	resp.Executions = []*workflowpb.WorkflowExecutionInfo{{
		Execution: &commonpb.WorkflowExecution{WorkflowId: n.id}, SearchAttributes: n.attributes()}}
	if page+1 < len(f.listed) {
		resp.NextPageToken = []byte{byte(page + 1)}
	}
	return resp, nil
}

func (n listedNode) attributes() *commonpb.SearchAttributes {
	fields := map[string]*commonpb.Payload{}
	for name, v := range map[string]string{"InstanceID": n.instance, "NodePhase": n.phase} {
		if v != "" {
			fields[name], _ = converter.GetDefaultDataConverter().ToPayload(v)
		}
	}
	return &commonpb.SearchAttributes{IndexedFields: fields}
}

func (f *fakeWorkflows) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if i := slices.IndexFunc(f.listed, func(n listedNode) bool { return n.id == id }); i >= 0 {
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, SearchAttributes: f.listed[i].attributes()}}, nil
	}
	running := slices.Contains(f.lagging, id)
	if ago, ok := f.closed[id]; ok && !running {
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, CloseTime: timestamppb.New(gcNow.Add(-ago))}}, nil
	}
	if !running {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil
}

// gcNode is a Node registered age ago for claim, managed by Nodewright or not.
func gcNode(name, claim string, managed bool, age time.Duration) *corev1.Node {
	labels := map[string]string{v1.LabelNodeClaim: claim}
	if managed {
		labels[LabelManaged] = "true"
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, CreationTimestamp: metav1.NewTime(gcNow.Add(-age))}}
}

func newGarbageCollector(ec2API EC2API, wf *fakeWorkflows, nodes ...*corev1.Node) *GarbageCollector {
	objects := make([]runtime.Object, 0, len(nodes))
	for _, n := range nodes {
		objects = append(objects, n)
	}
	return &GarbageCollector{EC2: &EC2{API: ec2API, ClusterName: "lab"}, Kube: fake.NewClientset(objects...), Workflows: wf,
		Now: func() time.Time { return gcNow }}
}

// runGC runs one of g's activities as the worker would.
func runGC(g *GarbageCollector, activity any, args ...any) (converter.EncodedValue, error) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(g)
	return env.ExecuteActivity(activity, args...)
}

func findGarbage(t *testing.T, g *GarbageCollector, q GarbageQuery) Garbage {
	t.Helper()
	val, err := runGC(g, g.FindGarbage, q)
	if err != nil {
		t.Fatalf("FindGarbage: %v", err)
	}
	var out Garbage
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFindGarbageReclaimsOnlyWhatNoRunningWorkflowAccountsFor(t *testing.T) {
	tests := []struct {
		name      string
		instances []ec2types.Instance
		workflows fakeWorkflows
		nodes     []*corev1.Node
		query     GarbageQuery
		want      Garbage
	}{
		{
			name:      "an instance whose workflow was terminated by hand",
			instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Minute)},
			want:      Garbage{Instances: []OrphanInstance{{ID: "i-1", WorkflowID: "node/a", Reason: ReasonNoWorkflow}}},
		},
		{
			name:      "a workflow that ended moments ago may still be cleaning up after itself",
			instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Hour)},
			nodes:     []*corev1.Node{gcNode("n1", "a", true, time.Hour)},
			workflows: fakeWorkflows{closed: map[string]time.Duration{"node/a": 10 * time.Second}},
		},
		{
			name:      "a workflow that ended a while ago leaves its instance and Node behind",
			instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Hour)},
			nodes:     []*corev1.Node{gcNode("n1", "a", true, time.Hour)},
			workflows: fakeWorkflows{closed: map[string]time.Duration{"node/a": time.Minute}},
			want: Garbage{Instances: []OrphanInstance{{ID: "i-1", WorkflowID: "node/a", Reason: ReasonNoWorkflow}},
				Claims: []OrphanClaim{{Claim: "a", Node: "n1"}}},
		},
		{
			name:      "an instance launched moments ago is given time to show up in visibility",
			instances: []ec2types.Instance{gcInstance("i-1", "node/a", 10*time.Second)},
		},
		{
			name:      "visibility lags but the workflow runs",
			instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Hour)},
			workflows: fakeWorkflows{lagging: []string{"node/a"}},
		},
		{
			name:      "an instance of this cluster no node workflow launched (a Karpenter's) is never touched",
			instances: []ec2types.Instance{gcInstance("i-1", "", time.Hour)},
		},
		{
			name:      "an instance its running workflow recorded",
			instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Hour)},
			workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-1"}}},
		},
		{
			name:      "a second instance of a running workflow, from a launch whose answer was lost",
			instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Hour), gcInstance("i-2", "node/a", time.Hour)},
			workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-1"}}},
			want:      Garbage{Instances: []OrphanInstance{{ID: "i-2", WorkflowID: "node/a", Reason: ReasonReplaced}}},
		},
		{
			name:      "a second instance still within the grace a launch retry may need",
			instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Hour), gcInstance("i-2", "node/a", 5*time.Minute)},
			workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-1"}}},
		},
		{
			name:      "EC2 does not know a running workflow's instance: maybe not yet, just after its launch",
			workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-1"}}},
			want:      Garbage{Missing: map[string]time.Time{"i-1": gcNow}},
		},
		{
			name:      "EC2 still does not know it a while after it was first missed",
			workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-1"}}},
			query:     GarbageQuery{Missing: map[string]time.Time{"i-1": gcNow.Add(-missingGrace)}},
			want:      Garbage{Vanished: []VanishedInstance{{WorkflowID: "node/a", InstanceID: "i-1", State: "not found"}}},
		},
		{
			name:      "an instance missed earlier is found again",
			instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Hour)},
			workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-1"}}},
			query:     GarbageQuery{Missing: map[string]time.Time{"i-1": gcNow.Add(-time.Hour)}},
		},
		{
			name:      "a running workflow whose instance is terminated",
			instances: []ec2types.Instance{terminated(gcInstance("i-1", "node/a", time.Hour))},
			workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-1"}}},
			want:      Garbage{Vanished: []VanishedInstance{{WorkflowID: "node/a", InstanceID: "i-1", State: "terminated"}}},
		},
		{
			name:      "a workflow terminating its own instance is left to it",
			instances: []ec2types.Instance{terminated(gcInstance("i-1", "node/a", time.Hour))},
			workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-1", phase: "Terminating"}}},
		},
		{
			name:      "a managed Node whose providerID names an instance its claim's workflow did not launch",
			nodes:     []*corev1.Node{withProvider(gcNode("n1", "a", true, time.Hour), "i-9")},
			instances: []ec2types.Instance{gcInstance("i-9", "", time.Hour)},
		},
		{
			name:      "a managed Node whose instance is the claim's",
			nodes:     []*corev1.Node{withProvider(gcNode("n1", "a", true, time.Hour), "i-1")},
			instances: []ec2types.Instance{terminated(gcInstance("i-1", "node/a", time.Hour))},
			want:      Garbage{Claims: []OrphanClaim{{Claim: "a", Node: "n1"}}},
		},
		{
			name:  "a managed Node whose workflow ended",
			nodes: []*corev1.Node{gcNode("n1", "a", true, time.Minute)},
			want:  Garbage{Claims: []OrphanClaim{{Claim: "a", Node: "n1"}}},
		},
		{
			name:      "a managed Node whose workflow runs",
			nodes:     []*corev1.Node{gcNode("n1", "a", true, time.Hour)},
			instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Hour)},
			workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-1"}}},
		},
		{
			name:  "a Node Nodewright does not manage",
			nodes: []*corev1.Node{gcNode("n1", "a", false, time.Hour)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGarbageCollector(&worldEC2{instances: tt.instances}, &tt.workflows, tt.nodes...)
			got := findGarbage(t, g, tt.query)
			if !equalGarbage(got, tt.want) {
				t.Errorf("FindGarbage = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalGarbage(a, b Garbage) bool {
	return slices.Equal(a.Instances, b.Instances) && slices.Equal(a.Claims, b.Claims) && slices.Equal(a.Vanished, b.Vanished) &&
		maps.Equal(a.Missing, b.Missing) && slices.Equal(a.Errors, b.Errors) && a.Halted == b.Halted
}

func terminated(i ec2types.Instance) ec2types.Instance {
	i.State = &ec2types.InstanceState{Name: ec2types.InstanceStateNameTerminated}
	return i
}

func withProvider(n *corev1.Node, instanceID string) *corev1.Node {
	n.Spec.ProviderID = ProviderID("us-east-1a", instanceID)
	return n
}

func TestFindGarbageBoundsWhatOneLookReturns(t *testing.T) {
	var instances []ec2types.Instance
	var workflows fakeWorkflows
	for i := range 3 * maxGarbagePerLook / 2 {
		instances = append(instances, gcInstance(fmt.Sprintf("i-%04d", i), "node/gone", time.Hour))
	}
	for i := range 2 * maxGarbagePerLook {
		id := fmt.Sprintf("i-healthy-%04d", i)
		instances = append(instances, gcInstance(id, "node/"+id, time.Hour))
		workflows.listed = append(workflows.listed, listedNode{id: "node/" + id, instance: id})
	}
	got := findGarbage(t, newGarbageCollector(&worldEC2{instances: instances}, &workflows), GarbageQuery{})
	if len(got.Instances) != maxGarbagePerLook || got.Halted != "" {
		t.Errorf("one look returned %d orphan instances (halted: %q), want %d: the rest wait for the next look", len(got.Instances), got.Halted, maxGarbagePerLook)
	}
}

// A worker pointed at another Temporal namespace sees every node as an orphan: it must not
// terminate the fleet.
func TestFindGarbageHaltsWhenMostOfTheClusterLooksOrphaned(t *testing.T) {
	var instances []ec2types.Instance
	for i := range brakeMin {
		instances = append(instances, gcInstance(fmt.Sprintf("i-%04d", i), fmt.Sprintf("node/%d", i), time.Hour))
	}
	got := findGarbage(t, newGarbageCollector(&worldEC2{instances: instances}, &fakeWorkflows{}), GarbageQuery{})
	if len(got.Instances) != 0 || !strings.Contains(got.Halted, "Temporal namespace") {
		t.Errorf("FindGarbage = %d orphans, halted %q; want none and a halt naming the likely cause", len(got.Instances), got.Halted)
	}
}

// A Kubernetes outage leaves the Nodes out of a look, not the instances.
func TestFindGarbageStillReclaimsInstancesWhenTheAPIServerFails(t *testing.T) {
	g := newGarbageCollector(&worldEC2{instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Hour)}}, &fakeWorkflows{})
	kube := fake.NewClientset()
	kube.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("apiserver unavailable")
	})
	g.Kube = kube
	got := findGarbage(t, g, GarbageQuery{})
	if len(got.Instances) != 1 || len(got.Errors) != 1 || !strings.Contains(got.Errors[0], "apiserver unavailable") {
		t.Errorf("FindGarbage = %+v; want the orphan instance and the Node list's error", got)
	}
}

// A NodeClaim of another autoscaler's node class group is never touched, whatever its labels.
func TestFindGarbageLeavesOtherGroupsNodeClaimsAlone(t *testing.T) {
	claim := func(name, group string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "karpenter.sh/v1", "kind": "NodeClaim",
			"metadata": map[string]any{"name": name, "labels": map[string]any{LabelManaged: "true"},
				"creationTimestamp": gcNow.Add(-time.Hour).Format(time.RFC3339)},
			"spec": map[string]any{"nodeClassRef": map[string]any{"group": group, "kind": "EC2NodeClass", "name": "default"}},
		}}
		return u
	}
	g := newGarbageCollector(&worldEC2{}, &fakeWorkflows{})
	g.NodeClassGroup = "nodewright.io"
	scheme := runtime.NewScheme()
	g.NodeClaims = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{v1.NodeClaimResource: "NodeClaimList"},
		claim("ours", "nodewright.io"), claim("karpenters", "karpenter.k8s.aws"))
	got := findGarbage(t, g, GarbageQuery{})
	if want := []OrphanClaim{{Claim: "ours"}}; !slices.Equal(got.Claims, want) {
		t.Errorf("orphan claims %+v, want only %+v", got.Claims, want)
	}
}

func TestCollectInstanceChecksAgainBeforeItTerminates(t *testing.T) {
	tests := []struct {
		name          string
		instance      ec2types.Instance
		workflows     fakeWorkflows
		reason        string
		wantReclaimed bool
		wantNotOurs   bool
	}{
		{name: "still orphaned", instance: gcInstance("i-1", "node/a", time.Hour), wantReclaimed: true},
		{name: "its workflow runs again (reset)", instance: gcInstance("i-1", "node/a", time.Hour),
			workflows: fakeWorkflows{lagging: []string{"node/a"}}},
		{name: "its tags were changed to another workflow", instance: gcInstance("i-1", "node/b", time.Hour), wantNotOurs: true},
		{name: "its tags were removed", instance: gcInstance("i-1", "", time.Hour), wantNotOurs: true},
		{name: "replaced, and its workflow still records the other instance", instance: gcInstance("i-1", "node/a", time.Hour),
			reason: ReasonReplaced, workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-0"}}}, wantReclaimed: true},
		{name: "replaced, but its workflow now records it", instance: gcInstance("i-1", "node/a", time.Hour),
			reason: ReasonReplaced, workflows: fakeWorkflows{listed: []listedNode{{id: "node/a", instance: "i-1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &worldEC2{instances: []ec2types.Instance{tt.instance}}
			g := newGarbageCollector(api, &tt.workflows)
			val, err := runGC(g, g.CollectInstance, OrphanInstance{ID: "i-1", WorkflowID: "node/a", Reason: cmp.Or(tt.reason, ReasonNoWorkflow)})
			var appErr *temporal.ApplicationError
			if tt.wantNotOurs {
				if !errors.As(err, &appErr) || appErr.Type() != ErrTypeNotOwned || !appErr.NonRetryable() {
					t.Fatalf("CollectInstance error = %v, want a non-retryable %s", err, ErrTypeNotOwned)
				}
			} else if err != nil {
				t.Fatalf("CollectInstance: %v", err)
			} else {
				var reclaimed bool
				if err := val.Get(&reclaimed); err != nil || reclaimed != tt.wantReclaimed {
					t.Errorf("reclaimed = %v (%v), want %v", reclaimed, err, tt.wantReclaimed)
				}
			}
			terminated := len(api.terminateCalls) > 0
			if terminated != tt.wantReclaimed {
				t.Errorf("TerminateInstances called: %v, want %v", terminated, tt.wantReclaimed)
			}
		})
	}
}

func TestCollectClaimDeletesOnlyTheClaimsManagedNode(t *testing.T) {
	tests := []struct {
		name        string
		node        *corev1.Node
		wantDeleted bool
		wantErr     bool
	}{
		{name: "the claim's managed node", node: gcNode("n1", "a", true, time.Hour), wantDeleted: true},
		{name: "the node now belongs to another claim", node: gcNode("n1", "b", true, time.Hour), wantErr: true},
		{name: "the node is not managed", node: gcNode("n1", "a", false, time.Hour), wantErr: true},
		{name: "the node's providerID names an instance the claim's workflow did not launch",
			node: withProvider(gcNode("n1", "a", true, time.Hour), "i-9"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &worldEC2{instances: []ec2types.Instance{gcInstance("i-1", "node/a", time.Hour), gcInstance("i-9", "", time.Hour)}}
			g := newGarbageCollector(api, &fakeWorkflows{}, tt.node)
			_, err := runGC(g, g.CollectClaim, OrphanClaim{Claim: "a", Node: "n1"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("CollectClaim error = %v, want error: %v", err, tt.wantErr)
			}
			_, getErr := g.Kube.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
			if deleted := getErr != nil; deleted != tt.wantDeleted {
				t.Errorf("node deleted: %v, want %v", deleted, tt.wantDeleted)
			}
			if !slices.Equal(slices.Concat(api.terminateCalls...), []string{"i-1"}) {
				t.Errorf("terminated %v, want the instance node/a launched, i-1", api.terminateCalls)
			}
		})
	}
}
