package regions

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/stack"
	"github.com/nodewright/nodewright/starter"
	"github.com/nodewright/nodewright/worker"
	"github.com/nodewright/nodewright/workflows"
)

const region = "eu-west-1"

var lab *stack.Stack

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "nodewright-region")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	lab, err = stack.Start(ctx, stack.Options{Dir: dir, Region: region, ShutdownDelay: time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start lab:", err)
		return 1
	}
	defer lab.Stop()
	return m.Run()
}

const pool = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: irish
spec:
  template:
    spec:
      requirements:
        - key: node.kubernetes.io/instance-type
          operator: In
          values: ["m5.large", "c5.xlarge"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["on-demand"]
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: irish
  disruption:
    consolidateAfter: Never
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: irish
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
  role: NodewrightNodeRole-lab
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: lab}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: lab}}]
`

// In eu-west-1 the plan prices each type as eu-west-1 sells it (the embedded fixture of
// 2025-04-04: m5.large 0.107, c5.xlarge 0.192, where us-east-1 has 0.096 and 0.17) and
// launches in eu-west-1's zones.
func TestPlansUseTheRegionsPricesAndZones(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	file := filepath.Join(lab.Dir, "irish.yaml")
	if err := os.WriteFile(file, []byte(pool), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(lab.Dir, "worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- worker.Run(wctx, lab.WorkerConfig(file), slog.New(slog.NewTextHandler(logFile, nil))) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	tc, err := client.Dial(client.Options{HostPort: lab.Temporal.FrontendAddress(), Namespace: lab.Temporal.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	op := &starter.Operator{Client: tc, TaskQueue: workflows.TaskQueue}

	for _, tc := range []struct {
		pod, cpu, wantType string
		wantPrice          float64
	}{
		{"small", "1", "m5.large", 0.107},
		{"large", "3", "c5.xlarge", 0.192},
	} {
		node := launchFor(ctx, t, tc.pod, tc.cpu)
		if !slices.Contains(lab.Zones, node.Labels[v1.LabelZone]) || node.Labels[v1.LabelRegion] != region {
			t.Errorf("%s runs in %s/%s, want a zone of %s %v", tc.pod, node.Labels[v1.LabelRegion], node.Labels[v1.LabelZone], region, lab.Zones)
		}
		st, err := op.Describe(ctx, workflows.NodeWorkflowID(node.Labels[v1.LabelNodeClaim]))
		if err != nil {
			t.Fatal(err)
		}
		if st.InstanceType != tc.wantType || st.PricePerHour != tc.wantPrice {
			t.Errorf("%s got a %s planned at %v, want a %s at eu-west-1's %v", tc.pod, st.InstanceType, st.PricePerHour, tc.wantType, tc.wantPrice)
		}
	}
}

// launchFor creates a pod for the pool and returns the Node it runs on.
func launchFor(ctx context.Context, t *testing.T, name, cpu string) corev1.Node {
	t.Helper()
	kube := lab.Kube.Client
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{v1.LabelNodePool: "irish"},
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{Name: "app", Image: "pause", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("256Mi")}}}},
		},
	}
	if _, err := kube.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		p, err := kube.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err == nil && p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning {
			n, err := kube.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return *n
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("pod %s never ran", name)
	return corev1.Node{}
}
