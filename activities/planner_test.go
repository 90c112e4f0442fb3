package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/nodewright/nodewright/activities/market"
	"github.com/nodewright/nodewright/apis/loader"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// pending is an unbound pod the kube-scheduler marked Unschedulable.
func pending() podOption {
	return func(p *corev1.Pod) {
		p.Spec.NodeName = ""
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
	}
}
func requesting(cpu, memory string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Containers = []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory),
		}}}}
	}
}
func deleting() podOption {
	return func(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }
}

func TestPendingPodsLeavesOutPodsThatNeedNoNode(t *testing.T) {
	all := []corev1.Pod{
		*pod("waiting", pending()), *pod("bound"), *pod("going", pending(), deleting()),
		*pod("done", pending(), finished()), *pod("nominated", pending()), *pod("another", pending()),
		*pod("unseen", pending(), func(p *corev1.Pod) { p.Status.Conditions = nil }),
	}
	got, nominated := pendingPods(all, map[string]string{"ns/nominated": "default-abcde", "ns/bound": "default-abcde"})
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"another", "waiting"}) {
		t.Errorf("pending pods %v, want [another waiting]: unschedulable, in key order", names)
	}
	if nominated != 1 {
		t.Errorf("%d pods nominated, want 1 (ns/nominated; the bound pod needs no node anyway)", nominated)
	}
}

func withAllocatable(cpu, memory, pods string) nodeOption {
	return func(n *corev1.Node) {
		n.Status.Allocatable = corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory),
			corev1.ResourcePods: resource.MustParse(pods),
		}
	}
}
func cordoned() nodeOption { return func(n *corev1.Node) { n.Spec.Unschedulable = true } }

func TestExistingNodesOffersWhatIsLeftOnSchedulableNodes(t *testing.T) {
	nodes := []corev1.Node{
		*node("n1", withReady(corev1.ConditionTrue), withAllocatable("4", "8Gi", "10")),
		*node("not-ready", withReady(corev1.ConditionFalse), withAllocatable("4", "8Gi", "10")),
		*node("draining", withReady(corev1.ConditionTrue), withNodeTaints(DisruptedTaint()), withAllocatable("4", "8Gi", "10")),
		*node("cordoned", withReady(corev1.ConditionTrue), cordoned(), withAllocatable("4", "8Gi", "10")),
	}
	pods := []corev1.Pod{
		*pod("a", requesting("1", "1Gi")), *pod("b", requesting("2500m", "2Gi")),
		*pod("finished", requesting("4", "8Gi"), finished()),
		*pod("hungry", onNode(""), requesting("4", "8Gi")),
	}
	got := existingNodes(nodes, pods)
	if len(got) != 1 || got[0].Name != "n1" {
		t.Fatalf("existing nodes %v, want only n1 (the others are NotReady, draining or cordoned)", got)
	}
	want := map[corev1.ResourceName]string{corev1.ResourceCPU: "500m", corev1.ResourceMemory: "5Gi", corev1.ResourcePods: "8"}
	for name, q := range want {
		if left := got[0].Available[name]; left.Cmp(resource.MustParse(q)) != 0 {
			t.Errorf("n1 has %s %s left, want %s", left.String(), name, q)
		}
	}
}

func TestWithUnavailableLeavesTheCachedTypesAlone(t *testing.T) {
	cached := []schedulerengine.InstanceType{{Name: "m5.large", Offerings: []schedulerengine.Offering{
		{Zone: "us-east-1a", CapacityType: "spot", Available: true},
		{Zone: "us-east-1a", CapacityType: "on-demand", Available: true},
	}}}
	got := withUnavailable(cached, []Offering{{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot"}})
	if got[0].Offerings[0].Available || !got[0].Offerings[1].Available {
		t.Errorf("offerings %+v, want only the spot one unavailable", got[0].Offerings)
	}
	if !cached[0].Offerings[0].Available {
		t.Error("the cached spot offering was marked unavailable too")
	}
}

const defaultPool = `
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    metadata:
      labels:
        team: web
    spec:
      requirements:
        - key: node.kubernetes.io/instance-type
          operator: In
          values: ["m5.large", "m5.xlarge", "c5.large"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["on-demand"]
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

func newTestPlanner(t *testing.T, api *fakeEC2, objects ...*corev1.Pod) *Planner {
	t.Helper()
	return newTestPlannerFor(t, defaultPool, api, objects...)
}

func newTestPlannerFor(t *testing.T, manifest string, api *fakeEC2, objects ...*corev1.Pod) *Planner {
	t.Helper()
	ld, err := loader.New()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ld.Load(context.Background(), []byte(manifest))
	if err != nil {
		t.Fatalf("load node pools: %v", err)
	}
	types, err := catalog.Load()
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	client := fake.NewClientset()
	for _, p := range objects {
		if err := client.Tracker().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	live, err := market.New(market.Options{Region: "us-east-1", Catalog: types, EC2: api})
	if err != nil {
		t.Fatal(err)
	}
	live.Refresh(context.Background())
	return &Planner{Kube: client, Market: live, Pools: StaticNodePools(m.NodePools), Zones: []string{"us-east-1a", "us-east-1b"}, Catalog: types}
}

func TestPlanClaimsANodeForAPendingPod(t *testing.T) {
	api := &fakeEC2{typePages: [][]string{{"m5.large", "m5.xlarge"}, {"c5.large", "r5.large"}}}
	p := newTestPlanner(t, api, pod("web-1", pending(), requesting("1", "1Gi")), pod("web-2", requesting("1", "1Gi")))
	got, err := p.Plan(context.Background(), PlanRequest{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if len(got.Claims) != 1 {
		t.Fatalf("claims %+v, want one for ns/web-1", got.Claims)
	}
	c := got.Claims[0]
	if c.NodePool != "default" || !slices.Equal(c.Pods, []string{"ns/web-1"}) || c.Name != "" {
		t.Errorf("claim %+v, want an unnamed default-pool claim for ns/web-1", c)
	}
	if len(c.InstanceTypes) == 0 || !slices.Contains([]string{"m5.large", "c5.large", "m5.xlarge"}, c.InstanceTypes[0]) {
		t.Errorf("instance types %v, want the pool's types that EC2 offers", c.InstanceTypes)
	}
	if slices.Contains(c.InstanceTypes, "r5.large") {
		t.Errorf("instance types %v include r5.large, which the pool does not allow", c.InstanceTypes)
	}
	if c.Labels["team"] != "web" || c.PricePerHour <= 0 || !slices.Equal(c.CapacityTypes, []string{"on-demand"}) {
		t.Errorf("claim labels %v price %v capacity types %v, want the pool's label, a price and on-demand", c.Labels, c.PricePerHour, c.CapacityTypes)
	}
	if got.Pods != 1 {
		t.Errorf("planned %d pods, want 1: ns/web-2 is bound", got.Pods)
	}
}

func TestPlanUsesTheMarketAsItIsNow(t *testing.T) {
	api := &fakeEC2{typePages: [][]string{{"m5.large"}}}
	p := newTestPlanner(t, api, pod("web-1", pending(), requesting("1", "1Gi")))
	types := func() []string {
		t.Helper()
		got, err := p.Plan(context.Background(), PlanRequest{})
		if err != nil || len(got.Claims) != 1 {
			t.Fatalf("plan = %+v, %v; want one claim", got, err)
		}
		return got.Claims[0].InstanceTypes
	}
	if got := types(); !slices.Equal(got, []string{"m5.large"}) {
		t.Fatalf("instance types = %v, want the one EC2 lists", got)
	}
	api.typePages = [][]string{{"c5.large"}}
	if got := types(); !slices.Equal(got, []string{"m5.large"}) {
		t.Errorf("instance types = %v before the market is refreshed, want the last read", got)
	}
	p.Market.(*market.Live).Refresh(context.Background())
	if got := types(); !slices.Equal(got, []string{"c5.large"}) {
		t.Errorf("instance types = %v after a refresh, want what EC2 lists now", got)
	}
}

// A pod whose claim is bound to a volume in one zone gets a node in that zone.
func TestPlanPutsAPodWhereItsVolumeIs(t *testing.T) {
	api := &fakeEC2{typePages: [][]string{{"m5.large", "m5.xlarge", "c5.large"}}}
	db := pod("db", pending(), requesting("1", "1Gi"))
	db.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
	p := newTestPlanner(t, api, db)
	tracker := p.Kube.(*fake.Clientset).Tracker()
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1"}, Spec: corev1.PersistentVolumeSpec{
		NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"us-east-1b"}}},
		}}}}}}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-1"}}
	for _, o := range []runtime.Object{pv, pvc} {
		if err := tracker.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	got, err := p.Plan(context.Background(), PlanRequest{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if len(got.Claims) != 1 || !slices.Equal(got.Claims[0].Zones, []string{"us-east-1b"}) {
		t.Fatalf("claims %+v, want one in us-east-1b, where the pod's volume is", got.Claims)
	}
}

// TestPlanCountsWhatTakesNoPodsAgainstLimits: a pool limited to 4 cpu already holds 4 in
// a node that takes no pods or in a claim still launching, so a new pod gets no claim.
func TestPlanCountsWhatTakesNoPodsAgainstLimits(t *testing.T) {
	limited := strings.Replace(defaultPool, "  template:\n", "  limits: {cpu: \"4\"}\n  template:\n", 1)
	poolNode := func(name, pool, claim string, opts ...nodeOption) *corev1.Node {
		labels := map[string]string{apisv1.LabelNodePool: pool}
		if claim != "" {
			labels[apisv1.LabelNodeClaim] = claim
		}
		opts = append([]nodeOption{withNodeLabels(labels), withReady(corev1.ConditionTrue), withAllocatable("0", "0", "0"),
			func(n *corev1.Node) {
				n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
			}}, opts...)
		return node(name, opts...)
	}
	fourCPU := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
	launching := InFlightClaim{Name: "default-abcde", NodePool: "default", Capacity: fourCPU}
	tests := []struct {
		name     string
		nodes    []*corev1.Node
		inFlight []InFlightClaim
		want     string // "" for a claim, else a substring of the pod's reason
	}{
		{name: "nothing held", want: ""},
		{name: "a claim still launching", inFlight: []InFlightClaim{launching}, want: "limit cpu 4 reached"},
		{name: "a claim of another pool", inFlight: []InFlightClaim{{Name: "other-abcde", NodePool: "other", Capacity: fourCPU}}, want: ""},
		{name: "a node not Ready yet", nodes: []*corev1.Node{poolNode("n1", "default", "", withReady(corev1.ConditionFalse))}, want: "limit cpu 4 reached"},
		{name: "a cordoned node", nodes: []*corev1.Node{poolNode("n1", "default", "", cordoned())}, want: "limit cpu 4 reached"},
		{name: "a draining node", nodes: []*corev1.Node{poolNode("n1", "default", "", withNodeTaints(DisruptedTaint()))}, want: "limit cpu 4 reached"},
		{name: "a node being deleted", nodes: []*corev1.Node{poolNode("n1", "default", "", func(n *corev1.Node) { n.DeletionTimestamp = &metav1.Time{} })}, want: "limit cpu 4 reached"},
		{name: "a draining node of another pool", nodes: []*corev1.Node{poolNode("n1", "other", "", cordoned())}, want: ""},
		// Counted once: through its Node, not again as in flight.
		{name: "a claim whose node registered", inFlight: []InFlightClaim{{Name: "default-abcde", NodePool: "default",
			Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}},
			nodes: []*corev1.Node{poolNode("n1", "default", "default-abcde", func(n *corev1.Node) {
				n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
			})}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeEC2{typePages: [][]string{{"m5.large", "m5.xlarge", "c5.large"}}}
			p := newTestPlannerFor(t, limited, api, pod("web-1", pending(), requesting("1", "1Gi")))
			for _, n := range tt.nodes {
				if err := p.Kube.(*fake.Clientset).Tracker().Add(n); err != nil {
					t.Fatal(err)
				}
			}
			got, err := p.Plan(context.Background(), PlanRequest{InFlight: tt.inFlight})
			if err != nil {
				t.Fatal(err)
			}
			reason := got.Unschedulable["ns/web-1"]
			switch {
			case tt.want == "" && len(got.Claims) != 1:
				t.Errorf("no claim for the pod (%q), want one", reason)
			case tt.want != "" && !strings.Contains(reason, tt.want):
				t.Errorf("claims %d, reason %q; want the pod held back with %q", len(got.Claims), reason, tt.want)
			}
		})
	}
}

func TestPlanChargesAClaimTheLargestOfItsTypes(t *testing.T) {
	api := &fakeEC2{typePages: [][]string{{"m5.large", "m5.xlarge", "c5.large"}}}
	p := newTestPlanner(t, api, pod("web-1", pending(), requesting("1", "1Gi")))
	got, err := p.Plan(context.Background(), PlanRequest{})
	if err != nil || len(got.Claims) != 1 {
		t.Fatalf("plan %+v, %v; want one claim", got, err)
	}
	c := got.Claims[0]
	if !slices.Contains(c.InstanceTypes, "m5.xlarge") {
		t.Fatalf("types %v, want m5.xlarge among them", c.InstanceTypes)
	}
	if cpu := c.Capacity[corev1.ResourceCPU]; cpu.Cmp(resource.MustParse("4")) != 0 {
		t.Errorf("claim charged %s cpu, want m5.xlarge's 4", cpu.String())
	}
}

// claimPods is a ClaimPods that knows each claim's pods.
type claimPods map[string][]string

func (c claimPods) PodsOf(_ context.Context, claims []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, name := range claims {
		out[name] = c[name]
	}
	return out, nil
}

// A claim in flight holds the pods it was planned for while it nominates them: they get no
// second node. One that no longer nominates leaves them to be planned. A claim whose node
// just became Ready, or one in flight, holds them until the planner sees that node Ready itself.
func TestPlanLeavesOutThePodsAClaimInFlightHolds(t *testing.T) {
	readyNode := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "ip-1", Labels: map[string]string{apisv1.LabelNodeClaim: "default-abcde", apisv1.LabelInitialized: "true"}},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
	tests := []struct {
		name          string
		inFlight      []InFlightClaim
		holding       []string
		nodes         []*corev1.Node
		wantClaimed   []string
		wantNominated int
	}{
		{name: "no claim in flight", wantClaimed: []string{"ns/web-1", "ns/web-2"}},
		{name: "a nominating claim holds web-1", inFlight: []InFlightClaim{{Name: "default-abcde", NodePool: "default", Nominates: true}},
			wantClaimed: []string{"ns/web-2"}, wantNominated: 1},
		{name: "a claim past nominating holds nothing", inFlight: []InFlightClaim{{Name: "default-abcde", NodePool: "default"}},
			wantClaimed: []string{"ns/web-1", "ns/web-2"}},
		{name: "a claim just Ready holds web-1 while its node is not seen", holding: []string{"default-abcde"},
			wantClaimed: []string{"ns/web-2"}, wantNominated: 1},
		{name: "a claim just Ready whose node is seen Ready holds nothing (the node is full)", holding: []string{"default-abcde"},
			nodes: []*corev1.Node{readyNode}, wantClaimed: []string{"ns/web-1", "ns/web-2"}},
		{name: "a nominating claim whose node is seen Ready holds nothing (its node-ready signal was lost)",
			inFlight: []InFlightClaim{{Name: "default-abcde", NodePool: "default", Nominates: true}},
			nodes:    []*corev1.Node{readyNode}, wantClaimed: []string{"ns/web-1", "ns/web-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeEC2{typePages: [][]string{{"m5.large", "m5.xlarge", "c5.large"}}}
			p := newTestPlanner(t, api, pod("web-1", pending(), requesting("1", "1Gi")), pod("web-2", pending(), requesting("1", "1Gi")))
			for _, n := range tt.nodes {
				if err := p.Kube.(*fake.Clientset).Tracker().Add(n); err != nil {
					t.Fatal(err)
				}
			}
			p.ClaimPods = claimPods{"default-abcde": {"ns/web-1", "ns/gone"}}
			got, err := p.Plan(context.Background(), PlanRequest{InFlight: tt.inFlight, Holding: tt.holding})
			if err != nil {
				t.Fatal(err)
			}
			var claimed []string
			for _, c := range got.Claims {
				claimed = append(claimed, c.Pods...)
			}
			slices.Sort(claimed)
			if !slices.Equal(claimed, tt.wantClaimed) || got.Nominated != tt.wantNominated {
				t.Errorf("claimed %v with %d nominated, want %v with %d", claimed, got.Nominated, tt.wantClaimed, tt.wantNominated)
			}
		})
	}
}

// claimsWithin (a simulation's claims, in full) and packedWithin (a plan's, each shape once)
// keep claims while they fit the budget, and always the first.
func TestClaimsWithinKeepsClaimsUpToTheBudget(t *testing.T) {
	claims := []Claim{{NodePool: "a", Pods: []string{"ns/1"}}, {NodePool: "b", Pods: []string{"ns/2"}}, {NodePool: "c", Pods: []string{"ns/3"}}}
	alike := alikeClaims(300)
	one, err := json.Marshal(claims[0])
	if err != nil {
		t.Fatal(err)
	}
	full, err := json.Marshal(alike[0])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		within   func([]Claim, int) ([]Claim, bool)
		claims   []Claim
		budget   int
		wantKept int
		wantMore bool
	}{
		{name: "all fit", within: claimsWithin, claims: claims, budget: 10 * len(one), wantKept: 3},
		{name: "two fit", within: claimsWithin, claims: claims, budget: 2*len(one) + 1, wantKept: 2, wantMore: true},
		{name: "the first is kept even over the budget", within: claimsWithin, claims: claims, budget: 1, wantKept: 1, wantMore: true},
		{name: "packed, 301 claims of two shapes fit in the room of 100 in full", within: packedWithin, claims: alike, budget: 100 * len(full), wantKept: 301},
		{name: "packed, the first shape and the next claim's own part", within: packedWithin, claims: alike, budget: len(full) + 100, wantKept: 2, wantMore: true},
		{name: "packed, the first is kept even over the budget", within: packedWithin, claims: alike, budget: 1, wantKept: 1, wantMore: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, more := tt.within(tt.claims, tt.budget)
			if len(kept) != tt.wantKept || more != tt.wantMore {
				t.Errorf("kept %d, more %v; want %d, %v", len(kept), more, tt.wantKept, tt.wantMore)
			}
		})
	}
}

func TestSampleReasonsKeepsAFewShortOnes(t *testing.T) {
	reasons := map[string]string{}
	for i := range maxReasonsReported + 10 {
		reasons[fmt.Sprintf("ns/p%03d", i)] = strings.Repeat("x", maxReasonBytes+100)
	}
	got, count := sampleReasons(reasons)
	if count != maxReasonsReported+10 || len(got) != maxReasonsReported {
		t.Fatalf("sampled %d of %d, want %d of %d", len(got), count, maxReasonsReported, maxReasonsReported+10)
	}
	if _, ok := got["ns/p000"]; !ok {
		t.Errorf("sample %v lacks the first pod by key", slices.Sorted(maps.Keys(got)))
	}
	for key, why := range got {
		if len(why) > maxReasonBytes+3 {
			t.Errorf("reason of %s is %d bytes, want at most %d", key, len(why), maxReasonBytes+3)
		}
	}
}

// A claim's capacity comes from a signal: committed counts at most what the largest type has.
func TestCommittedCapsAnInFlightClaimAtTheLargestType(t *testing.T) {
	ceiling := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("96"), corev1.ResourceMemory: resource.MustParse("384Gi")}
	tests := []struct {
		name     string
		capacity corev1.ResourceList
		want     corev1.ResourceList
	}{
		{name: "within the largest type", capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")},
			want: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}},
		{name: "beyond it", capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1e9"), corev1.ResourceMemory: resource.MustParse("1Pi")},
			want: ceiling},
		{name: "negative, or a resource no type has", capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-4"), "example.com/gpu": resource.MustParse("1")},
			want: corev1.ResourceList{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := committed(nil, []InFlightClaim{{Name: "default-abcde", NodePool: "default", Capacity: tt.capacity}}, ceiling)
			if len(got) != 1 || len(got[0].Capacity) != len(tt.want) {
				t.Fatalf("committed %+v, want one entry of %v", got, tt.want)
			}
			for name, q := range tt.want {
				if have := got[0].Capacity[name]; have.Cmp(q) != 0 {
					t.Errorf("%s counted %s, want %s", name, have.String(), q.String())
				}
			}
		})
	}
}

func TestPlanSaysWhereItsFiguresCameFrom(t *testing.T) {
	p := newTestPlanner(t, &fakeEC2{typePages: [][]string{{"m5.large"}}}, pod("web-1", pending(), requesting("1", "1Gi")))
	got, err := p.Plan(context.Background(), PlanRequest{})
	if err != nil {
		t.Fatal(err)
	}
	m := got.Market
	if m == nil {
		t.Fatal("the plan does not say where its figures came from")
	}
	// fakeEC2 lists types but serves neither offerings nor spot prices; no Pricing client.
	if m.InstanceTypes.Fallback() || !m.Offerings.Fallback() || !m.Spot.Fallback() || !m.OnDemand.Fallback() {
		t.Errorf("market = %+v, want types from AWS and the rest from the fallback", *m)
	}
	if !strings.Contains(m.Spot.Reason, "no spot prices") {
		t.Errorf("spot reason = %q, want EC2's refusal", m.Spot.Reason)
	}
}

// TestPlanHoldsPodsBackAtClusterCostLimit: the worker's cluster limits reach the engine, an
// in-flight claim is charged its dearest price, and a claim says what it may cost at most.
func TestPlanHoldsPodsBackAtClusterCostLimit(t *testing.T) {
	tests := []struct {
		name     string
		limit    float64
		inFlight []InFlightClaim
		want     string // "" for a claim
	}{
		{name: "room for the claim", limit: 100},
		{name: "no room for any claim", limit: 0.001, want: "cluster hourly cost would be $"},
		{name: "an in-flight claim takes the room", limit: 5,
			inFlight: []InFlightClaim{{Name: "default-abcde", NodePool: "default", MaxPricePerHour: 4.999}}, want: "limit $5.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeEC2{typePages: [][]string{{"m5.large", "m5.xlarge", "c5.large"}}}
			p := newTestPlanner(t, api, pod("web-1", pending(), requesting("1", "1Gi")))
			p.Limits = StaticClusterLimits{MaxHourlyCost: &tt.limit}
			got, err := p.Plan(context.Background(), PlanRequest{InFlight: tt.inFlight})
			if err != nil {
				t.Fatal(err)
			}
			reason := got.Unschedulable["ns/web-1"]
			switch {
			case tt.want == "" && len(got.Claims) != 1:
				t.Fatalf("no claim for the pod (%q), want one", reason)
			case tt.want == "" && (got.Claims[0].MaxPricePerHour < got.Claims[0].PricePerHour || got.Claims[0].MaxPricePerHour > tt.limit):
				t.Errorf("claim costs $%v at most and $%v planned, want between them within $%v", got.Claims[0].MaxPricePerHour, got.Claims[0].PricePerHour, tt.limit)
			case tt.want != "" && !strings.Contains(reason, tt.want):
				t.Errorf("claims %d, reason %q; want the pod held back with %q", len(got.Claims), reason, tt.want)
			}
		})
	}
}

// A pod the kube-scheduler bound to another node than its claim's leaves a place on that
// claim for a pending sibling, one per pod, never for a pod of another controller and never
// on a claim that no longer holds its pods.
func TestLendPlacesGivesASiblingThePlaceABoundPodLeft(t *testing.T) {
	owned := func(name, rs, node string) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: rs, UID: types.UID(rs), Controller: ptr.To(true)}}}}
		if node != "" {
			p.Spec.NodeName = node
		} else {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
		}
		return p
	}
	pods := []corev1.Pod{
		owned("a", "web", "ip-other"), // planned for claim-1, bound elsewhere
		owned("b", "web", ""),         // planned for claim-1, pending
		owned("c", "web", "ip-other"), // planned for claim-2, bound elsewhere
		owned("x", "web", ""),         // pending, its own claim Ready
		owned("y", "web", ""),
		owned("z", "web", ""),
		owned("q", "api", ""), // another controller
	}
	tests := []struct {
		name    string
		lenders map[string]bool
		want    map[string]string // the pods given a place
	}{
		{name: "two places, two of three siblings", lenders: map[string]bool{"claim-1": true, "claim-2": true},
			want: map[string]string{"ns/x": "claim-1", "ns/y": "claim-2"}},
		{name: "a claim that holds nothing lends nothing", lenders: map[string]bool{"claim-1": true},
			want: map[string]string{"ns/x": "claim-1"}},
		{name: "no lender", want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held := map[string]string{"ns/a": "claim-1", "ns/b": "claim-1", "ns/c": "claim-2"}
			lendPlaces(pods, held, tt.lenders)
			got := map[string]string{}
			for key, claim := range held {
				if key != "ns/a" && key != "ns/b" && key != "ns/c" {
					got[key] = claim
				}
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("places given %v, want %v", got, tt.want)
			}
		})
	}
}
