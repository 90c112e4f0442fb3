package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/nodewright/nodewright/apis/loader"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/stack"
	"github.com/nodewright/nodewright/starter"
	"github.com/nodewright/nodewright/worker"
	"github.com/nodewright/nodewright/workflows"
)

// fastDisruption shortens the controller's pass and validation delay so tests take seconds.
var fastDisruption = workflows.DisruptionInput{
	Period: workflows.Duration(2 * time.Second), ValidationDelay: workflows.Duration(2 * time.Second),
}

// env is one lifecycle test's world: its own worker with its own NodePool, and a namespace.
type env struct {
	t    *testing.T
	ctx  context.Context
	op   *starter.Operator
	pool string
	// otherPools are the manifest's NodePools besides pool: clean-up drains them too, or a
	// node of theirs would outlive the test and hold its EC2NodeClass for later tests.
	otherPools []string
	ns         string
	stopWorker func()
	// metricsAddr is where the worker serves /metrics, when the test asks for it.
	metricsAddr string
	// nodeClassGroup overrides the worker's --nodeclass-group.
	nodeClassGroup string
	// poolMayWait skips startAPIEnv's wait for the first NodePool to be Ready.
	poolMayWait bool
	// configure, when set, changes the worker's configuration before it starts.
	configure func(*worker.Config)
}

// startWorker runs a worker serving the NodePool YAML until stopWorker; with no YAML the
// worker reads NodePools from the API server.
func (e *env) startWorker(poolYAML string) {
	t := e.t
	t.Helper()
	file := ""
	if poolYAML != "" {
		file = filepath.Join(lab.Dir, e.pool+".yaml")
		if err := os.WriteFile(file, []byte(poolYAML), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logFile, err := os.OpenFile(filepath.Join(lab.Dir, e.pool+"-worker.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cfg := lab.WorkerConfig(file)
	cfg.MetricsAddr = e.metricsAddr
	if e.nodeClassGroup != "" {
		cfg.NodeClassGroup = e.nodeClassGroup
	}
	if e.configure != nil {
		e.configure(&cfg)
	}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(wctx, cfg, slog.New(slog.NewTextHandler(logFile, nil))) }()
	stopped := false
	e.stopWorker = func() {
		if stopped {
			return
		}
		stopped = true
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		logFile.Close()
		if t.Failed() {
			if log, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("worker log:\n%s", tail(string(log), 60))
			}
		}
	}
}

// startEnv writes the NodePool, runs a worker for it for the test's duration, restarts the
// disruption controller with short timings, and makes a namespace for the test's pods.
func startEnv(t *testing.T, poolYAML string, opts ...func(*env)) *env {
	t.Helper()
	pools := loadPools(t, poolYAML)
	if len(pools) != 1 {
		t.Fatalf("test NodePool file holds %d pools, want 1", len(pools))
	}
	e := newEnv(t, pools[0].Name)
	for _, o := range opts {
		o(e)
	}
	e.startWorker(poolYAML)
	t.Cleanup(func() { e.stopWorker() })
	e.setUp()
	return e
}

// startAPIEnv applies the manifest (NodePools, EC2NodeClasses) to the API server as a user
// would with kubectl, and runs a worker that reads them from there. The pool the test's pods
// go to is the manifest's first NodePool.
func startAPIEnv(t *testing.T, manifest string, opts ...func(*env)) *env {
	t.Helper()
	var pools []string
	for _, doc := range strings.Split(manifest, "\n---\n") {
		if kind, name := kindAndName(doc); kind == v1.KindNodePool {
			pools = append(pools, name)
		}
	}
	pool := ""
	if len(pools) > 0 {
		pool = pools[0]
	}
	e := newEnv(t, pool)
	if len(pools) > 1 {
		e.otherPools = pools[1:]
	}
	for _, o := range opts {
		o(e)
	}
	// The worker first: it serves the conversion webhook a v1beta1 manifest needs.
	e.startWorker("")
	t.Cleanup(func() { e.stopWorker() })
	applyManifest(t, manifest)
	t.Cleanup(func() { deleteManifest(t, manifest) })
	e.setUp()
	if !e.poolMayWait && pool != "" {
		// As a user waits for READY in kubectl get nodepools: pods pending before the pool is
		// ready get a FailedScheduling event saying there is no NodePool, which later events
		// for the same pod join as a series rather than replace.
		e.eventually("NodePool "+pool+" is Ready", time.Minute, func() (bool, string) {
			ready, why := condition(e.nodePool(pool).Status.Conditions, v1.ConditionReady)
			return ready == "True", "Ready " + ready + " " + why
		})
	}
	return e
}

// poolMayWait lets a test start with a NodePool that is not ready.
func poolMayWait(e *env) { e.poolMayWait = true }

func newEnv(t *testing.T, pool string) *env {
	e := &env{t: t, ctx: testContext(t, 8*time.Minute), pool: pool, ns: strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))}
	if len(e.ns) > 50 {
		// Keep names of subtests sharing a long prefix apart.
		sum := sha256.Sum256([]byte(e.ns))
		e.ns = e.ns[:40] + "-" + hex.EncodeToString(sum[:])[:8]
	}
	return e
}

// setUp restarts the disruption controller with short timings and makes the test's namespace.
func (e *env) setUp() {
	t, ctx := e.t, e.ctx

	tc := temporalClient(t)
	e.op = &starter.Operator{Client: tc, TaskQueue: workflows.TaskQueue}
	_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.DisruptionID, TaskQueue: workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
	}, workflows.DisruptionWorkflow, fastDisruption)
	if err != nil {
		t.Fatalf("start disruption controller: %v", err)
	}
	if _, err := lab.Kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", e.ns, err)
	}
	t.Cleanup(e.cleanUp)
}

// deploy creates a Deployment of n pods pinned to the test's NodePool.
func (e *env) deploy(name string, n int32, cpu string, mod ...func(*corev1.PodTemplateSpec)) {
	e.t.Helper()
	labels := map[string]string{"app": name}
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{v1.LabelNodePool: e.pool},
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{Name: "app", Image: "pause", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("256Mi")}}}},
		},
	}
	for _, m := range mod {
		m(&tmpl)
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(n), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
	}
	if _, err := lab.Kube.Client.AppsV1().Deployments(e.ns).Create(e.ctx, dep, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create deployment %s: %v", name, err)
	}
}

func (e *env) scale(name string, n int32) {
	e.t.Helper()
	// The deployment controller writes the Deployment too: read it again on a conflict, as
	// kubectl scale's retry does.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := lab.Kube.Client.AppsV1().Deployments(e.ns).GetScale(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Replicas = n
		_, err = lab.Kube.Client.AppsV1().Deployments(e.ns).UpdateScale(e.ctx, name, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		e.t.Fatalf("scale %s to %d: %v", name, n, err)
	}
}

// pods lists the test's live pods.
func (e *env) pods() []corev1.Pod {
	e.t.Helper()
	list, err := lab.Kube.Client.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatalf("list pods: %v", err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// nodes lists the pool's nodes.
func (e *env) nodes() []corev1.Node {
	e.t.Helper()
	list, err := lab.Kube.Client.CoreV1().Nodes().List(e.ctx, metav1.ListOptions{LabelSelector: v1.LabelNodePool + "=" + e.pool})
	if err != nil {
		e.t.Fatalf("list nodes: %v", err)
	}
	return list.Items
}

// allBound waits until want pods run, each bound to one of the pool's nodes, and returns the
// nodes in use.
func (e *env) allBound(want int) map[string]bool {
	e.t.Helper()
	var used map[string]bool
	e.eventually(fmt.Sprintf("%d pods bound to NodePool %s", want, e.pool), 3*time.Minute, func() (bool, string) {
		pods := e.pods()
		used = map[string]bool{}
		bound := 0
		for _, p := range pods {
			if p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning {
				bound++
				used[p.Spec.NodeName] = true
			}
		}
		return bound == want && len(pods) == want, fmt.Sprintf("%d of %d pods running", bound, len(pods))
	})
	return used
}

// allInitialized waits until every node of the pool is labelled karpenter.sh/initialized:
// pods may run on a node before its workflow has seen it initialized and said so, as on
// Karpenter's nodes.
func (e *env) allInitialized() {
	e.t.Helper()
	e.eventually(fmt.Sprintf("the nodes of NodePool %s initialized", e.pool), time.Minute, func() (bool, string) {
		var waiting []string
		for _, n := range e.nodes() {
			if n.Labels[v1.LabelInitialized] != "true" {
				waiting = append(waiting, n.Name)
			}
		}
		return len(waiting) == 0, fmt.Sprintf("not yet initialized: %v", waiting)
	})
}

// eventually polls cond until it holds or the limit passes; cond also says how things stand.
func (e *env) eventually(what string, limit time.Duration, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	var status string
	for {
		var ok bool
		ok, status = cond()
		if ok {
			return
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.t.Fatalf("waited %s for %s; last: %s", limit, what, status)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// nodeState queries a node's workflow, open or closed.
func (e *env) nodeState(claim string) workflows.NodeState {
	e.t.Helper()
	st, err := e.op.Describe(e.ctx, workflows.NodeWorkflowID(claim))
	if err != nil {
		e.t.Fatalf("describe %s: %v", claim, err)
	}
	return st
}

// terminatedState waits for the claim's workflow to reach Terminated and returns its state:
// the Node and the NodeClaim go before the workflow records its end.
func (e *env) terminatedState(node, claim string) workflows.NodeState {
	e.t.Helper()
	var st workflows.NodeState
	e.eventually("node "+node+"'s workflow to end Terminated", 30*time.Second, func() (bool, string) {
		st = e.nodeState(claim)
		return st.Phase == workflows.PhaseTerminated, "phase " + string(st.Phase)
	})
	return st
}

// cleanUp deletes the test's namespace and drains the nodes of every pool the test made, so
// later tests start from a cluster without them.
func (e *env) cleanUp() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = lab.Kube.Client.CoreV1().Namespaces().Delete(ctx, e.ns, metav1.DeleteOptions{})
	_ = lab.Kube.Client.AppsV1().Deployments(e.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	_ = lab.Kube.Client.CoreV1().Pods(e.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, metav1.ListOptions{})
	pools := append([]string{e.pool}, e.otherPools...)
	if left := e.drainPools(ctx, "test clean-up", pools...); left != "" {
		e.t.Errorf("clean-up: NodePools %s still have nodes or running node workflows: %s", strings.Join(pools, ", "), left)
	}
}

// drainPools drains every node workflow of the pools, also those started after the first look
// (a launch or a replacement in flight when the pods went), until the pools have no Node and
// no node workflow still running, or ctx ends; it returns what was left then ("" when
// nothing). A workflow finishing after its test's worker stopped would leave a terminated
// instance with a running owner.
func (e *env) drainPools(ctx context.Context, reason string, pools ...string) string {
	ours := func(pool string) bool { return slices.Contains(pools, pool) }
	drained := map[string]bool{}
	left := ""
	selector := v1.LabelNodePool + " in (" + strings.Join(pools, ",") + ")"
	for ctx.Err() == nil {
		rows, err := e.op.Nodes(ctx, false)
		if err != nil {
			left = "list node workflows: " + err.Error()
			time.Sleep(250 * time.Millisecond)
			continue
		}
		var running []string
		for _, r := range rows {
			if !ours(r.NodePool) {
				continue
			}
			running = append(running, r.WorkflowID+" "+r.Phase)
			if !drained[r.WorkflowID] {
				drained[r.WorkflowID] = true
				_ = e.op.Client.SignalWorkflow(ctx, r.WorkflowID, "", workflows.SignalDrain, workflows.DrainRequest{Reason: reason})
			}
		}
		list, err := lab.Kube.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil && len(list.Items) == 0 && len(running) == 0 {
			return ""
		}
		left = fmt.Sprintf("node workflows running %v", running)
		if err == nil {
			left += fmt.Sprintf(", %d Nodes", len(list.Items))
		}
		time.Sleep(250 * time.Millisecond)
	}
	return left
}

// loadPools reads a NodePool file as the worker does.
func loadPools(t *testing.T, yaml string) []v1.NodePool {
	t.Helper()
	ld, err := loader.New()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ld.Load(context.Background(), []byte(yaml))
	if err != nil {
		t.Fatalf("NodePool file: %v", err)
	}
	return m.NodePools
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// poolYAML renders a NodePool for tests: on-demand c/m/r of generation 5+, with extra spec
// lines under spec.template.spec and spec.disruption.
func poolYAML(name, templateSpec, disruption string) string {
	return fmt.Sprintf(`apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: %s
spec:
  template:
    spec:
      requirements:
        - key: karpenter.k8s.aws/instance-category
          operator: In
          values: ["c", "m", "r"]
        - key: karpenter.k8s.aws/instance-generation
          operator: Gt
          values: ["4"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["on-demand"]
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: %[1]s
%[2]s
  disruption:
%[3]s
%[4]s`, name, indent(templateSpec, 6), indent(disruption, 4), nodeClassYAML(name))
}

// nodeClassYAML is a second document holding the lab's EC2NodeClass under the given name.
func nodeClassYAML(name string) string {
	return "---\n" + stack.NodeClassYAML(name)
}

func indent(s string, n int) string {
	if s == "" {
		return ""
	}
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n")
}
