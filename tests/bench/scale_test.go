//go:build benche2e

package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/kube"
	"github.com/nodewright/nodewright/lab/stack"
	"github.com/nodewright/nodewright/workflows"
)

// run measures one row: n pods scaled out on pool, a NodePool of their own, then in to 70 %.
func (b *bench) run(ctx context.Context, t *testing.T, pool string, n int) (row, error) {
	r := row{pods: n}
	if err := b.createPool(ctx, pool); err != nil {
		return r, err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(b.kube, 0, informers.WithNamespace(pool))
	pods := factory.Core().V1().Pods().Lister()
	marked := &unschedulableAt{at: map[string]time.Time{}}
	if _, err := factory.Core().V1().Pods().Informer().AddEventHandler(marked); err != nil {
		return r, fmt.Errorf("watch pods: %w", err)
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
	if err := b.worker.resetPeak(); err != nil {
		return r, err
	}

	outCPU, err := b.worker.meterCPU()
	if err != nil {
		return r, err
	}
	attempts, err := schedulerAttempts.read()
	if err != nil {
		return r, err
	}
	requests, err := apiRequests.read()
	if err != nil {
		return r, err
	}
	trace := b.worker.traceCPU(5 * time.Second)
	defer trace.end()
	if *cpuProfile != "" {
		path := fmt.Sprintf("%s-%d-cpu.pb.gz", *cpuProfile, n)
		profiled := make(chan struct{})
		defer func() { <-profiled }() // it logs: the row must not end before it
		go func() {
			defer close(profiled)
			if err := b.writeProfile(ctx, fmt.Sprintf("profile?seconds=%d", *cpuSeconds), path); err != nil {
				t.Logf("the worker's CPU profile: %v", err)
				return
			}
			t.Logf("the worker's CPU profile: %s", path)
		}()
	}
	stopLabProfile, err := startLabCPUProfile(n)
	if err != nil {
		return r, err
	}
	defer stopLabProfile(t)
	applied := time.Now()
	if err := b.createDeployment(ctx, pool, n); err != nil {
		return r, err
	}
	if !waitUntil(ctx, *phaseTimeout, 100*time.Millisecond, func() bool { return len(boundPods(pods)) >= n }) {
		b.explainPending(ctx, t, pool, pods)
		return r, fmt.Errorf("%d of %d pods bound after %s", len(boundPods(pods)), n, *phaseTimeout)
	}
	boundAt, outUsed := time.Now(), outCPU.String()
	stopLabProfile(t)
	t.Logf("CPU s per 5 s after apply, worker+lab (2 cores give 10): %s", trace)
	r.bound = boundAt.Sub(applied)
	r.p50, r.p99 = pendingToBound(boundPods(pods))
	r.used = len(nodesOf(boundPods(pods)))
	var launches []time.Time
	for _, i := range b.lab.EC2.Instances() {
		if i.Tags[v1.LabelNodePool] == pool {
			launches = append(launches, i.LaunchTime)
		}
	}
	r.launched = len(launches)
	t.Logf("%d pods: the last created %.1fs after apply; instances launched from %.1fs to %.1fs after apply", n,
		lastCreated(boundPods(pods)).Sub(applied).Seconds(), slices.MinFunc(launches, time.Time.Compare).Sub(applied).Seconds(),
		slices.MaxFunc(launches, time.Time.Compare).Sub(applied).Seconds())
	t.Logf("the kube-scheduler's attempts meanwhile: %s", schedulerAttempts.since(attempts, 4))
	t.Logf("the API server's requests from every client meanwhile: %s", apiRequests.since(requests, 16))
	t.Logf("pods seen unschedulable (s after apply, first / median / p90 / p99 / last): %s", marked.spread(applied))
	if waits, err := b.nodeToBind(ctx, boundPods(pods)); err == nil {
		t.Logf("each pod's bind after its Node (s, p50 / p99): %s", waits)
	} else {
		t.Logf("each pod's bind after its Node: %v", err)
	}
	req, err := countRequests(b.auditLog, applied, boundAt)
	if err != nil {
		return r, err
	}
	r.requests = req.byVerb
	t.Logf("%d pods bound in %.1fs (%s); the worker's requests meanwhile: %s; failed: %s", n, r.bound.Seconds(), outUsed, top(req.byResource, 8), top(req.failed, 8))
	if err := sleep(ctx, time.Until(boundAt.Add(emptyAfter))); err != nil {
		return r, err
	}
	if r.emptyNodes, r.surplus, err = b.unneeded(ctx, pool, pods); err != nil {
		return r, err
	}
	t.Logf("%s after the last pod was bound: %d of the pool's Nodes hold none of its pods; %d running instances beyond the Nodes pods use", emptyAfter, r.emptyNodes, r.surplus)
	if *heapProfile != "" {
		for _, name := range []string{"heap", "goroutine"} {
			path := fmt.Sprintf("%s-%d-%s.pb.gz", *heapProfile, n, name)
			if err := b.writeProfile(ctx, name, path); err != nil {
				return r, err
			}
			t.Logf("the worker's %s profile: %s", name, path)
		}
	}

	if *floor {
		if r.floor, err = b.measureFloor(ctx, t, pool, pods, n); err != nil {
			return r, err
		}
		r.peakRSS, err = b.worker.peakRSS()
		return r, err
	}

	inCPU, err := b.worker.meterCPU()
	if err != nil {
		return r, err
	}
	scaledAt := time.Now()
	before, err := b.poolState(ctx, pool)
	if err != nil {
		return r, err
	}
	r.nodesBefore, r.priceBefore = len(before.nodes), before.perHour
	if err := b.scale(ctx, pool, n*7/10); err != nil {
		return r, err
	}
	// The worker's heap peaked in the scale-in's first minute in the runs of 2026-12-04.
	var scaleInHeap chan string
	if *heapProfile != "" {
		scaleInHeap = make(chan string, 1)
		go func() {
			path := fmt.Sprintf("%s-%d-scalein-heap.pb.gz", *heapProfile, n)
			err := sleep(ctx, scaleInHeapAfter)
			if err == nil {
				err = b.writeProfile(ctx, "heap", path)
			}
			if err != nil {
				scaleInHeap <- fmt.Sprintf("the worker's heap profile %s into the scale-in: %v", scaleInHeapAfter, err)
				return
			}
			scaleInHeap <- fmt.Sprintf("the worker's heap profile %s into the scale-in: %s", scaleInHeapAfter, path)
		}()
	}
	steadyAt, after, steadyErr := b.waitSteady(ctx, pool, pods, n*7/10)
	select {
	case msg := <-scaleInHeap:
		t.Log(msg)
	default: // not taken yet, or not asked for
	}
	inUsed := inCPU.String()
	r.nodesAfter, r.priceAfter, r.unsettled = len(after.nodes), after.perHour, steadyErr != nil
	if steadyErr == nil {
		r.steady = steadyAt.Sub(scaledAt)
		if req, err = countRequests(b.auditLog, scaledAt, steadyAt); err == nil {
			t.Logf("scale-in steady after %.1fs (%s); the worker's requests meanwhile: %s; failed: %s", r.steady.Seconds(), inUsed, top(req.byResource, 8), top(req.failed, 8))
		}
		if state, err := b.op.DisruptionState(ctx); err == nil {
			t.Logf("the scale-in's disruption decisions (s after the scale): %s", decisionsSince(state.Recent, scaledAt))
		}
		if spans, err := disruptionSpans(ctx, b.op.Client, scaledAt); err == nil {
			t.Logf("the disruption controller's activities and timers (s after the scale, +how long): %s", spansSince(spans, scaledAt))
		} else {
			t.Logf("the disruption controller's history: %v", err)
		}
		if *rest > 0 {
			from := time.Now()
			if err := sleep(ctx, *rest); err != nil {
				return r, err
			}
			if req, err = countRequests(b.auditLog, from, time.Now()); err == nil {
				t.Logf("at rest for %s after that, the worker's requests: %s", *rest, top(req.byResource, 8))
			}
		}
	}
	// Memory and histories are measured even when the scale-in never settled.
	if r.peakRSS, err = b.worker.peakRSS(); err != nil {
		return r, errors.Join(steadyErr, err)
	}
	h, err := measureHistories(ctx, b.op.Client, pool, applied)
	r.histories = h
	t.Logf("largest payload: %d bytes in %s; %d node workflows, %d of them closed, with p50 %d and max %d events", h.largest.bytes, h.largest.where,
		len(h.events), len(h.closedEvents), median(h.closedEvents), last(h.closedEvents))
	if h.longest != "" {
		t.Logf("the longest closed node workflow, %s, by event: %s", h.longest, top(h.longestKinds, 40))
	}
	t.Logf("node workflows reached each step (s after apply, first / median / p90 / p99 / last): %s", h.timeline(applied))
	t.Logf("node workflows started per 10 s after apply: %s", h.perTenSeconds("started", applied))
	t.Logf("disrupted node workflows, s after the disrupt signal (how many: p50 / p90 / max): %s", h.leavingTimes())
	t.Logf("the Provisioner's events: %s", top(h.provisioner, 12))
	t.Logf("the Provisioner's plans and starts (s after apply; in parentheses, when a worker took the plan from the task queue): %s", h.provisionerRounds(applied))
	return r, errors.Join(steadyErr, err)
}

// measureFloor scales the pool's Deployment to 0 and, once its pods are gone, back to n: the
// pods then land on the Nodes the scale-out left (the pool never consolidates under -floor),
// so the time to bind them all is what the lab itself takes, with no launch, no registration
// and no plan: a floor under the scale-out's time on this machine.
func (b *bench) measureFloor(ctx context.Context, t *testing.T, pool string, pods listersv1.PodLister, n int) (time.Duration, error) {
	if err := b.scale(ctx, pool, 0); err != nil {
		return 0, err
	}
	gone := func() bool { all, _ := pods.List(labels.Everything()); return len(all) == 0 }
	if !waitUntil(ctx, *phaseTimeout, 100*time.Millisecond, gone) {
		return 0, fmt.Errorf("the floor: pods of %s still there %s after the scale to 0", pool, *phaseTimeout)
	}
	cpu, err := b.worker.meterCPU()
	if err != nil {
		return 0, err
	}
	attempts, err := schedulerAttempts.read()
	if err != nil {
		return 0, err
	}
	trace := b.worker.traceCPU(5 * time.Second)
	defer trace.end()
	scaled := time.Now()
	if err := b.scale(ctx, pool, n); err != nil {
		return 0, err
	}
	if !waitUntil(ctx, *phaseTimeout, 100*time.Millisecond, func() bool { return len(boundPods(pods)) >= n }) {
		return 0, fmt.Errorf("the floor: %d of %d pods bound after %s", len(boundPods(pods)), n, *phaseTimeout)
	}
	took := time.Since(scaled)
	p50, p99 := pendingToBound(boundPods(pods))
	t.Logf("the floor: %d pods bound onto the scale-out's %d Nodes %.1fs after the scale from 0 (pending→bound p50 / p99 %s / %s; %s); the last created %.1fs after the scale",
		n, len(nodesOf(boundPods(pods))), took.Seconds(), p50, p99, cpu, lastCreated(boundPods(pods)).Sub(scaled).Seconds())
	t.Logf("the floor: CPU s per 5 s, worker+lab: %s; the kube-scheduler's attempts: %s", trace, schedulerAttempts.since(attempts, 4))
	return took, nil
}

// decisionsSince lists the disruption controller's recent decisions made after from: when,
// how, how many nodes and what came of it.
func decisionsSince(recent []workflows.DecisionRecord, from time.Time) string {
	var parts []string
	for _, d := range recent {
		if d.At.Before(from) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%.1f %s/%s %d nodes: %s", d.At.Sub(from).Seconds(), d.Method, d.Reason, len(d.Nodes), d.Outcome))
	}
	return strings.Join(parts, "; ")
}

// scaleInHeapAfter is when, after the scale to 70 %, -heap-profile takes its second profile.
const scaleInHeapAfter = 40 * time.Second

// emptyAfter is how long after the last pod is bound the scale-out's unneeded nodes are
// counted: issue 14 asks for none by then.
const emptyAfter = 30 * time.Second

// unneeded counts the pool's Nodes that hold none of its pods, and its running (or pending)
// instances beyond the Nodes its pods are bound to: launches no pod needed, registered or not.
func (b *bench) unneeded(ctx context.Context, pool string, pods listersv1.PodLister) (empty, surplus int, err error) {
	used := nodesOf(boundPods(pods))
	nodes, err := b.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: v1.LabelNodePool + "=" + pool})
	if err != nil {
		return 0, 0, fmt.Errorf("list the pool's nodes: %w", err)
	}
	for _, n := range nodes.Items {
		if !used[n.Name] {
			empty++
		}
	}
	running := 0
	for _, i := range b.lab.EC2.Instances() {
		if i.Tags[v1.LabelNodePool] == pool && (i.State == ec2sim.StateRunning || i.State == ec2sim.StatePending) {
			running++
		}
	}
	return empty, max(running-len(used), 0), nil
}

func (b *bench) createPool(ctx context.Context, pool string) error {
	sizes := ""
	if *instanceCPU > 0 {
		sizes = fmt.Sprintf("        - {key: karpenter.k8s.aws/instance-cpu, operator: In, values: [\"%d\"]}\n", *instanceCPU)
	}
	after := consolidateAfter.String()
	if *floor {
		after = "Never"
	}
	manifest := fmt.Sprintf(`apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: %[1]s
spec:
  template:
    spec:
      requirements:
        - {key: karpenter.k8s.aws/instance-category, operator: In, values: ["c", "m", "r"]}
        - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ["4"]}
        - {key: kubernetes.io/arch, operator: In, values: ["amd64"]}
        - {key: karpenter.sh/capacity-type, operator: In, values: ["spot", "on-demand"]}
%[3]s      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: %[1]s}
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: %[2]s
---
%[4]s`, pool, after, sizes, stack.NodeClassYAML(pool))
	if _, err := kube.Apply(ctx, b.lab.Kube.Admin, []byte(manifest)); err != nil {
		return fmt.Errorf("apply NodePool %s: %w", pool, err)
	}
	if _, err := b.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pool}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", pool, err)
	}
	pools, err := b.nodePools()
	if err != nil {
		return err
	}
	ready := func() bool {
		u, err := pools.Get(ctx, pool, metav1.GetOptions{})
		var np v1.NodePool
		return err == nil && runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &np) == nil &&
			meta.IsStatusConditionTrue(np.Status.Conditions, v1.ConditionReady)
	}
	if !waitUntil(ctx, 2*time.Minute, time.Second, ready) {
		return fmt.Errorf("NodePool %s not Ready after 2m", pool)
	}
	return nil
}

// nodePools is the NodePools' API, as the admin.
func (b *bench) nodePools() (dynamic.ResourceInterface, error) {
	dyn, err := dynamic.NewForConfig(b.lab.Kube.Admin)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	return dyn.Resource(v1.SchemeGroupVersion.WithResource("nodepools")), nil
}

// createDeployment creates the Deployment of n pending pods of 500m CPU and 1 GiB, pinned to
// the pool; pause pods end at once when deleted.
func (b *bench) createDeployment(ctx context.Context, pool string, n int) error {
	match := map[string]string{"app": pool}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: pool, Namespace: pool},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(n)),
			Selector: &metav1.LabelSelector{MatchLabels: match},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: match},
				Spec: corev1.PodSpec{
					NodeSelector:                  map[string]string{v1.LabelNodePool: pool},
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Containers: []corev1.Container{{Name: "app", Image: "pause", Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
					}}},
				},
			},
		},
	}
	if _, err := b.kube.AppsV1().Deployments(pool).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create deployment %s: %w", pool, err)
	}
	return nil
}

// scale sets the Deployment's replicas, reading its scale again when the controller wrote
// the Deployment in between.
func (b *bench) scale(ctx context.Context, pool string, replicas int) error {
	// A merge patch of the scale has no resourceVersion to conflict on: the deployment
	// controller writes the Deployment's status many times a second during a scale-out.
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	if _, err := b.kube.AppsV1().Deployments(pool).Patch(ctx, pool, types.MergePatchType, patch, metav1.PatchOptions{}, "scale"); err != nil {
		return fmt.Errorf("scale %s to %d: %w", pool, replicas, err)
	}
	return nil
}

// boundPods are the pods with a node, not being deleted.
func boundPods(pods listersv1.PodLister) []*corev1.Pod {
	all, _ := pods.List(labels.Everything())
	return slices.DeleteFunc(all, func(p *corev1.Pod) bool { return p.Spec.NodeName == "" || p.DeletionTimestamp != nil })
}

func nodesOf(pods []*corev1.Pod) map[string]bool {
	nodes := map[string]bool{}
	for _, p := range pods {
		nodes[p.Spec.NodeName] = true
	}
	return nodes
}

func lastCreated(pods []*corev1.Pod) time.Time {
	var last time.Time
	for _, p := range pods {
		if p.CreationTimestamp.After(last) {
			last = p.CreationTimestamp.Time
		}
	}
	return last
}

// pendingToBound is the median and 99th percentile (nearest rank) of the pods' creation to
// PodScheduled times.
func pendingToBound(pods []*corev1.Pod) (p50, p99 time.Duration) {
	var waits []time.Duration
	for _, p := range pods {
		if at, ok := scheduledAt(p); ok {
			waits = append(waits, at.Sub(p.CreationTimestamp.Time))
		}
	}
	return percentiles(waits)
}

// percentiles is the median and 99th percentile (nearest rank) of waits.
func percentiles(waits []time.Duration) (p50, p99 time.Duration) {
	if len(waits) == 0 {
		return 0, 0
	}
	slices.Sort(waits)
	rank := func(q float64) time.Duration { return waits[int(q*float64(len(waits)-1)+0.5)] }
	return rank(0.5), rank(0.99)
}

// nodeToBind says how long the pods waited for their bind after their Node was registered
// and after it became Ready (p50 / p99, from the Node's creation and Ready transition times and
// the pod's PodScheduled time): the scale-out's wait that is the kube-scheduler's, not a launch's.
func (b *bench) nodeToBind(ctx context.Context, pods []*corev1.Pod) (string, error) {
	list, err := b.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return "", fmt.Errorf("list nodes: %w", err)
	}
	registered, ready := map[string]time.Time{}, map[string]time.Time{}
	for _, n := range list.Items {
		registered[n.Name] = n.CreationTimestamp.Time
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready[n.Name] = c.LastTransitionTime.Time
			}
		}
	}
	synced, err := firstNodeWrites(b.auditLog)
	if err != nil {
		return "", err
	}
	var afterRegistered, afterReady, afterSynced, syncAfterRegistered []time.Duration
	for _, p := range pods {
		bound, ok := scheduledAt(p)
		if !ok {
			continue
		}
		if at, ok := registered[p.Spec.NodeName]; ok {
			afterRegistered = append(afterRegistered, bound.Sub(at))
		}
		if at, ok := ready[p.Spec.NodeName]; ok {
			afterReady = append(afterReady, bound.Sub(at))
		}
		if at, ok := synced[p.Spec.NodeName]; ok {
			afterSynced = append(afterSynced, bound.Sub(at))
		}
	}
	for name, at := range synced {
		if reg, ok := registered[name]; ok {
			syncAfterRegistered = append(syncAfterRegistered, at.Sub(reg))
		}
	}
	p50r, p99r := percentiles(afterRegistered)
	p50y, p99y := percentiles(afterReady)
	p50s, p99s := percentiles(afterSynced)
	p50g, p99g := percentiles(syncAfterRegistered)
	// Creation and bind times are whole seconds, the audit log's are not: the figures that
	// mix them are off by up to a second.
	return fmt.Sprintf("after registration %.0f / %.0f, after Ready %.0f / %.0f, after the worker's first write to it %.1f / %.1f; that write after registration %.1f / %.1f",
		p50r.Seconds(), p99r.Seconds(), p50y.Seconds(), p99y.Seconds(), p50s.Seconds(), p99s.Seconds(), p50g.Seconds(), p99g.Seconds()), nil
}

// scheduledAt is when the pod was bound: its PodScheduled condition's transition to True.
func scheduledAt(p *corev1.Pod) (time.Time, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// poolState is what the pool has at a moment.
type poolState struct {
	nodes    []string // its Nodes' names, sorted
	perHour  float64  // the $/h of its running node workflows
	allReady bool     // whether every one of them is Ready
	running  int      // its running node workflows
}

func (b *bench) poolState(ctx context.Context, pool string) (poolState, error) {
	var s poolState
	list, err := b.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: v1.LabelNodePool + "=" + pool})
	if err != nil {
		return s, fmt.Errorf("list the nodes of %s: %w", pool, err)
	}
	for _, n := range list.Items {
		s.nodes = append(s.nodes, n.Name)
	}
	slices.Sort(s.nodes)
	rows, err := b.op.Nodes(ctx, false)
	if err != nil {
		return s, err
	}
	s.allReady = true
	for _, r := range rows {
		if r.NodePool == pool {
			s.running++
			s.perHour += r.PricePerHour
			s.allReady = s.allReady && r.Phase == string(workflows.PhaseReady)
		}
	}
	return s, nil
}

// waitSteady waits until want pods are bound, every node workflow of the pool is Ready, its
// Nodes have stayed the same for -settle and the disruption controller has made two passes
// without a decision meanwhile (a quiet spell alone may be the controller still validating);
// it returns when that quiet began, and the state (the last one seen when it gives up).
func (b *bench) waitSteady(ctx context.Context, pool string, pods listersv1.PodLister, want int) (time.Time, poolState, error) {
	deadline := time.Now().Add(*phaseTimeout)
	quietSince, last := time.Now(), ""
	var s poolState
	var quietFrom workflows.DisruptionState // the controller's state when the quiet began
	for time.Now().Before(deadline) {
		var err error
		if s, err = b.poolState(ctx, pool); err != nil {
			return time.Time{}, s, err
		}
		controller, err := b.op.DisruptionState(ctx)
		if err != nil {
			return time.Time{}, s, fmt.Errorf("disruption controller state: %w", err)
		}
		all, _ := pods.List(labels.Everything())
		now, key := time.Now(), strings.Join(s.nodes, ",")
		undecided := controller.Decisions == quietFrom.Decisions && controller.Passes >= quietFrom.Passes+2
		if key != last || !s.allReady || len(boundPods(pods)) != want || len(all) != want || controller.Decisions != quietFrom.Decisions {
			quietSince, last, quietFrom = now, key, controller
		} else if now.Sub(quietSince) >= *settle && undecided {
			return quietSince, s, nil
		}
		if err := sleep(ctx, 2*time.Second); err != nil {
			return time.Time{}, s, err
		}
	}
	return time.Time{}, s, fmt.Errorf("no steady state %s after scaling %s to %d", *phaseTimeout, pool, want)
}

// deletePool deletes the row's Deployment and NodePool (the lab has no namespace controller to
// empty a deleted namespace) and waits up to the phase timeout for the pool's Nodes and node
// workflows to go.
func (b *bench) deletePool(ctx context.Context, t *testing.T, pool string) {
	start := time.Now()
	background := metav1.DeletePropagationBackground
	if err := b.kube.AppsV1().Deployments(pool).Delete(ctx, pool, metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
		t.Logf("delete deployment %s: %v", pool, err)
	}
	if pools, err := b.nodePools(); err == nil {
		if err := pools.Delete(ctx, pool, metav1.DeleteOptions{}); err != nil {
			t.Logf("delete NodePool %s: %v", pool, err)
		}
	}
	gone := waitUntil(ctx, *phaseTimeout, 2*time.Second, func() bool {
		s, err := b.poolState(ctx, pool)
		return err == nil && len(s.nodes) == 0 && s.running == 0
	})
	t.Logf("pool %s deleted; its nodes and node workflows gone: %v, after %.0fs", pool, gone, time.Since(start).Seconds())
}

// waitUntil polls cond every interval until it holds, the limit passes or ctx ends.
func waitUntil(ctx context.Context, limit, every time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) || sleep(ctx, every) != nil {
			return false
		}
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// explainPending logs, for a scale-out that did not finish, why its first pending pods wait
// (starter why: the claim that holds them, or the engine's reason), while the lab still runs.
func (b *bench) explainPending(ctx context.Context, t *testing.T, pool string, pods listersv1.PodLister) {
	all, err := pods.List(labels.Everything())
	if err != nil {
		t.Logf("list pods: %v", err)
		return
	}
	shown := 0
	for _, p := range all {
		if p.Spec.NodeName != "" || shown == 5 {
			continue
		}
		shown++
		why, err := b.op.WhyPod(ctx, b.kube, p.Namespace, p.Name)
		t.Logf("pending %s/%s: %+v (err %v)", p.Namespace, p.Name, why, err)
	}
}

// unschedulableAt records when each pod was first seen with PodScheduled False: when the
// kube-scheduler gave up on it and the worker's watch can see it.
type unschedulableAt struct {
	mu sync.Mutex
	at map[string]time.Time // by pod name
}

func (u *unschedulableAt) OnAdd(obj any, _ bool) { u.observe(obj) }
func (u *unschedulableAt) OnUpdate(_, obj any)   { u.observe(obj) }
func (u *unschedulableAt) OnDelete(any)          {}

func (u *unschedulableAt) observe(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			u.mu.Lock()
			if _, seen := u.at[p.Name]; !seen {
				u.at[p.Name] = time.Now()
			}
			u.mu.Unlock()
		}
	}
}

// spread is first / median / p90 / p99 / last of the times, in seconds after from.
func (u *unschedulableAt) spread(from time.Time) string {
	u.mu.Lock()
	at := slices.SortedFunc(maps.Values(u.at), time.Time.Compare)
	u.mu.Unlock()
	if len(at) == 0 {
		return "none"
	}
	s := func(q float64) float64 { return at[int(q*float64(len(at)-1)+0.5)].Sub(from).Seconds() }
	return fmt.Sprintf("%d pods: %.1f / %.1f / %.1f / %.1f / %.1f", len(at), s(0), s(0.5), s(0.9), s(0.99), s(1))
}
