package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/apis/loader"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
	"github.com/nodewright/nodewright/workflows"
)

// maxPayloadBytes is the most any one payload may hold: half of Temporal's 512 KB warning,
// an eighth of its 2 MB blob limit.
const maxPayloadBytes = 256 << 10

// payloadSizes is the default data converter, noting the largest payload it made and what
// it held.
type payloadSizes struct {
	converter.DataConverter
	mu      sync.Mutex
	largest int
	of      string
}

func (s *payloadSizes) ToPayload(value any) (*commonpb.Payload, error) {
	p, err := s.DataConverter.ToPayload(value)
	if err == nil {
		s.note(value, proto.Size(p))
	}
	return p, err
}

func (s *payloadSizes) ToPayloads(values ...any) (*commonpb.Payloads, error) {
	out := &commonpb.Payloads{}
	for _, v := range values {
		p, err := s.ToPayload(v)
		if err != nil {
			return nil, err
		}
		out.Payloads = append(out.Payloads, p)
	}
	return out, nil
}

// tooLarge says whether some payload was over maxPayloadBytes.
func (s *payloadSizes) tooLarge() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.largest > maxPayloadBytes
}

func (s *payloadSizes) note(value any, size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if size > s.largest {
		s.largest, s.of = size, fmt.Sprintf("%T", value)
	}
}

// pendingPodsPool allows the types big enough to pack many small pods.
const pendingPodsPool = `
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      requirements:
        - key: node.kubernetes.io/instance-type
          operator: In
          values: ["m5.large", "m5.xlarge", "m5.2xlarge", "m5.4xlarge", "c5.large", "c5.xlarge"]
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
  role: NodeRole
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
`

// startedClaims stands in for the node workflows: it keeps the claims the Provisioner
// started and, as NodeWorkflowPods reads them from those workflows' inputs, their pods.
type startedClaims struct {
	mu     sync.Mutex
	claims []activities.Claim
}

func (s *startedClaims) PodsOf(_ context.Context, names []string) (map[string][]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, c := range s.claims {
		if slices.Contains(names, c.Name) {
			out[c.Name] = c.Pods
		}
	}
	return out, nil
}

func (s *startedClaims) add(c activities.Claim) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims = append(s.claims, c)
}

// TestPendingPodsFitInSmallPayloads plans 20,000 and 50,000 pending pods with the real
// planner and checks every payload the Provisioner sends or receives on the way (the pod
// watcher's signal, plan requests and results, node workflow inputs, the state query and
// the continue-as-new input) stays under maxPayloadBytes, and that every pod gets exactly
// one claim.
func TestPendingPodsFitInSmallPayloads(t *testing.T) {
	for _, podCount := range []int{20_000, 50_000} {
		t.Run(fmt.Sprintf("%d pods", podCount), func(t *testing.T) { pendingPodsFitInSmallPayloads(t, podCount) })
	}
}

func pendingPodsFitInSmallPayloads(t *testing.T, podCount int) {
	client := fake.NewClientset()
	refs := make([]workflows.PodRef, 0, podCount)
	for i := range podCount {
		p := pendingPod(fmt.Sprintf("team-%02d", i%40), fmt.Sprintf("worker-%05d", i), func(p *corev1.Pod) {
			p.Spec.Containers = []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
			}}}}
		})
		if err := client.Tracker().Add(p); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, workflows.PodRef{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID)})
	}
	planner, claims := pendingPodsPlanner(t, client)

	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	sizes := &payloadSizes{DataConverter: converter.GetDefaultDataConverter()}
	env.SetDataConverter(sizes)
	env.SetTestTimeout(10 * time.Minute)
	env.RegisterWorkflow(workflows.ProvisionerWorkflow)
	env.RegisterWorkflow(workflows.NodeLifecycleWorkflow)
	env.RegisterActivity(planner)
	signals := &activities.Signals{}
	env.RegisterActivity(signals)
	env.OnActivity(signals.StartWorkflows, mock.Anything, mock.Anything).Return(
		func(_ context.Context, starts []activities.WorkflowStart) ([]activities.StartOutcome, error) {
			for _, s := range starts {
				var in workflows.NodeLifecycleInput
				if err := json.Unmarshal(s.Input, &in); err != nil {
					return nil, err
				}
				sizes.note(in, len(s.Input)) // the node workflow's input, as its history keeps it
				claims.add(in.Claim)
			}
			return make([]activities.StartOutcome, len(starts)), nil
		})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalPendingPods, pendingPodsSignal(refs, Config{}))
		if sizes.tooLarge() {
			env.CancelWorkflow() // the server would have refused the signal
		}
	}, 0)
	env.RegisterDelayedCallback(func() {
		if _, err := env.QueryWorkflow(workflows.QueryState); err != nil {
			t.Errorf("query state: %v", err)
		}
		env.SetContinueAsNewSuggested(true)
		env.SignalWorkflow(workflows.SignalPendingPods, pendingPodsSignal(refs[:1], Config{}))
		// Late: the test environment's clock runs on while an activity runs, and on a loaded
		// machine planning 50,000 pods took over a minute of it; the workflow is idle by then.
	}, 10*time.Minute)
	env.ExecuteWorkflow(workflows.ProvisionerWorkflow, workflows.ProvisionerInput{})

	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new (largest payload %d bytes, a %s)", err, sizes.largest, sizes.of)
	}
	carried := proto.Size(can.Input)
	sizes.note(workflows.ProvisionerInput{}, carried)
	if sizes.largest > maxPayloadBytes {
		t.Errorf("largest payload %d bytes (a %s), want at most %d", sizes.largest, sizes.of, maxPayloadBytes)
	}
	planned := map[string]int{}
	for _, c := range claims.claims {
		for _, key := range c.Pods {
			planned[key]++
		}
	}
	for key, n := range planned {
		if n > 1 {
			t.Errorf("pod %s is in %d claims, want one", key, n)
		}
	}
	if len(planned) != podCount {
		t.Errorf("%d pods got a claim, want all %d", len(planned), podCount)
	}
	t.Logf("%d claims; largest payload %d bytes (a %s); continue-as-new input %d bytes", len(claims.claims), sizes.largest, sizes.of, carried)
}

func pendingPodsPlanner(t *testing.T, client *fake.Clientset) (*activities.Planner, *startedClaims) {
	t.Helper()
	ld, err := loader.New()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ld.Load(context.Background(), []byte(pendingPodsPool))
	if err != nil {
		t.Fatalf("load node pools: %v", err)
	}
	types, err := catalog.Load()
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	claims := &startedClaims{}
	return &activities.Planner{Kube: client, Pools: activities.StaticNodePools(m.NodePools), Zones: []string{"us-east-1a"},
		Catalog: types, ClaimPods: claims}, claims
}
