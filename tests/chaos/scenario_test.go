//go:build chaos

package chaos

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/kube"
	"github.com/nodewright/nodewright/lab/stack"
)

// scaleRun is one scenario's pool, namespace and Deployment of 1-CPU pods, scaled out and then
// back to zero while something goes wrong.
type scaleRun struct {
	t     *testing.T
	ctx   context.Context
	pool  string // also the namespace and the Deployment's name
	start time.Time
	fig   figures
}

// poolSpec shapes a scenario's NodePool.
type poolSpec struct {
	// requirements are extra lines under spec.template.spec.requirements.
	requirements string
	limitCPU     int // 0: no limit
	// consolidation is the consolidationPolicy, WhenEmpty unless set; budget the one
	// disruption budget's nodes, 100% unless set.
	consolidation, budget string
}

// oneCPUPerNode keeps each 1-CPU pod on a node of its own (a 2-vCPU node holds one after the
// kubelet's reservations), so the pods count the nodes.
var oneCPUPerNode = poolSpec{requirements: `- {key: karpenter.k8s.aws/instance-cpu, operator: In, values: ["2"]}`}

func newScaleRun(t *testing.T, scenario string, pods int, spec poolSpec) *scaleRun {
	t.Helper()
	pool := strings.ToLower(scenario)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	t.Cleanup(cancel)
	r := &scaleRun{t: t, ctx: ctx, pool: pool, fig: figures{scenario: scenario, pods: pods}}
	manifest := poolManifest(pool, spec)
	if _, err := kube.Apply(ctx, lab.Kube.Admin, []byte(manifest)); err != nil {
		t.Fatalf("apply NodePool %s: %v", pool, err)
	}
	if _, err := lab.Kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pool}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", pool, err)
	}
	t.Cleanup(r.deleteEverything)
	r.waitFor("NodePool "+pool+" Ready", 2*time.Minute, func() (bool, string) {
		ready := r.nodePoolReady()
		return ready == "True", "Ready " + ready
	})
	return r
}

// deleteEverything deletes the scenario's namespace and pool without waiting: the worker
// drains what a failed scenario left, while the next one runs.
func (r *scaleRun) deleteEverything() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = lab.Kube.Client.CoreV1().Namespaces().Delete(ctx, r.pool, metav1.DeleteOptions{})
	if pools, err := nodePools(); err == nil {
		_ = pools.Delete(ctx, r.pool, metav1.DeleteOptions{})
	}
}

// nodePools is the NodePools' API, with the admin's identity.
func nodePools() (dynamic.ResourceInterface, error) {
	dyn, err := dynamic.NewForConfig(lab.Kube.Admin)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	return dyn.Resource(schema.GroupVersionResource{Group: v1.Group, Version: "v1", Resource: "nodepools"}), nil
}

func poolManifest(name string, spec poolSpec) string {
	limits := ""
	if spec.limitCPU > 0 {
		limits = fmt.Sprintf("  limits:\n    cpu: \"%d\"\n", spec.limitCPU)
	}
	return fmt.Sprintf(`apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: %[1]s
spec:
  template:
    spec:
      requirements:
        - {key: karpenter.k8s.aws/instance-category, operator: In, values: ["c", "m", "r"]}
        - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ["4"]}
        - {key: karpenter.sh/capacity-type, operator: In, values: ["on-demand"]}
%[2]s
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: %[1]s}
%[3]s  disruption:
    consolidationPolicy: %[4]s
    consolidateAfter: 5s
    budgets: [{nodes: "%[5]s"}]
---
%[6]s`, name, indent(spec.requirements, 8), limits, cmp.Or(spec.consolidation, "WhenEmpty"), cmp.Or(spec.budget, "100%"), stack.NodeClassYAML(name))
}

func indent(s string, n int) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.Repeat(" ", n) + l
	}
	return strings.Join(lines, "\n")
}

func (r *scaleRun) nodePoolReady() string {
	pools, err := nodePools()
	if err != nil {
		return err.Error()
	}
	u, err := pools.Get(r.ctx, r.pool, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" {
			return fmt.Sprint(m["status"])
		}
	}
	return "unknown"
}

// scaleOut creates the Deployment and waits until its pods run, or the limit passes.
func (r *scaleRun) scaleOut(limit time.Duration) {
	r.t.Helper()
	r.start = time.Now()
	r.createDeployment()
	r.waitUntilBound(r.fig.pods, limit)
}

// createDeployment creates the scenario's Deployment, named after it, of fig.pods pods.
func (r *scaleRun) createDeployment() {
	r.t.Helper()
	r.deploy(r.pool, r.fig.pods)
}

// deploy creates a Deployment of 1-CPU pods pinned to the scenario's pool; mutate changes
// its pod template.
func (r *scaleRun) deploy(name string, replicas int, mutate ...func(*corev1.PodTemplateSpec)) {
	r.t.Helper()
	labels := map[string]string{"app": name}
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{v1.LabelNodePool: r.pool},
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{Name: "app", Image: "pause", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}},
		},
	}
	for _, m := range mutate {
		m(&tmpl)
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.pool},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(int32(replicas)), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
	}
	if _, err := lab.Kube.Client.AppsV1().Deployments(r.pool).Create(r.ctx, dep, metav1.CreateOptions{}); err != nil {
		r.t.Fatalf("create deployment %s: %v", name, err)
	}
}

// scaleTo sets a Deployment's replicas, again if the Deployment controller wrote it meanwhile.
func (r *scaleRun) scaleTo(name string, replicas int) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := lab.Kube.Client.AppsV1().Deployments(r.pool).GetScale(r.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Replicas = int32(replicas)
		_, err = lab.Kube.Client.AppsV1().Deployments(r.pool).UpdateScale(r.ctx, name, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("scale %s to %d: %w", name, replicas, err)
	}
	return nil
}

// waitUntilBound waits until want pods run on the pool's nodes and records how many did.
func (r *scaleRun) waitUntilBound(want int, limit time.Duration) {
	ok := r.waitFor(fmt.Sprintf("%d pods running", want), limit, func() (bool, string) {
		r.fig.bound = r.runningPods()
		return r.fig.bound >= want, fmt.Sprintf("%d of %d running", r.fig.bound, want)
	})
	r.fig.boundIn = time.Since(r.start)
	if !ok {
		r.fig.problem("%d of %d pods bound after %s", r.fig.bound, want, limit)
	}
}

func (r *scaleRun) runningPods() int {
	list, err := lab.Kube.Client.CoreV1().Pods(r.pool).List(r.ctx, metav1.ListOptions{})
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning {
			n++
		}
	}
	return n
}

// scaleIn scales the Deployment to zero and waits until the pool has no Node, no instance
// pending or running and no node workflow running, or the limit passes; then it measures.
func (r *scaleRun) scaleIn(limit time.Duration) {
	r.t.Helper()
	if err := r.scaleTo(r.pool, 0); err != nil {
		r.fig.problem("%v", err)
		return
	}
	ok := r.waitFor("the pool empty", limit, func() (bool, string) {
		nodes, instances, workflows := r.leftovers()
		return nodes == 0 && instances == 0 && workflows == 0,
			fmt.Sprintf("%d Nodes, %d instances, %d node workflows left", nodes, instances, workflows)
	})
	r.fig.convergedIn = time.Since(r.start)
	r.measure()
	if !ok {
		_, _, workflows := r.leftovers()
		r.fig.problem("pool not empty %s after scale-in: %d Nodes, %d instances, %d node workflows", limit, r.fig.leakedNodes, r.fig.leakedInstances, workflows)
	}
}

// leftovers counts the pool's Nodes, live instances and running node workflows.
func (r *scaleRun) leftovers() (nodes, instances, workflows int) {
	if list, err := lab.Kube.Client.CoreV1().Nodes().List(r.ctx, metav1.ListOptions{LabelSelector: v1.LabelNodePool + "=" + r.pool}); err == nil {
		nodes = len(list.Items)
	} else {
		nodes = -1
	}
	for _, i := range r.instances() {
		if i.State == ec2sim.StatePending || i.State == ec2sim.StateRunning {
			instances++
		}
	}
	rows, err := op.Nodes(r.ctx, false)
	if err != nil {
		return nodes, instances, -1
	}
	for _, row := range rows {
		if row.NodePool == r.pool {
			workflows++
		}
	}
	return nodes, instances, workflows
}

func (r *scaleRun) instances() []ec2sim.Instance {
	var out []ec2sim.Instance
	for _, i := range lab.EC2.Instances() {
		if i.Tags[v1.LabelNodePool] == r.pool {
			out = append(out, i)
		}
	}
	return out
}

// measure counts launches, duplicates and leaks.
func (r *scaleRun) measure() {
	perClaim := map[string]int{}
	r.fig.launched, r.fig.duplicates, r.fig.leakedInstances = 0, 0, 0
	for _, i := range r.instances() {
		r.fig.launched++
		if perClaim[i.Tags[v1.LabelNodeClaim]]++; perClaim[i.Tags[v1.LabelNodeClaim]] > 1 {
			r.fig.duplicates++
		}
		if i.State == ec2sim.StatePending || i.State == ec2sim.StateRunning {
			r.fig.leakedInstances++
		}
	}
	if list, err := lab.Kube.Client.CoreV1().Nodes().List(r.ctx, metav1.ListOptions{LabelSelector: v1.LabelNodePool + "=" + r.pool}); err == nil {
		r.fig.leakedNodes = len(list.Items)
	}
	if r.fig.duplicates > 0 {
		r.fig.problem("%d duplicate instances", r.fig.duplicates)
	}
	if r.fig.leakedInstances > 0 || r.fig.leakedNodes > 0 {
		r.fig.problem("leaked %d instances and %d Nodes", r.fig.leakedInstances, r.fig.leakedNodes)
	}
}

// finish prints the scenario's line, adds it to the summary, and fails the test on a problem.
func (r *scaleRun) finish() {
	line := r.fig.line()
	fmt.Println(line)
	report.add(line)
	for _, p := range r.fig.problems {
		r.t.Errorf("%s: %s", r.fig.scenario, p)
	}
}

// waitFor polls cond every half second until it holds or the limit passes, logging how things
// stand every half minute; it reports whether cond held.
func (r *scaleRun) waitFor(what string, limit time.Duration, cond func() (bool, string)) bool {
	deadline := time.Now().Add(limit)
	lastLog := time.Now()
	for {
		ok, status := cond()
		if ok {
			return true
		}
		if time.Now().After(deadline) || r.ctx.Err() != nil {
			r.t.Logf("%s: gave up waiting %s for %s; last: %s", r.fig.scenario, limit, what, status)
			return false
		}
		if time.Since(lastLog) > 30*time.Second {
			r.t.Logf("%s: waiting for %s: %s", r.fig.scenario, what, status)
			lastLog = time.Now()
		}
		time.Sleep(500 * time.Millisecond)
	}
}
