package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// whyNode is a node workflow the fake Temporal knows: its input, its state and whether it
// completed (then only its result tells the state: a query would need a worker).
type whyNode struct {
	input     workflows.NodeLifecycleInput
	state     workflows.NodeState
	completed bool
	// launched, when set, is the input of the first run of a workflow that continued as new
	// (input is then the current run's); firstRunGone says retention removed that run.
	launched     *workflows.NodeLifecycleInput
	firstRunGone bool
}

// whyClient is a Temporal client holding node workflows, the Provisioner's and the disruption
// controller's states; other calls land on the nil embedded client and panic.
type whyClient struct {
	client.Client
	nodes       map[string]whyNode // by workflow id
	provisioner *workflows.ProvisionerState
	disruption  *workflows.DisruptionState
}

func (c *whyClient) dial(context.Context, client.Options) (client.Client, error) { return c, nil }
func (c *whyClient) Close()                                                      {}

func (c *whyClient) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if _, ok := c.nodes[id]; !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{}, nil
}

func (c *whyClient) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	var out []*workflowpb.WorkflowExecutionInfo
	for id, n := range c.nodes {
		if n.completed && strings.Contains(req.Query, "Running") {
			continue
		}
		name, _ := converter.GetDefaultDataConverter().ToPayload(n.state.NodeName)
		instance, _ := converter.GetDefaultDataConverter().ToPayload(n.state.InstanceID)
		out = append(out, &workflowpb.WorkflowExecutionInfo{
			Execution:        &commonpb.WorkflowExecution{WorkflowId: id},
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"NodeName": name, "InstanceID": instance}},
		})
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: out}, nil
}

func (c *whyClient) QueryWorkflow(_ context.Context, id, _, query string, _ ...any) (converter.EncodedValue, error) {
	var v any
	switch n, ok := c.nodes[id]; {
	case query != workflows.QueryState:
	case ok && !n.completed:
		v = n.state
	case id == workflows.ProvisionerID && c.provisioner != nil:
		v = *c.provisioner
	case id == workflows.DisruptionID && c.disruption != nil:
		v = *c.disruption
	}
	if v == nil {
		return nil, serviceerror.NewNotFound("no answer for " + id)
	}
	payloads, err := converter.GetDefaultDataConverter().ToPayloads(v)
	return encodedValues{payloads}, err
}

func (c *whyClient) GetWorkflowHistory(_ context.Context, id, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	n, ok := c.nodes[id]
	if !ok || runID == firstRun && (n.launched == nil || n.firstRunGone) {
		return &historyEvents{err: serviceerror.NewNotFound("workflow not found for ID: " + id)}
	}
	dc := converter.GetDefaultDataConverter()
	if runID == firstRun {
		input, _ := dc.ToPayloads(n.launched)
		return &historyEvents{events: []*historypb.HistoryEvent{{
			EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
			EventTime: timestamppb.New(whyEpoch),
			Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
				WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: input, FirstExecutionRunId: firstRun},
			},
		}}}
	}
	input, _ := dc.ToPayloads(n.input)
	started := &historypb.WorkflowExecutionStartedEventAttributes{Input: input}
	at := whyEpoch
	if n.launched != nil {
		started.FirstExecutionRunId, started.ContinuedExecutionRunId = firstRun, "second-run"
		at = whyEpoch.Add(24 * time.Hour)
	}
	events := []*historypb.HistoryEvent{{
		EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		EventTime: timestamppb.New(at),
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: started,
		},
	}}
	if n.completed {
		result, _ := dc.ToPayloads(workflows.NodeLifecycleResult{State: n.state})
		events = append(events, &historypb.HistoryEvent{
			EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{
				WorkflowExecutionCompletedEventAttributes: &historypb.WorkflowExecutionCompletedEventAttributes{Result: result},
			},
		})
	}
	return &historyEvents{events: events}
}

// historyEvents iterates over a history, or fails with err.
type historyEvents struct {
	events []*historypb.HistoryEvent
	err    error
}

func (h *historyEvents) HasNext() bool { return h.err != nil || len(h.events) > 0 }
func (h *historyEvents) Next() (*historypb.HistoryEvent, error) {
	if h.err != nil {
		return nil, h.err
	}
	ev := h.events[0]
	h.events = h.events[1:]
	return ev, nil
}

var whyEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// firstRun is the run id of a node workflow's first run in whyClient's histories.
const firstRun = "first-run"

// launchedNode is a node of pool general launched for ns/web-1 and ns/web-2.
func launchedNode(claim, node string) whyNode {
	return whyNode{
		input: workflows.NodeLifecycleInput{Claim: activities.Claim{
			Name: claim, NodePool: "general", Pods: []string{"ns/web-1", "ns/web-2"},
			InstanceTypes: []string{"c5.large", "m5.large", "r5.large"}, Zones: []string{"us-east-1a"},
			CapacityTypes: []string{"on-demand"}, PricePerHour: 0.085,
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1200m")},
		}},
		state: workflows.NodeState{
			Phase: workflows.PhaseReady, Claim: claim, NodePool: "general", NodeName: node,
			InstanceID: "i-0abc", InstanceType: "c5.large", Zone: "us-east-1a", CapacityType: "on-demand", PricePerHour: 0.085,
		},
	}
}

// consolidated is n once the disruption controller's decision d took it away.
func consolidated(n whyNode) whyNode {
	n.completed = true
	n.state.Phase = workflows.PhaseTerminated
	n.state.Disruption = &workflows.Disruption{
		Source: workflows.SourceDisruption, Reason: "Underutilized", DecisionID: "run-7",
		Savings: 0.04, Replacement: "general-repl", RequestedAt: whyEpoch.Add(time.Hour),
	}
	return n
}

func runWhyCLI(t *testing.T, c *whyClient, kube kubernetes.Interface, args ...string) (string, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := &cli{stdout: &stdout, stderr: &stderr, env: temporalconn.MapEnv{}, dial: c.dial,
		kube: func(string, string) (kubernetes.Interface, string, error) { return kube, "ns", nil }} // the context's namespace
	code := app.execute(context.Background(), append([]string{"why"}, args...), "test")
	return stdout.String(), code, stderr.String()
}

func TestWhyNodeTellsTheClaimItWasLaunchedForAndItsDisruption(t *testing.T) {
	decision := workflows.DecisionRecord{ID: "run-7", Method: "replace", Reason: "Underutilized", Nodes: []string{"ip-10-0-0-1"}, Outcome: "Disrupted"}
	replacement := launchedNode("general-repl", "ip-10-0-0-9")
	replacement.input.CreationReason = "underutilized"
	tests := []struct {
		name string
		node whyNode
		arg  string
		// wantStatus, wantSource and wantDecision are the answer's workflow status, disruption
		// source and decision method ("" for none); wantTable are fragments of the table.
		wantStatus, wantSource, wantDecision string
		wantTable                            []string
	}{
		{
			name: "a running node shows its claim, pool, pods, allowed types and price",
			node: launchedNode("general-abc", "ip-10-0-0-1"), arg: "ip-10-0-0-1", wantStatus: "Running",
			wantTable: []string{"provisioned for 2 pending pod(s)", "NodePool:        general", "ns/web-1, ns/web-2",
				"3, cheapest first: c5.large, m5.large, r5.large", "$0.0850/h", "cpu=1200m", "Disruption:      -"},
		},
		{
			name: "a consolidated node's workflow has completed: its result and the decision tell why it went",
			node: consolidated(launchedNode("general-abc", "ip-10-0-0-1")), arg: "ip-10-0-0-1",
			wantStatus: "Completed", wantSource: workflows.SourceDisruption, wantDecision: "replace",
			wantTable: []string{"Disruption Underutilized", "general-repl, saves $0.0400/h", "run-7 replace Underutilized of ip-10-0-0-1: Disrupted", "Terminated"},
		},
		{
			name: "a replacement says which disruption it replaces for",
			node: replacement, arg: "node/general-repl", wantStatus: "Running",
			wantTable: []string{"replacement for a disruption (underutilized)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &whyClient{
				nodes:      map[string]whyNode{workflows.NodeWorkflowID(tt.node.input.Claim.Name): tt.node},
				disruption: &workflows.DisruptionState{Recent: []workflows.DecisionRecord{decision}},
			}
			out, code, stderr := runWhyCLI(t, c, nil, tt.arg, "-o", "json")
			if code != 0 {
				t.Fatalf("why %s exited %d: %s", tt.arg, code, stderr)
			}
			var got NodeWhy
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("decode %s: %v", out, err)
			}
			if got.Status != tt.wantStatus || got.Launch.NodePool != "general" || got.Launch.PricePerHour != 0.085 || len(got.Launch.Pods) != 2 {
				t.Errorf("got status %s, launch %+v; want %s, pool general, $0.085, two pods", got.Status, got.Launch, tt.wantStatus)
			}
			if source := ""; got.State.Disruption != nil {
				source = got.State.Disruption.Source
				if source != tt.wantSource {
					t.Errorf("disruption source %q, want %q", source, tt.wantSource)
				}
			} else if tt.wantSource != "" {
				t.Errorf("no disruption, want source %q", tt.wantSource)
			}
			if method := ""; got.Decision != nil || tt.wantDecision != "" {
				if got.Decision != nil {
					method = got.Decision.Method
				}
				if method != tt.wantDecision {
					t.Errorf("decision %+v, want method %q", got.Decision, tt.wantDecision)
				}
			}
			table, code, stderr := runWhyCLI(t, c, nil, tt.arg)
			if code != 0 {
				t.Fatalf("why %s exited %d: %s", tt.arg, code, stderr)
			}
			for _, want := range tt.wantTable {
				if !strings.Contains(table, want) {
					t.Errorf("table lacks %q:\n%s", want, table)
				}
			}
		})
	}
}

func TestWhyNodeThatNoWorkflowManagesFails(t *testing.T) {
	c := &whyClient{nodes: map[string]whyNode{"node/general-abc": launchedNode("general-abc", "ip-10-0-0-1")}}
	_, code, stderr := runWhyCLI(t, c, nil, "ip-10-9-9-9")
	if code != 1 || !strings.Contains(stderr, "no running node workflow matches") {
		t.Errorf("why of an unknown node exited %d: %s; want 1 saying no workflow matches", code, stderr)
	}
}

// pendingPod is ns/big, not bound.
func pendingPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "big", UID: "uid-big"}}
}

// podEventOf is an event Nodewright reported about ns/big at.
func podEventOf(name, reason, message string, at time.Time) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: "ns", Name: name},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "big", UID: "uid-big"},
		Reason:         reason, Message: message, Source: corev1.EventSource{Component: "nodewright"},
		LastTimestamp: metav1.NewTime(at),
	}
}

func TestWhyPodSaysWhereItRunsWhatItWaitsForOrWhyNoNodeTakesIt(t *testing.T) {
	ours := launchedNode("general-abc", "ip-10-0-0-1")
	failedClaim := launchedNode("general-bad", "")
	failedClaim.state.Phase = workflows.PhaseFailed
	// EC2 names nodes by private IP, which a later instance may have again.
	endedOnIP9 := consolidated(launchedNode("general-old", "ip-10-0-0-9"))
	endedOnIP9.state.InstanceID = "i-0old"
	bound := func(node string) *corev1.Pod {
		p := pendingPod()
		p.Spec.NodeName = node
		p.Status.Phase = corev1.PodRunning
		return p
	}
	launching := launchedNode("general-new", "")
	launching.input.Claim.Pods = []string{"ns/web-3", "ns/big"}
	launching.state.Phase = workflows.PhaseLaunching
	planAt := whyEpoch.Add(time.Minute)
	plan := &workflows.ProvisionerState{LastPlan: &workflows.PlanSummary{At: planAt, Unschedulable: map[string]string{
		"ns/big": "NodePool general: no instance type has 64 cpu",
	}}}
	tests := []struct {
		name        string
		objects     []runtime.Object
		provisioner *workflows.ProvisionerState
		// want is the answer's status, claim, reason and source; wantTable fragments of the table.
		want      PodWhy
		wantTable []string
	}{
		{
			name: "a pod bound to a Nodewright node names its claim and pool", objects: []runtime.Object{bound("ip-10-0-0-1")},
			want:      PodWhy{Status: PodBound, Node: "ip-10-0-0-1", Claim: "general-abc", NodePool: "general"},
			wantTable: []string{"Bound to node ip-10-0-0-1", "general-abc (workflow node/general-abc, Ready)"},
		},
		{
			name: "a pod on a node whose name an ended node workflow once had is not that workflow's",
			objects: []runtime.Object{bound("ip-10-0-0-9"), &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "ip-10-0-0-9"}, Spec: corev1.NodeSpec{ProviderID: "aws:///us-east-1a/i-0mng"},
			}},
			want:      PodWhy{Status: PodBound, Node: "ip-10-0-0-9"},
			wantTable: []string{"(not a Nodewright node)"},
		},
		{
			name: "a pod bound to another node says it is not Nodewright's", objects: []runtime.Object{bound("kind-worker")},
			want:      PodWhy{Status: PodBound, Node: "kind-worker"},
			wantTable: []string{"(not a Nodewright node)"},
		},
		{
			name: "a pending pod in the last plan's sample has the engine's reason", objects: []runtime.Object{pendingPod()}, provisioner: plan,
			want:      PodWhy{Status: PodPending, Reason: "NodePool general: no instance type has 64 cpu", Source: "the Provisioner's last plan"},
			wantTable: []string{"Reason:  NodePool general: no instance type has 64 cpu", "From:    the Provisioner's last plan, 2026-03-01T12:01:00Z"},
		},
		{
			name: "a newer FailedScheduling event than the plan gives the reason",
			objects: []runtime.Object{pendingPod(), podEventOf("e1", "FailedScheduling",
				"Failed to schedule pod, NodePool general: limits exceeded", planAt.Add(time.Minute))},
			provisioner: plan,
			want:        PodWhy{Status: PodPending, Reason: "NodePool general: limits exceeded", Source: "FailedScheduling event"},
		},
		{
			name: "another component's events are not Nodewright's reason",
			objects: []runtime.Object{pendingPod(), func() *corev1.Event {
				ev := podEventOf("e1", "FailedScheduling", "0/3 nodes are available", planAt)
				ev.Source.Component = "default-scheduler"
				return ev
			}()},
			want: PodWhy{Status: PodPending, Reason: "neither the Provisioner's last plan nor an event names this pod yet: it is waiting for the next plan (is a worker running?)"},
		},
		{
			name: "a pod nominated to a claim on its way after its last failure waits for that claim",
			objects: []runtime.Object{pendingPod(),
				podEventOf("e1", "FailedScheduling", "Failed to schedule pod, NodePool general: limits exceeded", whyEpoch),
				podEventOf("e2", "Nominated", "Pod should schedule on: nodeclaim/general-abc", whyEpoch.Add(time.Minute))},
			want:      PodWhy{Status: PodNominated, Claim: "general-abc", NodePool: "general", Node: "ip-10-0-0-1", Source: "Nominated event"},
			wantTable: []string{"Pending, nominated to claim general-abc (node/general-abc)"},
		},
		{
			name: "a pod whose Nominated event was not sent (they are paced) is found in its claim's node workflow",
			objects: []runtime.Object{pendingPod(),
				podEventOf("e1", "FailedScheduling", "Failed to schedule pod, NodePool general: limits exceeded", whyEpoch)},
			provisioner: &workflows.ProvisionerState{InFlight: map[string]workflows.InFlightClaim{
				"general-abc": {InFlightClaim: activities.InFlightClaim{Name: "general-abc"}, At: whyEpoch.Add(time.Minute)},
				"general-new": {InFlightClaim: activities.InFlightClaim{Name: "general-new"}, At: whyEpoch.Add(time.Minute)},
			}},
			want:      PodWhy{Status: PodNominated, Claim: "general-new", NodePool: "general", Source: "the node workflow of the claim planned for it"},
			wantTable: []string{"Pending, nominated to claim general-new (node/general-new)"},
		},
		{
			name: "a claim started before the pod's last failure no longer holds it",
			objects: []runtime.Object{pendingPod(),
				podEventOf("e1", "FailedScheduling", "Failed to schedule pod, NodePool general: limits exceeded", whyEpoch)},
			provisioner: &workflows.ProvisionerState{InFlight: map[string]workflows.InFlightClaim{
				"general-new": {InFlightClaim: activities.InFlightClaim{Name: "general-new"}, At: whyEpoch.Add(-time.Minute)},
			}},
			want: PodWhy{Status: PodPending, Reason: "NodePool general: limits exceeded", Source: "FailedScheduling event"},
		},
		{
			name: "a pod nominated to a claim that failed is pending for its last reason",
			objects: []runtime.Object{pendingPod(),
				podEventOf("e1", "FailedScheduling", "Failed to schedule pod, NodePool general: limits exceeded", whyEpoch),
				podEventOf("e2", "Nominated", "Pod should schedule on: nodeclaim/general-bad", whyEpoch.Add(time.Minute))},
			want: PodWhy{Status: PodPending, Reason: "NodePool general: limits exceeded", Source: "FailedScheduling event"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &whyClient{provisioner: tt.provisioner, nodes: map[string]whyNode{
				"node/general-abc": ours, "node/general-bad": failedClaim, "node/general-old": endedOnIP9, "node/general-new": launching,
			}}
			kube := kubefake.NewClientset(tt.objects...)
			out, code, stderr := runWhyCLI(t, c, kube, "pod/ns/big", "-o", "json")
			if code != 0 {
				t.Fatalf("why pod/ns/big exited %d: %s", code, stderr)
			}
			var got PodWhy
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("decode %s: %v", out, err)
			}
			if got.Pod != "ns/big" || got.Status != tt.want.Status || got.Node != tt.want.Node || got.Claim != tt.want.Claim ||
				got.NodePool != tt.want.NodePool || got.Reason != tt.want.Reason || got.Source != tt.want.Source {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			table, _, _ := runWhyCLI(t, c, kube, "pod/ns/big")
			for _, want := range tt.wantTable {
				if !strings.Contains(table, want) {
					t.Errorf("table lacks %q:\n%s", want, table)
				}
			}
			if short, _, _ := runWhyCLI(t, c, kube, "pod/big"); short != table {
				t.Errorf("why pod/big (in the context's namespace ns) printed\n%s\nwhy pod/ns/big\n%s", short, table)
			}
		})
	}
}

func TestWhyArguments(t *testing.T) {
	tests := []struct {
		arg                 string
		wantNode            string
		wantNamespace, want string
		wantErr             string
	}{
		{arg: "ip-10-0-0-1", wantNode: "ip-10-0-0-1"},
		{arg: "node/general-abc", wantNode: "node/general-abc"},
		{arg: "pod/ns/web-1", wantNamespace: "ns", want: "web-1"},
		{arg: "pod/web-1", wantNamespace: "", want: "web-1"}, // the kubeconfig context's, once connected
		{arg: "pod/a/b/c", wantErr: "want pod/NAMESPACE/NAME"},
		{arg: "pod/", wantErr: `name "" is not valid`},
		{arg: "pod/ns/Web_1", wantErr: `name "Web_1" is not valid`},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			var c command
			err := whyArgs(&c, []string{tt.arg})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("whyArgs(%q) = %v, want an error saying %q", tt.arg, err, tt.wantErr)
				}
				return
			}
			if err != nil || c.node != tt.wantNode || c.why.podNamespace != tt.wantNamespace || c.why.podName != tt.want {
				t.Errorf("whyArgs(%q) = %v: node %q, pod %s/%s", tt.arg, err, c.node, c.why.podNamespace, c.why.podName)
			}
		})
	}
}

// A node that continued as new (a long-lived one) is explained by its first run's start: the
// reason it was made and when, which later runs do not carry. Without that run (retention),
// the current run's start stands in.
func TestWhyNodeReadsTheLaunchFromTheFirstRun(t *testing.T) {
	replacement := launchedNode("general-repl1", "ip-10-0-0-9")
	replacement.launched = &workflows.NodeLifecycleInput{Claim: replacement.input.Claim, CreationReason: "Replacement of ip-10-0-0-4 (Drifted)"}
	gone := replacement
	gone.firstRunGone = true
	tests := []struct {
		name       string
		node       whyNode
		wantReason string
		wantAt     time.Time
	}{
		{"first run kept", replacement, "Replacement of ip-10-0-0-4 (Drifted)", whyEpoch},
		{"first run gone", gone, reasonProvisioned, whyEpoch.Add(24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &whyClient{nodes: map[string]whyNode{"node/general-repl1": tt.node}}
			op := &Operator{Client: c, TaskQueue: workflows.TaskQueue}
			why, err := op.WhyNode(context.Background(), "general-repl1")
			if err != nil {
				t.Fatal(err)
			}
			if why.Launch.Reason != tt.wantReason || !why.Launch.StartedAt.Equal(tt.wantAt) {
				t.Errorf("launch %q at %s, want %q at %s", why.Launch.Reason, why.Launch.StartedAt, tt.wantReason, tt.wantAt)
			}
		})
	}
}
