package tests

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/workflows"
)

// fillNodes deploys n single-pod Deployments (filler-0 …) of 1300m one after another; each
// needs a 2-vCPU node of its own because the next does not fit beside it. It returns the
// nodes.
func (e *env) fillNodes(n int) map[string]bool {
	e.t.Helper()
	var used map[string]bool
	for i := range n {
		e.deploy(fmt.Sprintf("filler-%d", i), 1, "1300m")
		used = e.allBound(i + 1)
	}
	if len(used) != n {
		e.t.Fatalf("%d filler pods landed on %d nodes, want one node each", n, len(used))
	}
	return used
}

// emptyFillers removes the filler pods, leaving whatever else runs on their nodes.
func (e *env) emptyFillers(n int) {
	e.t.Helper()
	for i := range n {
		e.scale(fmt.Sprintf("filler-%d", i), 0)
	}
}

// poolPrice is the pool's running cost in $/hour, from its nodes' workflows.
func (e *env) poolPrice() float64 {
	e.t.Helper()
	rows, err := e.op.Nodes(e.ctx, false)
	if err != nil {
		e.t.Fatal(err)
	}
	var total float64
	for _, r := range rows {
		if r.NodePool == e.pool && r.Phase == string(workflows.PhaseReady) {
			total += e.nodeState(r.WorkflowID[len("node/"):]).PricePerHour
		}
	}
	return total
}

// (c) Ten nodes at about 30% use are consolidated into fewer, cheaper capacity; every pod
// stays bound.
func TestUnderutilizedNodesAreConsolidated(t *testing.T) {
	e := startEnv(t, poolYAML("consolidate", "", "consolidationPolicy: WhenEmptyOrUnderutilized\nconsolidateAfter: 20s\nbudgets:\n  - nodes: \"100%\""))
	// 600m pods fit only one beside each filler, so they spread one per node; without the
	// fillers each 2-vCPU node is about 30% used.
	e.fillNodes(10)
	e.deploy("web", 10, "600m")
	e.allBound(20)
	e.emptyFillers(10)
	e.allBound(10)
	before := e.poolPrice()
	// 6 CPU of pods fit on a few larger or fuller nodes at half the price or less.
	e.eventually("consolidation to half the price or less", 3*time.Minute, func() (bool, string) {
		pods := e.pods()
		bound := 0
		for _, p := range pods {
			if p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning {
				bound++
			}
		}
		nodes := 0
		for _, n := range e.nodes() {
			if !hasTaint(&n, v1.TaintKeyDisrupted) {
				nodes++
			}
		}
		return nodes < 10 && bound == 10 && len(pods) == 10 && e.poolPrice() <= before/2,
			fmt.Sprintf("%d nodes, %d/%d pods bound, $%.4f/h (was $%.4f/h)", nodes, bound, len(pods), e.poolPrice(), before)
	})
	after := e.poolPrice()
	t.Logf("10 nodes at $%.4f/h consolidated to $%.4f/h", before, after)
	e.allBound(10)
}

// (e) A budget of one node: emptying the pool removes its nodes one at a time.
func TestBudgetOfOneNodeDisruptsOneAtATime(t *testing.T) {
	e := startEnv(t, poolYAML("budget", "", "consolidationPolicy: WhenEmpty\nconsolidateAfter: 1s\nbudgets:\n  - nodes: \"1\""))
	claims := claimsOf(t, e, e.fillNodes(4))
	disrupting := sample(50*time.Millisecond, func() (int, bool) {
		nodes, err := lab.Kube.Client.CoreV1().Nodes().List(e.ctx, metav1.ListOptions{LabelSelector: v1.LabelNodePool + "=" + e.pool})
		if err != nil {
			return 0, false
		}
		n := 0
		for _, node := range nodes.Items {
			if hasTaint(&node, v1.TaintKeyDisrupted) || !nodeIsReady(&node) || node.DeletionTimestamp != nil {
				n++
			}
		}
		return n, true
	})
	e.emptyFillers(4)
	e.eventually("every node of NodePool budget removed", 3*time.Minute, func() (bool, string) {
		n := len(e.nodes())
		return n == 0, fmt.Sprintf("%d nodes left", n)
	})
	_, most, samples := disrupting.stop()
	if most > 1 {
		t.Errorf("%d nodes were disrupting at once, want at most the budget's 1 (%d samples)", most, samples)
	}

	// The node workflows' own records are the exact check: from the moment each node began
	// draining until it was terminated (its Node deleted), no other node was in between.
	type window struct {
		node       string
		start, end time.Time
	}
	var windows []window
	for node, claim := range claims {
		st := e.nodeState(claim)
		w := window{node: node}
		for _, tr := range st.Transitions {
			switch tr.Phase {
			case workflows.PhaseDraining:
				w.start = tr.At
			case workflows.PhaseTerminated:
				w.end = tr.At
			}
		}
		if st.Disruption == nil || st.Disruption.Reason != "Empty" || w.start.IsZero() || w.end.IsZero() {
			t.Fatalf("node %s: phase %s, disruption %+v; want drained and terminated as Empty", node, st.Phase, st.Disruption)
		}
		windows = append(windows, w)
	}
	slices.SortFunc(windows, func(a, b window) int { return a.start.Compare(b.start) })
	for i := 1; i < len(windows); i++ {
		if prev, cur := windows[i-1], windows[i]; cur.start.Before(prev.end) {
			t.Errorf("node %s began draining at %s, before node %s finished at %s: two disrupting at once under a budget of 1",
				cur.node, cur.start.Format(time.StampMilli), prev.node, prev.end.Format(time.StampMilli))
		}
	}
	// Each decision after the first was made ahead, while the last one's node drained.
	replayHistory(t, e.ctx, workflows.DisruptionID, workflows.DisruptionWorkflow, "disruption_budget-ahead_history.json")
}

// (d) A do-not-disrupt pod and a PodDisruptionBudget that allows nothing keep consolidation
// away from their nodes, but not expiration, which terminationGracePeriod bounds.
func TestDoNotDisruptAndBlockingPDBStopConsolidationButNotExpiration(t *testing.T) {
	e := startEnv(t, poolYAML("protect", "expireAfter: 50s\nterminationGracePeriod: 10s", "consolidationPolicy: WhenEmptyOrUnderutilized\nconsolidateAfter: 1s\nbudgets:\n  - nodes: \"100%\""))
	e.fillNodes(2)
	e.deploy("precious", 1, "600m", func(p *corev1.PodTemplateSpec) {
		p.Annotations = map[string]string{v1.AnnotationDoNotDisrupt: "true"}
	})
	e.deploy("guarded", 1, "600m")
	e.pdb("guarded", intstr.FromInt32(1))
	e.allBound(4)
	e.emptyFillers(2)
	first := e.allBound(2)
	if len(first) != 2 {
		t.Fatalf("the two protected pods share a node: %v", first)
	}
	claims := claimsOf(t, e, first)

	// Alone, either node's pod would fit on the other: consolidation wants one of them.
	time.Sleep(15 * time.Second)
	for node, claim := range claims {
		if st := e.nodeState(claim); st.Disruption != nil && st.Disruption.Source != workflows.SourceExpiration {
			t.Errorf("node %s voluntarily disrupted (%+v) despite its protected pod", node, st.Disruption)
		}
	}
	e.eventually("the protected nodes expire and their pods run on new nodes", 3*time.Minute, func() (bool, string) {
		moved := 0
		for _, p := range e.pods() {
			if p.Spec.NodeName != "" && !first[p.Spec.NodeName] && p.Status.Phase == corev1.PodRunning {
				moved++
			}
		}
		return moved == 2, fmt.Sprintf("%d of 2 pods on new nodes", moved)
	})
	for node, claim := range claims {
		st := e.nodeState(claim)
		if st.Disruption == nil || st.Disruption.Source != workflows.SourceExpiration {
			t.Errorf("node %s: disruption %+v, want expiration", node, st.Disruption)
		}
	}
}

// (h) While a node drains, a PodDisruptionBudget's minAvailable holds: evictions wait for
// replacement pods to run.
func TestDrainNeverBreaksMinAvailable(t *testing.T) {
	e := startEnv(t, poolYAML("pdb", "", "consolidateAfter: Never"))
	e.deploy("web", 3, "300m")
	used := e.allBound(3)
	e.pdb("web", intstr.FromInt32(2))
	e.eventually("the PodDisruptionBudget allows one disruption", time.Minute, func() (bool, string) {
		pdb, err := lab.Kube.Client.PolicyV1().PodDisruptionBudgets(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return pdb.Status.DisruptionsAllowed == 1, fmt.Sprintf("disruptionsAllowed %d", pdb.Status.DisruptionsAllowed)
	})
	running := sample(20*time.Millisecond, func() (int, bool) {
		pods, err := lab.Kube.Client.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return 0, false
		}
		n := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
				n++
			}
		}
		return n, true
	})
	for node := range used {
		if _, _, err := e.op.Drain(e.ctx, node, "pdb test", 0); err != nil {
			t.Fatalf("drain %s: %v", node, err)
		}
	}
	e.eventually("the drained nodes are gone and the pods run elsewhere", 3*time.Minute, func() (bool, string) {
		left := 0
		for _, n := range e.nodes() {
			if used[n.Name] {
				left++
			}
		}
		running := 0
		for _, p := range e.pods() {
			if p.Status.Phase == corev1.PodRunning && !used[p.Spec.NodeName] {
				running++
			}
		}
		return left == 0 && running == 3, fmt.Sprintf("%d drained nodes left, %d pods running elsewhere", left, running)
	})
	fewest, _, samples := running.stop()
	if samples == 0 {
		t.Error("no pod counts were sampled during the drain")
	}
	if fewest < 2 {
		t.Errorf("only %d pods ran at one point during the drain; the PodDisruptionBudget asks for 2", fewest)
	}
}

// (f) A spot interruption: within the two-minute notice the node's pods run elsewhere and
// Nodewright, not EC2, terminates the instance; launches avoid that offering for a while.
func TestSpotInterruptionDrainsBeforeTheDeadline(t *testing.T) {
	spot := `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: spot
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: spot}
      requirements:
        - key: karpenter.k8s.aws/instance-category
          operator: In
          values: ["c", "m"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["spot"]
  disruption:
    consolidateAfter: Never
` + nodeClassYAML("spot")
	e := startAPIEnv(t, spot)
	e.deploy("web", 2, "500m")
	used := e.allBound(2)
	var node corev1.Node
	for _, n := range e.nodes() {
		if used[n.Name] {
			node = n
			break
		}
	}
	st := e.nodeState(node.Labels[v1.LabelNodeClaim])
	interrupted := time.Now()
	if err := lab.InterruptSpot(st.InstanceID, ec2sim.SpotNotice); err != nil {
		t.Fatalf("interrupt %s: %v", st.InstanceID, err)
	}
	e.eventually("the pods run on other nodes and the instance is terminated", ec2sim.SpotNotice, func() (bool, string) {
		running := 0
		for _, p := range e.pods() {
			if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != node.Name {
				running++
			}
		}
		inst, _ := lab.EC2.Instance(st.InstanceID)
		return running == 2 && inst.State == ec2sim.StateTerminated, fmt.Sprintf("%d pods elsewhere, instance %s", running, inst.State)
	})
	t.Logf("interrupted node drained and terminated %s after the warning", time.Since(interrupted).Round(100*time.Millisecond))
	if lab.EC2.Reclaimed(st.InstanceID) {
		t.Errorf("EC2 reclaimed %s at the deadline: Nodewright did not terminate it first", st.InstanceID)
	}
	// Karpenter's interruption events, on the Node and on its NodeClaim.
	claim := node.Labels[v1.LabelNodeClaim]
	for _, reason := range []string{"SpotInterrupted", "TerminatingOnInterruption"} {
		e.eventually(reason+" on the node and its NodeClaim", 30*time.Second, func() (bool, string) {
			onNode, onClaim := false, false
			for _, ev := range e.events(reason) {
				onNode = onNode || ev.Regarding.Kind == "Node" && ev.Regarding.Name == node.Name && ev.Type == corev1.EventTypeWarning
				onClaim = onClaim || ev.Regarding.Kind == v1.KindNodeClaim && ev.Regarding.Name == claim
			}
			return onNode && onClaim, fmt.Sprintf("on node %v, on NodeClaim %v: %v", onNode, onClaim, notes(e.events(reason)))
		})
	}
	after := e.nodeState(node.Labels[v1.LabelNodeClaim])
	if after.Disruption == nil || after.Disruption.Source != workflows.SourceInterruption || !after.Disruption.Forceful {
		t.Errorf("disruption %+v, want a forceful interruption", after.Disruption)
	}
	var prov workflows.ProvisionerState
	v, err := e.op.Client.QueryWorkflow(e.ctx, workflows.ProvisionerID, "", workflows.QueryState)
	if err != nil || v.Get(&prov) != nil {
		t.Fatalf("query provisioner: %v", err)
	}
	avoided := slices.ContainsFunc(prov.Unavailable, func(u workflows.UnavailableOffering) bool {
		return u.InstanceType == st.InstanceType && u.Zone == st.Zone && u.CapacityType == v1.CapacityTypeSpot &&
			u.Until.Sub(interrupted) > 2*time.Minute
	})
	if !avoided {
		t.Errorf("provisioner avoids %+v, want (%s, %s, spot) for 3 minutes", prov.Unavailable, st.InstanceType, st.Zone)
	}
	replayHistory(t, e.ctx, workflows.NodeWorkflowID(node.Labels[v1.LabelNodeClaim]), workflows.NodeLifecycleWorkflow, "nodelifecycle_interrupted_history.json")
	replayHistory(t, e.ctx, workflows.InterruptionID, workflows.InterruptionWorkflow, "interruption_spot_history.json")
	for _, n := range e.nodes() {
		if n.Name != node.Name && !used[n.Name] {
			if n.Labels[v1.LabelInstanceType] == st.InstanceType && n.Labels[v1.LabelZone] == st.Zone {
				t.Errorf("replacement node %s launched the interrupted offering %s in %s", n.Name, st.InstanceType, st.Zone)
			}
		}
	}
}

// pdb protects the app's pods with minAvailable.
func (e *env) pdb(app string, minAvailable intstr.IntOrString) {
	e.t.Helper()
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: e.ns},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &minAvailable,
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
		},
	}
	if _, err := lab.Kube.Client.PolicyV1().PodDisruptionBudgets(e.ns).Create(e.ctx, pdb, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create PodDisruptionBudget %s: %v", app, err)
	}
}

func hasTaint(n *corev1.Node, key string) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key })
}

func nodeIsReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// sampler measures something in the background until stopped and keeps the extremes.
type sampler struct {
	mu            sync.Mutex
	least, most   int
	count         int
	quit, stopped chan struct{}
}

// sample calls measure every period; a measurement that reports false is skipped.
func sample(every time.Duration, measure func() (int, bool)) *sampler {
	s := &sampler{least: math.MaxInt, most: math.MinInt, quit: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(s.stopped)
		for {
			select {
			case <-s.quit:
				return
			case <-time.After(every):
			}
			if v, ok := measure(); ok {
				s.mu.Lock()
				s.least, s.most, s.count = min(s.least, v), max(s.most, v), s.count+1
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// stop ends sampling and returns the least and most measured, and how many measurements.
func (s *sampler) stop() (least, most, count int) {
	close(s.quit)
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.least, s.most, s.count
}
