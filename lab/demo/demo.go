package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.temporal.io/sdk/client"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/kube"
	"github.com/nodewright/nodewright/lab/stack"
	"github.com/nodewright/nodewright/starter"
	"github.com/nodewright/nodewright/worker"
)

// Options shape the demo workload.
type Options struct {
	Replicas int32
	CPU      string
	Memory   string
	// Timeout bounds each wait; the demo fails rather than hang.
	Timeout time.Duration
	Out     io.Writer
}

func (o Options) withDefaults() Options {
	if o.Replicas == 0 {
		o.Replicas = 10
	}
	if o.CPU == "" {
		o.CPU = "500m"
	}
	if o.Memory == "" {
		o.Memory = "1Gi"
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return o
}

// Namespace and name of the demo Deployment.
const (
	Namespace  = "default"
	Deployment = "inflate"
	appLabel   = "app"
)

// Result is what happened, for the summary and for tests to check.
type Result struct {
	Nodes        []NodeInfo
	AllBoundIn   time.Duration
	Drained      NodeInfo
	DrainedIn    time.Duration
	UIAddress    string
	NodePoolFile string
}

// NodeInfo describes one node Nodewright launched.
type NodeInfo struct {
	Name, WorkflowID, InstanceID, InstanceType, Zone, CapacityType string
	PricePerHour                                                   float64
	Pods                                                           int
}

// Run drives the demo on a running lab: it starts a worker in this process, applies the
// NodePool and its EC2NodeClass as `kubectl apply` would, then the Deployment, waits for every
// pod to be bound to a node Nodewright launched, drains one node through the starter's code
// path and waits for its pods to run elsewhere.
func Run(ctx context.Context, lab *stack.Stack, o Options) (Result, error) {
	o = o.withDefaults()
	res := Result{UIAddress: lab.Temporal.UIAddress()}

	res.NodePoolFile = filepath.Join(lab.Dir, "nodepools.yaml")
	if err := os.WriteFile(res.NodePoolFile, []byte(NodePoolYAML), 0o644); err != nil {
		return res, fmt.Errorf("write NodePool file: %w", err)
	}
	workerLog, err := os.Create(filepath.Join(lab.Dir, "worker.log"))
	if err != nil {
		return res, fmt.Errorf("create worker log: %w", err)
	}
	defer workerLog.Close()
	cfg := lab.WorkerConfig("") // NodePools from the API server
	cfg.MetricsAddr, cfg.HealthProbeAddr = "", ""
	workerCtx, stopWorker := context.WithCancel(ctx)
	wk := &runningWorker{done: make(chan struct{})}
	go func() {
		defer close(wk.done)
		wk.err = worker.Run(workerCtx, cfg, slog.New(slog.NewTextHandler(workerLog, nil)))
	}()
	defer func() { stopWorker(); <-wk.done }()

	tc, err := client.DialContext(ctx, client.Options{HostPort: cfg.Temporal.Address, Namespace: cfg.Temporal.Namespace, Logger: nopLogger{}})
	if err != nil {
		return res, fmt.Errorf("connect to Temporal: %w", err)
	}
	defer tc.Close()
	op := &starter.Operator{Client: tc, TaskQueue: cfg.TaskQueue}
	if _, err := op.Start(ctx); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Out, "lab up: Temporal %s, UI %s, Kubernetes %s, EC2 %s\n",
		cfg.Temporal.Address, res.UIAddress, lab.Kube.URL, lab.EC2URL)

	w := &watch{lab: lab, op: op, out: o.Out, timeout: o.Timeout, worker: wk}
	if _, err := kube.Apply(ctx, lab.Kube.Admin, []byte(NodePoolYAML)); err != nil {
		return res, fmt.Errorf("kubectl apply -f %s: %w", res.NodePoolFile, err)
	}
	start := time.Now()
	if err := applyDeployment(ctx, lab, o); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Out, "kubectl apply -f %s (NodePool %q, EC2NodeClass %q); Deployment %s/%s: %d pods × %s CPU, %s memory\n",
		filepath.Base(res.NodePoolFile), "default", "default", Namespace, Deployment, o.Replicas, o.CPU, o.Memory)
	if err := w.allBound(ctx, int(o.Replicas), ""); err != nil {
		return res, err
	}
	res.AllBoundIn = time.Since(start)
	if res.Nodes, err = w.nodes(ctx); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Out, "all %d pods bound in %s on %d nodes\n", o.Replicas, res.AllBoundIn.Round(100*time.Millisecond), len(res.Nodes))

	res.Drained = res.Nodes[0]
	drainStart := time.Now()
	if _, _, err := op.Drain(ctx, res.Drained.Name, "demo", 0); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Out, "draining %s (%s) through its workflow %s\n", res.Drained.Name, res.Drained.InstanceType, res.Drained.WorkflowID)
	if err := w.drained(ctx, res.Drained, int(o.Replicas)); err != nil {
		return res, err
	}
	res.DrainedIn = time.Since(drainStart)
	if res.Nodes, err = w.nodesIncluding(ctx, res.Nodes); err != nil {
		return res, err
	}
	return res, nil
}

func applyDeployment(ctx context.Context, lab *stack.Stack, o Options) error {
	cpu, err := resource.ParseQuantity(o.CPU)
	if err != nil {
		return fmt.Errorf("demo CPU %q: %w", o.CPU, err)
	}
	mem, err := resource.ParseQuantity(o.Memory)
	if err != nil {
		return fmt.Errorf("demo memory %q: %w", o.Memory, err)
	}
	labels := map[string]string{appLabel: Deployment}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: Deployment, Namespace: Namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(o.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Containers: []corev1.Container{{
						Name: "inflate", Image: "public.ecr.aws/eks-distro/kubernetes/pause:3.7",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem}},
					}},
				},
			},
		},
	}
	_, err = lab.Kube.Client.AppsV1().Deployments(Namespace).Create(ctx, dep, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("deployment %s/%s already exists: the lab is not fresh (remove .lab or use another --dir)", Namespace, Deployment)
	}
	if err != nil {
		return fmt.Errorf("create deployment %s/%s: %w", Namespace, Deployment, err)
	}
	return nil
}

// PodsOf lists the demo's pods.
func PodsOf(ctx context.Context, lab *stack.Stack) ([]corev1.Pod, error) {
	pods, err := lab.Kube.Client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: appLabel + "=" + Deployment})
	if err != nil {
		return nil, fmt.Errorf("list demo pods: %w", err)
	}
	return pods.Items, nil
}

// IsNodewrightNode tells a node Nodewright launched: it carries its NodePool label.
func IsNodewrightNode(n *corev1.Node) bool {
	_, ok := n.Labels[v1.LabelNodePool]
	return ok
}

var errWorkerStopped = errors.New("worker stopped")

// runningWorker is the demo's in-process worker; err is set before done closes.
type runningWorker struct {
	done chan struct{}
	err  error
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
