package activities

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// newTestMetrics registers the activity metrics on a registry of their own and returns
// both, the registry to read back as /metrics would serve it.
func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("register metrics: %v", err)
	}
	return m, reg
}

// exposition is the registry in Prometheus' text format, one series a line.
func exposition(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// assertSeries checks that each wanted line (name{labels} value) is served, and that no
// series starts with an unwanted prefix.
func assertSeries(t *testing.T, reg *prometheus.Registry, want, unwanted []string) {
	t.Helper()
	text := exposition(t, reg)
	lines := strings.Split(text, "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || l == w
		}
		if !found {
			t.Errorf("no series %s in\n%s", w, grepKarpenter(text))
		}
	}
	for _, u := range unwanted {
		for _, l := range lines {
			if strings.HasPrefix(l, u) {
				t.Errorf("unwanted series %s", l)
			}
		}
	}
}

func grepKarpenter(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "karpenter_") && !strings.Contains(l, "_bucket{") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

type apiError struct{ code string }

func (e apiError) Error() string                 { return e.code }
func (e apiError) ErrorCode() string             { return e.code }
func (e apiError) ErrorMessage() string          { return e.code }
func (e apiError) ErrorFault() smithy.ErrorFault { return smithy.FaultServer }

func TestEC2CallsAreTimedAndTheirErrorsCountedAsKarpentersCloudProvider(t *testing.T) {
	launched := &ec2.CreateFleetOutput{Instances: []ec2types.CreateFleetInstance{{
		InstanceIds: []string{"i-1"}, InstanceType: "m5.large", AvailabilityZone: aws.String("us-east-1a"),
	}}}
	claim := LaunchRequest{ClientToken: "t", Claim: claim(withZones("us-east-1a"))}
	duration := func(method string) string {
		return fmt.Sprintf(`karpenter_cloudprovider_duration_seconds_count{controller="nodeclaim.lifecycle",method="%s",provider="aws"} 1`, method)
	}
	tests := []struct {
		name     string
		api      *fakeEC2
		call     func(e *EC2) error
		want     []string
		unwanted []string
	}{
		{
			name: "a launch is a Create call",
			api:  &fakeEC2{fleetOut: launched},
			call: func(e *EC2) error { _, err := e.Launch(context.Background(), claim); return err },
			want: []string{duration("Create")}, unwanted: []string{"karpenter_cloudprovider_errors_total{"},
		},
		{
			name: "a launch without capacity is an InsufficientCapacityError",
			api:  &fakeEC2{fleetErr: apiError{"InsufficientInstanceCapacity"}},
			call: func(e *EC2) error { _, err := e.Launch(context.Background(), claim); return err },
			want: []string{duration("Create"),
				`karpenter_cloudprovider_errors_total{controller="nodeclaim.lifecycle",error="InsufficientCapacityError",method="Create",provider="aws"} 1`},
		},
		{
			name: "a termination is a Delete call, and an instance already gone no error",
			api:  &fakeEC2{describeOut: ownedRunning("i-1"), terminateErr: apiError{"InvalidInstanceID.NotFound"}},
			call: func(e *EC2) error { return e.Terminate(context.Background(), TerminateRequest{InstanceID: "i-1"}) },
			want: []string{duration("Delete")}, unwanted: []string{"karpenter_cloudprovider_errors_total{"},
		},
		{
			name: "a throttled termination is an error of no well-known type",
			api:  &fakeEC2{describeOut: ownedRunning("i-1"), terminateErr: apiError{"RequestLimitExceeded"}},
			call: func(e *EC2) error { return e.Terminate(context.Background(), TerminateRequest{InstanceID: "i-1"}) },
			want: []string{duration("Delete"),
				`karpenter_cloudprovider_errors_total{controller="nodeclaim.lifecycle",error="",method="Delete",provider="aws"} 1`},
		},
		{
			name: "describing an instance EC2 does not know is a Get with NodeClaimNotFoundError",
			api:  &fakeEC2{},
			call: func(e *EC2) error { _, err := e.DescribeInstance(context.Background(), "i-404"); return err },
			want: []string{duration("Get"),
				`karpenter_cloudprovider_errors_total{controller="nodeclaim.lifecycle",error="NodeClaimNotFoundError",method="Get",provider="aws"} 1`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := newTestMetrics(t)
			e := testEC2(tt.api)
			e.Metrics = m
			_ = tt.call(e)
			assertSeries(t, reg, tt.want, tt.unwanted)
		})
	}
}

func TestControllerForNamesKarpentersControllers(t *testing.T) {
	for wf, want := range map[string]string{
		"ProvisionerWorkflow": "provisioner", "DisruptionWorkflow": "disruption", "InterruptionWorkflow": "interruption",
		"NodeLifecycleWorkflow": "nodeclaim.lifecycle", "GarbageCollectorWorkflow": "nodeclaim.garbagecollection", "SomethingElse": "somethingelse",
	} {
		if got := controllerFor(wf); got != want {
			t.Errorf("controllerFor(%q) = %q, want %q", wf, got, want)
		}
	}
	if got := controllerOf(context.Background()); got != ControllerLifecycle {
		t.Errorf("outside an activity the controller is %q, want %q", got, ControllerLifecycle)
	}
}

func TestPlanTimesTheSchedulingSimulationUnderBothOfKarpentersNames(t *testing.T) {
	m, reg := newTestMetrics(t)
	p := newTestPlanner(t, &fakeEC2{typePages: [][]string{{"m5.large"}}}, pod("web-1", pending(), requesting("1", "1Gi")))
	p.Metrics = m
	if _, err := p.Plan(context.Background(), PlanRequest{}); err != nil {
		t.Fatalf("plan: %v", err)
	}
	assertSeries(t, reg, []string{
		`karpenter_cloudprovider_duration_seconds_count{controller="nodeclaim.lifecycle",method="GetInstanceTypes",provider="aws"} 1`, // outside an activity
		`karpenter_scheduler_scheduling_duration_seconds_count{controller="provisioner"} 1`,
		`karpenter_provisioner_scheduling_duration_seconds_count 1`,
	}, nil)
}

// fakeSQS serves one batch of message bodies and records deletions.
type fakeSQS struct {
	bodies  []string
	deleted []string
}

func (f *fakeSQS) GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	return &sqs.GetQueueUrlOutput{QueueUrl: aws.String("http://sqs/q")}, nil
}

func (f *fakeSQS) ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	out := &sqs.ReceiveMessageOutput{}
	for i, b := range f.bodies {
		out.Messages = append(out.Messages, sqstypes.Message{Body: aws.String(b), ReceiptHandle: aws.String(fmt.Sprint(i)), MessageId: aws.String(fmt.Sprint(i))})
	}
	return out, nil
}

func (f *fakeSQS) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	f.deleted = append(f.deleted, aws.ToString(in.ReceiptHandle))
	return &sqs.DeleteMessageOutput{}, nil
}

// event is an EventBridge event sent a minute ago.
func event(detailType, detail string) string {
	return fmt.Sprintf(`{"version":"0","id":"e","source":"aws.ec2","detail-type":%q,"time":%q,"detail":%s}`,
		detailType, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), detail)
}

func TestInterruptionMessagesAreCountedByKarpentersMessageType(t *testing.T) {
	api := &fakeSQS{bodies: []string{
		event("EC2 Spot Instance Interruption Warning", `{"instance-id":"i-1","instance-action":"terminate"}`),
		event("EC2 Instance State-change Notification", `{"instance-id":"i-2","state":"stopping"}`),
		event("EC2 Instance State-change Notification", `{"instance-id":"i-3","state":"shutting-down"}`),
		event("EC2 Instance State-change Notification", `{"instance-id":"i-4","state":"running"}`),
		event("EC2 Instance Rebalance Recommendation", `{"instance-id":"i-5"}`),
		event("EC2 Fleet Error", `{}`),
		`not json`,
	}}
	m, reg := newTestMetrics(t)
	s := &Interruptions{API: api, Metrics: m}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(s)
	got, err := env.ExecuteActivity(s.ReceiveInterruptions, "http://sqs/q")
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	var msgs []InterruptionMessage
	if err := got.Get(&msgs); err != nil {
		t.Fatal(err)
	}
	if msgs[1].State != "stopping" || msgs[2].State != "shutting-down" {
		t.Errorf("state-change messages carry states %q and %q, want stopping and shutting-down", msgs[1].State, msgs[2].State)
	}
	for _, msg := range msgs[:2] {
		if err := s.DeleteInterruption(context.Background(), "http://sqs/q", msg.ReceiptHandle); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	assertSeries(t, reg, []string{
		`karpenter_interruption_received_messages_total{message_type="spot_interrupted"} 1`,
		`karpenter_interruption_received_messages_total{message_type="instance_stopped"} 1`,
		`karpenter_interruption_received_messages_total{message_type="instance_terminated"} 1`,
		`karpenter_interruption_received_messages_total{message_type="rebalance_recommendation"} 1`,
		// an instance entering running, and an event Nodewright does not act on
		`karpenter_interruption_received_messages_total{message_type="no_op"} 2`,
		`karpenter_interruption_deleted_messages_total 2`,
		// the malformed and the unsupported message have no event time to measure from
		`karpenter_interruption_message_queue_duration_seconds_count 5`,
		`karpenter_interruption_message_queue_duration_seconds_bucket{le="60"} 0`,
	}, nil)
}

// eligibleNode is a disruption candidate of pool "default" with the given changes.
func eligibleNode(name string, opts ...func(*disruption.Node)) disruption.Node {
	n := disruption.Node{Name: name, NodePool: "default", Claim: "c-" + name, Ready: true, Initialized: true}
	for _, o := range opts {
		o(&n)
	}
	return n
}

func withPods(pods ...*corev1.Pod) func(*disruption.Node) {
	return func(n *disruption.Node) { n.Pods = pods }
}

func TestEligibleNodesAreCountedByKarpentersReason(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	pool := func(policy v1.ConsolidationPolicy, after string) v1.NodePool {
		p := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
		p.Spec.Disruption.ConsolidationPolicy = policy
		if err := p.Spec.Disruption.ConsolidateAfter.UnmarshalJSON([]byte(`"` + after + `"`)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	daemon := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ds", OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "ds", Controller: ptr.To(true)}}}}
	app := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app"}}
	tests := []struct {
		name    string
		pool    v1.NodePool
		nodes   []disruption.Node
		skipped map[string]disruption.Skip
		want    map[string]int
	}{
		{
			name:  "an empty node of a pool that consolidates is eligible as empty and underutilized",
			pool:  pool(v1.ConsolidationPolicyWhenEmptyOrUnderutilized, "0s"),
			nodes: []disruption.Node{eligibleNode("a", withPods(daemon)), eligibleNode("b", withPods(app))},
			want:  map[string]int{"empty": 1, "drifted": 0, "underutilized": 2},
		},
		{
			name:  "WhenEmpty pools offer no underutilized nodes",
			pool:  pool(v1.ConsolidationPolicyWhenEmpty, "0s"),
			nodes: []disruption.Node{eligibleNode("a"), eligibleNode("b", withPods(app))},
			want:  map[string]int{"empty": 1, "drifted": 0, "underutilized": 0},
		},
		{
			name:  "consolidateAfter Never leaves only drift",
			pool:  pool(v1.ConsolidationPolicyWhenEmptyOrUnderutilized, "Never"),
			nodes: []disruption.Node{eligibleNode("a"), eligibleNode("b", func(n *disruption.Node) { n.Drifted = true })},
			want:  map[string]int{"empty": 0, "drifted": 1, "underutilized": 0},
		},
		{
			name: "protected, starting, leaving and foreign nodes are not eligible",
			pool: pool(v1.ConsolidationPolicyWhenEmptyOrUnderutilized, "0s"),
			nodes: []disruption.Node{
				eligibleNode("blocked", func(n *disruption.Node) { n.Drifted = true }),
				eligibleNode("starting", func(n *disruption.Node) { n.Drifted, n.Initialized = true, false }),
				eligibleNode("leaving", func(n *disruption.Node) { n.Deleting = true }),
				eligibleNode("foreign", func(n *disruption.Node) { n.NodePool, n.Claim = "", "" }),
				eligibleNode("orphan", func(n *disruption.Node) { n.NodePool = "gone" }),
			},
			skipped: map[string]disruption.Skip{"blocked": {Kind: disruption.SkipBlocked, Why: "do-not-disrupt"}},
			want:    map[string]int{"empty": 0, "drifted": 0, "underutilized": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := disruption.Snapshot{Now: now, NodePools: []v1.NodePool{tt.pool}, Nodes: tt.nodes}
			got := eligibleNodes(snap, tt.skipped)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("eligible %v, want %v", got, tt.want)
			}
			m, reg := newTestMetrics(t)
			m.setEligible(got)
			assertSeries(t, reg, []string{fmt.Sprintf(`karpenter_voluntary_disruption_eligible_nodes{reason="empty"} %d`, tt.want["empty"])}, nil)
		})
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	err := fmt.Errorf("boom")
	m.cloudProviderCall(context.Background(), MethodCreate, time.Now(), &err)
	m.scheduled(ControllerProvisioner, time.Now())
	m.setEligible(map[string]int{"empty": 1})
	m.received("spot_interrupted", time.Now())
	m.deleted()
}
