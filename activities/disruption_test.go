package activities

import (
	"context"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/nodewright/nodewright/activities/market"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// pdb builds a PodDisruptionBudget in namespace ns; a nil selector is left nil.
func pdb(name string, selector *metav1.LabelSelector, allowed int32) policyv1.PodDisruptionBudget {
	return policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: selector},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed},
	}
}

func labelled(key, value string) podOption {
	return func(p *corev1.Pod) { p.Labels = map[string]string{key: value} }
}

func inNamespace(ns string) podOption { return func(p *corev1.Pod) { p.Namespace = ns } }

func TestBlockedByPDB(t *testing.T) {
	t.Parallel()
	webOnly := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	pods := []corev1.Pod{
		*pod("web-1", labelled("app", "web")), *pod("db-1", labelled("app", "db")),
		*pod("web-elsewhere", labelled("app", "web"), inNamespace("other")),
	}
	tests := []struct {
		name string
		pdbs []policyv1.PodDisruptionBudget
		want []string
	}{
		{
			name: "a budget allowing no disruption blocks the pods its selector matches",
			pdbs: []policyv1.PodDisruptionBudget{pdb("web", webOnly, 0)},
			want: []string{"ns/web-1"},
		},
		{
			name: "a budget that still allows a disruption blocks nothing",
			pdbs: []policyv1.PodDisruptionBudget{pdb("web", webOnly, 1)},
		},
		{
			name: "an empty selector covers every pod of its namespace and of no other",
			pdbs: []policyv1.PodDisruptionBudget{pdb("all", &metav1.LabelSelector{}, 0)},
			want: []string{"ns/db-1", "ns/web-1"},
		},
		{
			name: "a nil selector covers no pod",
			pdbs: []policyv1.PodDisruptionBudget{pdb("none", nil, 0)},
		},
		{
			name: "a pod under two budgets is blocked even though both allow a disruption, as the Eviction API refuses it",
			pdbs: []policyv1.PodDisruptionBudget{pdb("web", webOnly, 1), pdb("all", &metav1.LabelSelector{}, 1)},
			want: []string{"ns/web-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := slices.Sorted(maps.Keys(blockedByPDB(tt.pdbs, pods)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("blocked pods %v, want %v", got, tt.want)
			}
		})
	}
}

// spotTypes are the types of spotPool: m5.large and seventeen others, more than the fifteen a
// spot-to-spot replacement needs.
var spotTypes = []string{"m5.large", "c6a.large", "c5a.large", "c5.large", "c6i.large", "m5a.large", "m6a.large", "c7i.large", "c5d.large",
	"m6i.large", "m7i.large", "c7a.large", "m5ad.large", "m5d.large", "r5a.large", "r6a.large", "r5.large", "r6i.large"}

// spotPool is defaultPool with spot nodes of spotTypes, no template labels, consolidating
// underused nodes at once.
func spotPool(t *testing.T) string {
	t.Helper()
	pool := defaultPool
	for _, r := range [][2]string{
		{"    metadata:\n      labels:\n        team: web\n", ""},
		{`values: ["m5.large", "m5.xlarge", "c5.large"]`, `values: ["` + strings.Join(spotTypes, `", "`) + `"]`},
		{`values: ["on-demand"]`, `values: ["spot"]`},
		{"  template:\n", "  disruption:\n    consolidationPolicy: WhenEmptyOrUnderutilized\n    consolidateAfter: 0s\n  template:\n"},
	} {
		if !strings.Contains(pool, r[0]) {
			t.Fatalf("defaultPool no longer holds %q to make the spot pool from", r[0])
		}
		pool = strings.Replace(pool, r[0], r[1], 1)
	}
	return pool
}

// spotMarket lists spotTypes, m5.large at the given spot price and the others from $0.040/h
// up, in both zones.
func spotMarket(m5Large float64) *fakeEC2 {
	api := &fakeEC2{typePages: [][]string{spotTypes}, spotPrices: map[string]float64{}}
	for _, zone := range []string{"us-east-1a", "us-east-1b"} {
		api.spotPrices["m5.large@"+zone] = m5Large
		for i, typ := range spotTypes[1:] {
			api.spotPrices[typ+"@"+zone] = 0.040 + 0.001*float64(i)
		}
	}
	return api
}

// launchedAs labels a node with the offering it was launched as, as registration does.
func launchedAs(instanceType, zone, capacityType string) nodeOption {
	return func(n *corev1.Node) {
		n.Labels[v1.LabelInstanceType], n.Labels[v1.LabelZone], n.Labels[v1.LabelCapacityType] = instanceType, zone, capacityType
	}
}

// A spot node whose price rose above what cheaper types cost now is replaced by one of them:
// the disruption controller prices nodes from the live market.
func TestASpotNodeWhosePriceRoseIsConsolidated(t *testing.T) {
	api := spotMarket(0.030)
	planner := newTestPlannerFor(t, spotPool(t), api, pod("web-1", onNode("spot-1"), requesting("1", "1Gi")))
	addSpotNode(t, planner, "spot-1")
	d := &Disruption{Planner: planner, PodEvents: &PodEvents{}}

	decision, err := d.FindDisruption(context.Background())
	if err != nil {
		t.Fatalf("find disruption: %v", err)
	}
	if decision.Command != nil {
		t.Fatalf("at $0.030/h, below every other type, spot-1 is disrupted: %+v", decision.Command)
	}

	for _, zone := range []string{"us-east-1a", "us-east-1b"} {
		api.spotPrices["m5.large@"+zone] = 0.090
	}
	planner.Market.(*market.Live).Refresh(context.Background())
	decision, err = d.FindDisruption(context.Background())
	if err != nil {
		t.Fatalf("find disruption: %v", err)
	}
	cmd := decision.Command
	if cmd == nil {
		t.Fatalf("at $0.090/h spot-1 is left alone although c6a.large costs $0.040/h; skipped: %v", decision.Skipped)
	}
	if cmd.Method != disruption.MethodSingleNodeConsolidation || cmd.Reason != disruption.ReasonUnderutilized || !slices.Equal(cmd.Nodes, []string{"spot-1"}) {
		t.Errorf("command %s/%s of %v, want single-node consolidation of spot-1 as underutilized", cmd.Method, cmd.Reason, cmd.Nodes)
	}
	r := decision.Replacement
	if r == nil || !slices.Equal(r.CapacityTypes, []string{v1.CapacityTypeSpot}) || r.PricePerHour != 0.040 || math.Abs(cmd.Savings-0.050) > 1e-9 {
		t.Errorf("replacement %+v saving %v/h, want a spot node at c6a.large's $0.040/h saving $0.050/h", r, cmd.Savings)
	}
}

// A decision says how much of its pools' budgets it leaves, so that the controller knows how
// long to wait before its next pass.
func TestADecisionSaysTheBudgetRoomItLeaves(t *testing.T) {
	pool := strings.Replace(spotPool(t), "consolidateAfter: 0s\n", "consolidateAfter: 0s\n    budgets:\n      - nodes: \"3\"\n", 1)
	planner := newTestPlannerFor(t, pool, spotMarket(0.030))
	addSpotNode(t, planner, "spot-1")
	addSpotNode(t, planner, "spot-2")
	d := &Disruption{Planner: planner, PodEvents: &PodEvents{}}
	decision, err := d.FindDisruption(context.Background())
	if err != nil {
		t.Fatalf("find disruption: %v", err)
	}
	if cmd := decision.Command; cmd == nil || cmd.Method != disruption.MethodEmptiness || len(cmd.Nodes) != 2 {
		t.Fatalf("command %+v, want both empty nodes at once (skipped %v)", cmd, decision.Skipped)
	}
	if decision.RoomAfter != 1 {
		t.Errorf("room after %d, want 1: a budget of 3 nodes less the 2 going", decision.RoomAfter)
	}
}

// TestADecisionAheadCountsTheLeavingNodesGone: with a budget of half the pool, of which a
// node the last decision tainted holds one, FindDisruption takes one empty node of three, and
// FindDisruptionAhead, told that node is leaving, takes two (half of the three that stay).
// Nodes named leaving that are not (no taint) still count.
func TestADecisionAheadCountsTheLeavingNodesGone(t *testing.T) {
	pool := strings.Replace(spotPool(t), "consolidateAfter: 0s\n", "consolidateAfter: 0s\n    budgets:\n      - nodes: \"50%\"\n", 1)
	planner := newTestPlannerFor(t, pool, spotMarket(0.030))
	for _, n := range []string{"spot-1", "spot-2", "spot-3"} {
		addSpotNode(t, planner, n)
	}
	addSpotNode(t, planner, "spot-leaving", withNodeTaints(corev1.Taint{Key: v1.TaintKeyDisrupted, Effect: corev1.TaintEffectNoSchedule}))
	d := &Disruption{Planner: planner, PodEvents: &PodEvents{}}

	tests := []struct {
		name      string
		leaving   []string // nil: FindDisruption
		wantNodes int
	}{
		{name: "the leaving node holds its share of the budget", wantNodes: 1},
		{name: "decided ahead of it, the budget counts the pool without it", leaving: []string{"spot-leaving"}, wantNodes: 2},
		{name: "nodes named leaving that are not count as ever", leaving: []string{"spot-1", "spot-2", "spot-3"}, wantNodes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var decision DisruptionDecision
			var err error
			if tt.leaving == nil {
				decision, err = d.FindDisruption(context.Background())
			} else {
				decision, err = d.FindDisruptionAhead(context.Background(), DisruptionAheadRequest{Leaving: tt.leaving})
			}
			if err != nil {
				t.Fatalf("find disruption: %v", err)
			}
			got := 0
			if decision.Command != nil {
				got = len(decision.Command.Nodes)
				if slices.Contains(decision.Command.Nodes, "spot-leaving") {
					t.Errorf("command %v takes the leaving node", decision.Command.Nodes)
				}
			}
			if got != tt.wantNodes {
				t.Errorf("command of %d nodes (%+v), want %d (skipped %v)", got, decision.Command, tt.wantNodes, decision.Skipped)
			}
		})
	}
}

// addSpotNode adds a Ready m5.large spot node of ours in us-east-1a to the planner's cluster.
func addSpotNode(t *testing.T, planner *Planner, name string, opts ...nodeOption) {
	t.Helper()
	opts = append([]nodeOption{ours(), launchedAs("m5.large", "us-east-1a", "spot"), withReady(corev1.ConditionTrue), withAllocatable("2", "7Gi", "29")}, opts...)
	if err := planner.Kube.(*fake.Clientset).Tracker().Add(node(name, opts...)); err != nil {
		t.Fatal(err)
	}
}

// The engine's snapshot holds the pods waiting for a node, sorted, so that a decision leaves
// room for those the nodes that stay will take: not those bound, finished, being deleted,
// held by a scheduling gate, a daemon's, another scheduler's, or those the kube-scheduler
// already found no room for.
func TestDisruptionSnapshotHoldsThePodsWaitingForANode(t *testing.T) {
	planner := newTestPlannerFor(t, spotPool(t), spotMarket(0.030))
	addSpotNode(t, planner, "spot-1")
	unbound := func(p *corev1.Pod) { p.Spec.NodeName = "" }
	for _, p := range []*corev1.Pod{
		pod("web-b", unbound), pod("web-a", unbound), pod("bound", onNode("spot-1")),
		pod("done", unbound, finished()),
		pod("deleting", unbound, func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: time.Now()} }),
		pod("gated", unbound, func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}} }),
		pod("daemon", unbound, ownedByDaemonSet()),
		pod("no-room", unbound, func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
		}),
		pod("other-scheduler", unbound, func(p *corev1.Pod) { p.Spec.SchedulerName = "volcano" }),
		pod("web-c", unbound, func(p *corev1.Pod) { p.Spec.SchedulerName = corev1.DefaultSchedulerName }),
	} {
		if err := planner.Kube.(*fake.Clientset).Tracker().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	d := &Disruption{Planner: planner, PodEvents: &PodEvents{}}
	snap, _, err := d.snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range snap.Pending {
		got = append(got, p.Name)
	}
	if want := []string{"web-a", "web-b", "web-c"}; !slices.Equal(got, want) {
		t.Errorf("pending pods %v, want %v", got, want)
	}
}
