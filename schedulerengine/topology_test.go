package schedulerengine

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// topoCase solves a handful of pods and checks where they went as a whole.
type topoCase struct {
	name       string
	pods       []*corev1.Pod
	existing   []ExistingNode
	pools      []v1.NodePool // defaults to one pool "default"
	namespaces map[string]map[string]string
	daemons    []*corev1.Pod
	want       topoWant
}

type topoWant struct {
	newNodes      int               // checked when above 0
	together      [][]string        // each list of pod names shares one node
	apart         []string          // these pods are on pairwise different nodes
	zones         map[string]int    // pods per zone, over every placed pod
	on            map[string]string // pod name -> existing node it must be on ("" for any new node)
	unschedulable map[string]string // pod name -> a substring of its reason
	launchedAs    map[string]string // pod name -> the instance type its claim launches as
}

// where is a pod's node ("node/<name>" or "claim/<i>") and zone ("" when the claim may
// still launch in any).
type where struct{ node, zone string }

func placements(in Input, plan Plan) map[string]where {
	zoneOf := map[string]string{}
	for _, n := range in.ExistingNodes {
		zoneOf[n.Name] = n.Labels[v1.LabelZone]
	}
	out := map[string]where{}
	for key, node := range plan.Existing {
		out[key] = where{node: "node/" + node, zone: zoneOf[node]}
	}
	for i, nc := range plan.NewNodes {
		zone := nc.Labels[v1.LabelZone]
		if zone == "" && len(nc.Zones) == 1 {
			zone = nc.Zones[0]
		}
		for _, key := range nc.Pods {
			out[key] = where{node: fmt.Sprintf("claim/%d", i), zone: zone}
		}
	}
	return out
}

func runTopologyCases(t *testing.T, cases []topoCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pools := tc.pools
			if pools == nil {
				pools = []v1.NodePool{nodePool("default")}
			}
			in := Input{Pods: tc.pods, NodePools: pools, InstanceTypes: smallCatalog(), ExistingNodes: tc.existing, NamespaceLabels: tc.namespaces, DaemonSetPods: tc.daemons}
			plan, err := Solve(in)
			if err != nil {
				t.Fatalf("Solve: %v", err)
			}
			assertTopology(t, in, plan, tc.want)
		})
	}
}

func keyOf(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	return "default/" + name
}

func assertTopology(t *testing.T, in Input, plan Plan, want topoWant) {
	t.Helper()
	at := placements(in, plan)
	for name, reason := range want.unschedulable {
		got, ok := plan.Unschedulable[keyOf(name)]
		if !ok {
			t.Errorf("pod %s placed on %s, want unschedulable with %q", name, at[keyOf(name)].node, reason)
		} else if !strings.Contains(got, reason) {
			t.Errorf("pod %s unschedulable because\n  %s\nwant a reason containing\n  %s", name, got, reason)
		}
	}
	for key, reason := range plan.Unschedulable {
		name := strings.TrimPrefix(key, "default/")
		if _, expected := want.unschedulable[name]; !expected {
			if _, expected = want.unschedulable[key]; !expected {
				t.Errorf("pod %s not scheduled: %s", key, reason)
			}
		}
	}
	for name, typ := range want.launchedAs {
		for _, nc := range plan.NewNodes {
			if slices.Contains(nc.Pods, keyOf(name)) && nc.InstanceTypes[0] != typ {
				t.Errorf("pod %s's claim launches as %v, want %s first", name, nc.InstanceTypes, typ)
			}
		}
	}
	if want.newNodes > 0 && len(plan.NewNodes) != want.newNodes {
		t.Errorf("plan has %d new nodes, want %d (placements %v)", len(plan.NewNodes), want.newNodes, at)
	}
	for _, group := range want.together {
		for _, name := range group[1:] {
			if at[keyOf(name)].node != at[keyOf(group[0])].node {
				t.Errorf("pod %s is on %s, want it beside %s on %s", name, at[keyOf(name)].node, group[0], at[keyOf(group[0])].node)
			}
		}
	}
	seen := map[string]string{}
	for _, name := range want.apart {
		node := at[keyOf(name)].node
		if other, clash := seen[node]; clash {
			t.Errorf("pods %s and %s share %s, want them apart", other, name, node)
		}
		seen[node] = name
	}
	if want.zones != nil {
		got := map[string]int{}
		for _, w := range at {
			got[w.zone]++
		}
		if !maps.Equal(got, want.zones) {
			t.Errorf("pods per zone %v, want %v (placements %v)", got, want.zones, at)
		}
	}
	for name, node := range want.on {
		got := at[keyOf(name)].node
		switch {
		case node == "" && !strings.HasPrefix(got, "claim/"):
			t.Errorf("pod %s is on %s, want a new node", name, got)
		case node != "" && got != "node/"+node:
			t.Errorf("pod %s is on %s, want existing node %s", name, got, node)
		}
	}
}

func named(name string, opts ...podOption) *corev1.Pod {
	return pod(append([]podOption{withName(name), withCPU("100m")}, opts...)...)
}

func TestSolveHonoursPodAntiAffinity(t *testing.T) {
	web := []podOption{withLabels("app", "web"), withAntiAffinity(v1.LabelHostname, selector("app", "web"))}
	runTopologyCases(t, []topoCase{
		{name: "pods with required anti-affinity on hostname each get their own node",
			pods: []*corev1.Pod{named("w1", web...), named("w2", web...), named("w3", web...)},
			want: topoWant{newNodes: 3, apart: []string{"w1", "w2", "w3"}}},
		{name: "anti-affinity repels only the pods its selector matches",
			pods: []*corev1.Pod{named("w1", web...), named("w2", web...), named("p1"), named("p2")},
			want: topoWant{newNodes: 2, apart: []string{"w1", "w2"}}},
		{name: "a pod is kept off a node where a pod its anti-affinity matches runs",
			pods:     []*corev1.Pod{named("w1", web...)},
			existing: []ExistingNode{existingNodeWith("n1", zoneA, named("old-web", withLabels("app", "web")))},
			want:     topoWant{on: map[string]string{"w1": ""}}},
		{name: "an existing pod's anti-affinity repels a pod it matches",
			pods:     []*corev1.Pod{named("w1", withLabels("app", "web"))},
			existing: []ExistingNode{existingNodeWith("n1", zoneA, named("db", withAntiAffinity(v1.LabelHostname, selector("app", "web"))))},
			want:     topoWant{on: map[string]string{"w1": ""}}},
		{name: "an existing pod's anti-affinity does not repel a pod it does not match",
			pods:     []*corev1.Pod{named("p1", withLabels("app", "api"))},
			existing: []ExistingNode{existingNodeWith("n1", zoneA, named("db", withAntiAffinity(v1.LabelHostname, selector("app", "web"))))},
			want:     topoWant{on: map[string]string{"p1": "n1"}}},
		{name: "anti-affinity sees only the pod's own namespace by default",
			pods:     []*corev1.Pod{named("w1", web...)},
			existing: []ExistingNode{existingNodeWith("n1", zoneA, named("old-web", withNamespace("other"), withLabels("app", "web")))},
			want:     topoWant{on: map[string]string{"w1": "n1"}}},
		{name: "anti-affinity listing a namespace sees pods there",
			pods:     []*corev1.Pod{named("w1", withLabels("app", "web"), withAntiAffinity(v1.LabelHostname, selector("app", "web"), inNamespaces("other")))},
			existing: []ExistingNode{existingNodeWith("n1", zoneA, named("old-web", withNamespace("other"), withLabels("app", "web")))},
			want:     topoWant{on: map[string]string{"w1": ""}}},
		{name: "a namespaceSelector brings the namespaces it selects in",
			pods:       []*corev1.Pod{named("w1", withLabels("app", "web"), withAntiAffinity(v1.LabelHostname, selector("app", "web"), namespaceSelector(selector("team", "x"))))},
			existing:   []ExistingNode{existingNodeWith("n1", zoneA, named("old-web", withNamespace("other"), withLabels("app", "web")))},
			namespaces: map[string]map[string]string{"other": {"team": "x"}},
			want:       topoWant{on: map[string]string{"w1": ""}}},
		{name: "a namespaceSelector leaves out the namespaces it does not select",
			pods:       []*corev1.Pod{named("w1", withLabels("app", "web"), withAntiAffinity(v1.LabelHostname, selector("app", "web"), namespaceSelector(selector("team", "y"))))},
			existing:   []ExistingNode{existingNodeWith("n1", zoneA, named("old-web", withNamespace("other"), withLabels("app", "web")))},
			namespaces: map[string]map[string]string{"other": {"team": "x"}},
			want:       topoWant{on: map[string]string{"w1": "n1"}}},
		{name: "anti-affinity on zone puts pods in different zones and refuses a third",
			pods: []*corev1.Pod{
				named("z1", withLabels("app", "z"), withAntiAffinity(v1.LabelZone, selector("app", "z"))),
				named("z2", withLabels("app", "z"), withAntiAffinity(v1.LabelZone, selector("app", "z"))),
				named("z3", withLabels("app", "z"), withAntiAffinity(v1.LabelZone, selector("app", "z"))),
			},
			want: topoWant{zones: map[string]int{zoneA: 1, zoneB: 1}, unschedulable: map[string]string{"z3": "pod anti-affinity on topology.kubernetes.io/zone"}}},
	})
}

func TestSolveHonoursPodAffinity(t *testing.T) {
	runTopologyCases(t, []topoCase{
		{name: "required affinity on hostname puts the pod beside the pod it selects",
			pods: []*corev1.Pod{named("db", withLabels("app", "db"), withCPU("1")), named("api", withPodAffinity(v1.LabelHostname, selector("app", "db")))},
			want: topoWant{newNodes: 1, together: [][]string{{"db", "api"}}}},
		{name: "affinity to a pod on an existing node goes to that node",
			pods:     []*corev1.Pod{named("api", withPodAffinity(v1.LabelHostname, selector("app", "db")))},
			existing: []ExistingNode{existingNodeWith("n1", zoneA, named("db", withLabels("app", "db"))), existingNodeWith("a0", zoneA)},
			want:     topoWant{on: map[string]string{"api": "n1"}}},
		{name: "affinity to a zone follows the selected pod's zone",
			pods:     []*corev1.Pod{named("api", withPodAffinity(v1.LabelZone, selector("app", "db")), withCPU("8"))},
			existing: []ExistingNode{existingNodeWith("n1", zoneB, named("db", withLabels("app", "db")))},
			want:     topoWant{zones: map[string]int{zoneB: 1}}},
		{name: "affinity to a pod nobody runs, not matching itself, is unschedulable",
			pods: []*corev1.Pod{named("api", withPodAffinity(v1.LabelHostname, selector("app", "db")))},
			want: topoWant{unschedulable: map[string]string{"api": "pod affinity on kubernetes.io/hostname to pods matching app=db"}}},
		{name: "self-affinity on zone keeps a group in the first pod's zone",
			pods: []*corev1.Pod{
				named("a1", withLabels("grp", "a"), withPodAffinity(v1.LabelZone, selector("grp", "a")), withCPU("7")),
				named("a2", withLabels("grp", "a"), withPodAffinity(v1.LabelZone, selector("grp", "a")), withCPU("7")),
				named("a3", withLabels("grp", "a"), withPodAffinity(v1.LabelZone, selector("grp", "a")), withCPU("7")),
			},
			want: topoWant{newNodes: 3, zones: map[string]int{zoneA: 3}}},
		{name: "two affinity terms met by two different pods are not met, as in the kube-scheduler",
			pods: []*corev1.Pod{named("api", withPodAffinity(v1.LabelZone, selector("app", "db")), withPodAffinity(v1.LabelZone, selector("tier", "cache")))},
			existing: []ExistingNode{
				existingNodeWith("n1", zoneA, named("db", withLabels("app", "db"))),
				existingNodeWith("n2", zoneA, named("cache", withLabels("tier", "cache"))),
			},
			want: topoWant{unschedulable: map[string]string{"api": "pod affinity on topology.kubernetes.io/zone to pods matching app=db and tier=cache"}}},
		{name: "two affinity terms go where one pod matches both",
			pods: []*corev1.Pod{named("api", withPodAffinity(v1.LabelZone, selector("app", "db")), withPodAffinity(v1.LabelHostname, selector("tier", "cache")))},
			existing: []ExistingNode{
				existingNodeWith("n1", zoneA, named("db", withLabels("app", "db"))),
				existingNodeWith("n2", zoneA, named("cache", withLabels("tier", "cache"))),
				existingNodeWith("n3", zoneB, named("both", withLabels("app", "db", "tier", "cache"))),
			},
			want: topoWant{on: map[string]string{"api": "n3"}}},
		{name: "a preferred affinity term does not widen the first-of-its-kind exception",
			pods: []*corev1.Pod{named("x", withLabels("app", "web", "tier", "front"), withCPU("7"),
				withPodAffinity(v1.LabelZone, selector("app", "web")), withPreferredPodAffinity(10, v1.LabelZone, selector("tier", "front")))},
			existing: []ExistingNode{existingNodeWith("n1", zoneB, named("e", withLabels("app", "web")))},
			want:     topoWant{zones: map[string]int{zoneB: 1}}},
		{name: "relaxing a preferred affinity term keeps the required one's pods counted",
			pods: []*corev1.Pod{named("x", withLabels("app", "db"), withCPU("7"),
				withPodAffinity(v1.LabelZone, selector("app", "db")), withPreferredPodAffinity(10, v1.LabelZone, selector("app", "cache")))},
			existing: []ExistingNode{existingNodeWith("n1", zoneB, named("e", withLabels("app", "db")))},
			want:     topoWant{zones: map[string]int{zoneB: 1}}},
		{name: "the same two terms, both required on one pod and one preferred on another, are read apart",
			pods: []*corev1.Pod{
				named("loose", withLabels("app", "db"), withCPU("7"),
					withPodAffinity(v1.LabelZone, selector("app", "db")), withPreferredPodAffinity(10, v1.LabelZone, selector("tier", "cache"))),
				named("strict", withLabels("app", "db"), withCPU("6"),
					withPodAffinity(v1.LabelZone, selector("app", "db")), withPodAffinity(v1.LabelZone, selector("tier", "cache"))),
			},
			existing: []ExistingNode{
				existingNodeWith("n1", zoneB, named("db", withLabels("app", "db"))),
				existingNodeWith("n2", zoneB, named("cache", withLabels("tier", "cache"))),
			},
			want: topoWant{zones: map[string]int{zoneB: 1}, unschedulable: map[string]string{"strict": "pod affinity"}}},
		{name: "affinity in another namespace is not seen by default",
			pods:     []*corev1.Pod{named("api", withPodAffinity(v1.LabelHostname, selector("app", "db")))},
			existing: []ExistingNode{existingNodeWith("n1", zoneA, named("db", withNamespace("other"), withLabels("app", "db")))},
			want:     topoWant{unschedulable: map[string]string{"api": "pod affinity"}}},
	})
}

func TestSolveHonoursTopologySpread(t *testing.T) {
	spread := func(name string, opts ...spreadOption) *corev1.Pod {
		return named(name, withLabels("app", "s"), withSpread(v1.LabelZone, 1, selector("app", "s"), opts...))
	}
	hostSpread := func(name string, skew int32) *corev1.Pod {
		return named(name, withLabels("app", "h"), withSpread(v1.LabelHostname, skew, selector("app", "h")))
	}
	zoneAPool := []v1.NodePool{nodePool("default", withPoolRequirement(v1.LabelZone, corev1.NodeSelectorOpIn, zoneA))}
	runTopologyCases(t, []topoCase{
		{name: "zone spread with maxSkew 1 balances pods across zones",
			pods: []*corev1.Pod{spread("s1"), spread("s2"), spread("s3"), spread("s4")},
			want: topoWant{zones: map[string]int{zoneA: 2, zoneB: 2}}},
		{name: "pods already running count towards the spread",
			pods:     []*corev1.Pod{spread("s1"), spread("s2")},
			existing: []ExistingNode{existingNodeWith("full", zoneA, named("r1", withLabels("app", "s")), named("r2", withLabels("app", "s")))},
			want:     topoWant{zones: map[string]int{zoneB: 2}}},
		{name: "hostname spread with maxSkew 1 puts one matching pod per node",
			pods: []*corev1.Pod{hostSpread("h1", 1), hostSpread("h2", 1), hostSpread("h3", 1)},
			want: topoWant{newNodes: 3, apart: []string{"h1", "h2", "h3"}}},
		{name: "hostname spread with maxSkew 2 allows two per node",
			pods: []*corev1.Pod{hostSpread("h1", 2), hostSpread("h2", 2), hostSpread("h3", 2), hostSpread("h4", 2)},
			want: topoWant{newNodes: 2}},
		{name: "minDomains above the zones on offer makes the minimum zero",
			pods: []*corev1.Pod{spread("s1", minDomains(3)), spread("s2", minDomains(3)), spread("s3", minDomains(3))},
			want: topoWant{zones: map[string]int{zoneA: 1, zoneB: 1}, unschedulable: map[string]string{"s3": "topology spread on topology.kubernetes.io/zone (maxSkew 1)"}}},
		{name: "nodeAffinityPolicy Honor counts only the zones the pod may use",
			pods:  []*corev1.Pod{spread("s1", minDomains(1)), spread("s2")},
			pools: zoneAPool,
			want:  topoWant{zones: map[string]int{zoneA: 2}}},
		{name: "a nodeSelector on zone with nodeAffinityPolicy Honor keeps the spread satisfiable",
			pods: []*corev1.Pod{named("s1", withLabels("app", "s"), withSelector(v1.LabelZone, zoneA), withSpread(v1.LabelZone, 1, selector("app", "s"))),
				named("s2", withLabels("app", "s"), withSelector(v1.LabelZone, zoneA), withSpread(v1.LabelZone, 1, selector("app", "s")))},
			want: topoWant{zones: map[string]int{zoneA: 2}}},
		{name: "nodeAffinityPolicy Ignore counts zones the pod cannot use",
			pods: []*corev1.Pod{named("s1", withLabels("app", "s"), withSelector(v1.LabelZone, zoneA), withSpread(v1.LabelZone, 1, selector("app", "s"), nodeAffinityPolicy(corev1.NodeInclusionPolicyIgnore))),
				named("s2", withLabels("app", "s"), withSelector(v1.LabelZone, zoneA), withSpread(v1.LabelZone, 1, selector("app", "s"), nodeAffinityPolicy(corev1.NodeInclusionPolicyIgnore)))},
			want: topoWant{zones: map[string]int{zoneA: 1}, unschedulable: map[string]string{"s2": "would be exceeded"}}},
		{name: "nodeTaintsPolicy Ignore counts zones behind untolerated taints",
			pods: []*corev1.Pod{spread("s1"), spread("s2")},
			pools: []v1.NodePool{nodePool("a", withPoolRequirement(v1.LabelZone, corev1.NodeSelectorOpIn, zoneA)),
				nodePool("b", withPoolRequirement(v1.LabelZone, corev1.NodeSelectorOpIn, zoneB), withPoolTaint("dedicated", "b", corev1.TaintEffectNoSchedule))},
			want: topoWant{zones: map[string]int{zoneA: 1}, unschedulable: map[string]string{"s2": "would be exceeded"}}},
		{name: "nodeTaintsPolicy Honor leaves those zones out",
			pods: []*corev1.Pod{spread("s1", nodeTaintsPolicy(corev1.NodeInclusionPolicyHonor)), spread("s2", nodeTaintsPolicy(corev1.NodeInclusionPolicyHonor))},
			pools: []v1.NodePool{nodePool("a", withPoolRequirement(v1.LabelZone, corev1.NodeSelectorOpIn, zoneA)),
				nodePool("b", withPoolRequirement(v1.LabelZone, corev1.NodeSelectorOpIn, zoneB), withPoolTaint("dedicated", "b", corev1.TaintEffectNoSchedule))},
			want: topoWant{zones: map[string]int{zoneA: 2}}},
		{name: "matchLabelKeys counts only pods of the pod's own revision",
			pods: []*corev1.Pod{
				named("new1", withLabels("app", "s", "rev", "2"), withSpread(v1.LabelZone, 1, selector("app", "s"), matchLabelKeys("rev"))),
				named("new2", withLabels("app", "s", "rev", "2"), withSpread(v1.LabelZone, 1, selector("app", "s"), matchLabelKeys("rev"))),
			},
			existing: []ExistingNode{existingNodeWith("old", zoneA, named("old1", withLabels("app", "s", "rev", "1")), named("old2", withLabels("app", "s", "rev", "1")))},
			want:     topoWant{zones: map[string]int{zoneA: 1, zoneB: 1}}},
		{name: "a spread on capacity type puts one pod on spot and one on-demand",
			pods: []*corev1.Pod{
				named("c1", withLabels("app", "c"), withSpread(v1.LabelCapacityType, 1, selector("app", "c"))),
				named("c2", withLabels("app", "c"), withSpread(v1.LabelCapacityType, 1, selector("app", "c"))),
			},
			want: topoWant{newNodes: 2}},
	})
}

func TestSolvePinsAClaimOnlyToZonesItsSpreadAllows(t *testing.T) {
	var pods []*corev1.Pod
	for i := range 6 {
		pods = append(pods, named(fmt.Sprintf("s%d", i), withLabels("app", "s"), withSpread(v1.LabelZone, 1, selector("app", "s"))))
	}
	plan, err := Solve(Input{Pods: pods, NodePools: []v1.NodePool{nodePool("default")}, InstanceTypes: smallCatalog()})
	if err != nil {
		t.Fatal(err)
	}
	for _, nc := range plan.NewNodes {
		if len(nc.Zones) != 1 || nc.Labels[v1.LabelZone] != nc.Zones[0] {
			t.Errorf("claim for %v may launch in zones %v with zone label %q, want one pinned zone", nc.Pods, nc.Zones, nc.Labels[v1.LabelZone])
		}
	}
	if len(plan.NewNodes) != 2 {
		t.Errorf("6 small spread pods over 2 zones took %d nodes, want 2", len(plan.NewNodes))
	}
}

func TestSolveCapacityTypeSpreadPinsEachClaim(t *testing.T) {
	pods := []*corev1.Pod{
		named("c1", withLabels("app", "c"), withSpread(v1.LabelCapacityType, 1, selector("app", "c"))),
		named("c2", withLabels("app", "c"), withSpread(v1.LabelCapacityType, 1, selector("app", "c"))),
	}
	plan, err := Solve(Input{Pods: pods, NodePools: []v1.NodePool{nodePool("default")}, InstanceTypes: smallCatalog()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, nc := range plan.NewNodes {
		got = append(got, nc.Labels[v1.LabelCapacityType])
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{v1.CapacityTypeOnDemand, v1.CapacityTypeSpot}) {
		t.Fatalf("claims pinned to capacity types %v, want one on-demand and one spot", got)
	}
}

func TestSolveKeepsHostPortsApart(t *testing.T) {
	runTopologyCases(t, []topoCase{
		{name: "two pods binding one host port go to different nodes",
			pods: []*corev1.Pod{named("a", withHostPort(8080, corev1.ProtocolTCP)), named("b", withHostPort(8080, ""))},
			want: topoWant{newNodes: 2, apart: []string{"a", "b"}}},
		{name: "the same port over another protocol does not clash",
			pods: []*corev1.Pod{named("a", withHostPort(8080, corev1.ProtocolTCP)), named("b", withHostPort(8080, corev1.ProtocolUDP))},
			want: topoWant{newNodes: 1}},
		{name: "a port held by a running pod keeps the pod off that node",
			pods:     []*corev1.Pod{named("a", withHostPort(9100, corev1.ProtocolTCP))},
			existing: []ExistingNode{existingNodeWith("n1", zoneA, named("exporter", withHostPort(9100, corev1.ProtocolTCP)))},
			want:     topoWant{on: map[string]string{"a": ""}}},
		{name: "a port every new node's daemonset binds makes the pod unschedulable",
			pods:    []*corev1.Pod{named("a", withHostPort(9100, corev1.ProtocolTCP))},
			daemons: []*corev1.Pod{named("node-exporter", withHostPort(9100, corev1.ProtocolTCP))},
			want:    topoWant{unschedulable: map[string]string{"a": "host port 0.0.0.0:9100/TCP is taken by a daemonset"}}},
		{name: "a port a daemonset binds on arm64 nodes only sends the pod to amd64",
			pods:    []*corev1.Pod{named("a", withHostPort(9100, corev1.ProtocolTCP), withCPU("100m"))},
			daemons: []*corev1.Pod{named("arm-exporter", withHostPort(9100, corev1.ProtocolTCP), withSelector(v1.LabelArch, "arm64"))},
			want:    topoWant{newNodes: 1, launchedAs: map[string]string{"a": "small.amd"}}},
		{name: "without the daemonset's port the pod goes to the cheaper arm64",
			pods:    []*corev1.Pod{named("a", withHostPort(9100, corev1.ProtocolTCP), withCPU("100m"))},
			daemons: []*corev1.Pod{named("arm-agent", withHostPort(9200, corev1.ProtocolTCP), withSelector(v1.LabelArch, "arm64"))},
			want:    topoWant{newNodes: 1, launchedAs: map[string]string{"a": "small.arm"}}},
		{name: "a free port on a running node is used",
			pods:     []*corev1.Pod{named("a", withHostPort(9100, corev1.ProtocolTCP))},
			existing: []ExistingNode{existingNodeWith("n1", zoneA, named("exporter", withHostPort(9200, corev1.ProtocolTCP)))},
			want:     topoWant{on: map[string]string{"a": "n1"}}},
	})
}
