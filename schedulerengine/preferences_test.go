package schedulerengine

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func TestSolveTreatsPreferredNodeAffinityAsRequiredUntilItCannotBeMet(t *testing.T) {
	runSolveCases(t, []solveCase{
		{name: "a preference that can be met is honoured over a cheaper type",
			pods: []*corev1.Pod{pod(withPreferredNodeAffinity(10, expr(v1.LabelArch, corev1.NodeSelectorOpIn, "amd64")))},
			want: outcome{instanceType: "small.amd"}},
		{name: "a preference nothing meets is dropped",
			pods: []*corev1.Pod{pod(withPreferredNodeAffinity(10, expr(v1.LabelArch, corev1.NodeSelectorOpIn, "s390x")))},
			want: outcome{instanceType: "small.arm"}},
		{name: "two compatible preferences are both honoured",
			pods: []*corev1.Pod{pod(withPreferredNodeAffinity(10, expr(v1.LabelArch, corev1.NodeSelectorOpIn, "amd64")), withPreferredNodeAffinity(5, expr(v1.LabelZone, corev1.NodeSelectorOpIn, zoneB)))},
			want: outcome{instanceType: "small.amd", zones: []string{zoneB}}},
		{name: "of two conflicting preferences the lighter is dropped first",
			pods: []*corev1.Pod{pod(withPreferredNodeAffinity(10, expr(v1.LabelZone, corev1.NodeSelectorOpIn, zoneA)), withPreferredNodeAffinity(50, expr(v1.LabelZone, corev1.NodeSelectorOpIn, zoneB)))},
			want: outcome{zones: []string{zoneB}}},
		{name: "a preference is honoured on existing nodes too",
			pods:     []*corev1.Pod{pod(withPreferredNodeAffinity(10, expr(v1.LabelArch, corev1.NodeSelectorOpIn, "arm64")))},
			existing: []ExistingNode{existingNode("a-amd", "4", map[string]string{v1.LabelArch: "amd64"}), existingNode("b-arm", "4", map[string]string{v1.LabelArch: "arm64"})},
			want:     outcome{node: "b-arm"}},
		{name: "a pod that fails with its preferences dropped says which were relaxed",
			pods: []*corev1.Pod{pod(withSelector(v1.LabelArch, "s390x"), withPreferredNodeAffinity(10, expr(v1.LabelZone, corev1.NodeSelectorOpIn, zoneB)))},
			want: outcome{unschedulable: "(after relaxing preferred node affinity term 0 (weight 10))"}},
	})
}

func TestSolveTreatsPreferredPodTopologyAsRequiredUntilItCannotBeMet(t *testing.T) {
	web := []podOption{withLabels("app", "web"), withPreferredAntiAffinity(10, v1.LabelHostname, selector("app", "web"))}
	zonal := []podOption{withLabels("app", "z"), withPreferredAntiAffinity(10, v1.LabelZone, selector("app", "z"))}
	anyway := []podOption{withLabels("app", "s"), withSpread(v1.LabelZone, 1, selector("app", "s"), scheduleAnyway())}
	zoneAOnly := []v1.NodePool{nodePool("default", withPoolRequirement(v1.LabelZone, corev1.NodeSelectorOpIn, zoneA))}
	runTopologyCases(t, []topoCase{
		{name: "preferred anti-affinity on hostname spreads pods over nodes",
			pods: []*corev1.Pod{named("w1", web...), named("w2", web...)},
			want: topoWant{newNodes: 2, apart: []string{"w1", "w2"}}},
		{name: "preferred anti-affinity on zone is relaxed for the pod that cannot have it",
			pods: []*corev1.Pod{named("z1", zonal...), named("z2", zonal...), named("z3", zonal...)},
			want: topoWant{zones: map[string]int{zoneA: 2, zoneB: 1}}},
		{name: "preferred affinity pulls a pod to the node of the pod it selects",
			pods:     []*corev1.Pod{named("api", withPreferredPodAffinity(10, v1.LabelHostname, selector("app", "db")))},
			existing: []ExistingNode{existingNodeWith("a0", zoneA), existingNodeWith("n1", zoneA, named("db", withLabels("app", "db")))},
			want:     topoWant{on: map[string]string{"api": "n1"}}},
		{name: "preferred affinity nobody can meet is dropped",
			pods:     []*corev1.Pod{named("api", withPreferredPodAffinity(10, v1.LabelHostname, selector("app", "db")))},
			existing: []ExistingNode{existingNodeWith("a0", zoneA)},
			want:     topoWant{on: map[string]string{"api": "a0"}}},
		{name: "a ScheduleAnyway spread balances zones when it can",
			pods: []*corev1.Pod{named("s1", anyway...), named("s2", anyway...)},
			want: topoWant{zones: map[string]int{zoneA: 1, zoneB: 1}}},
		{name: "a ScheduleAnyway spread is relaxed when only one zone is possible",
			pods:  []*corev1.Pod{named("s1", anyway...), named("s2", anyway...), named("s3", anyway...)},
			pools: zoneAOnly,
			want:  topoWant{zones: map[string]int{zoneA: 3}}},
	})
}

func TestPreferencesRelaxLightestFirstInKarpentersKindOrder(t *testing.T) {
	p := pod(
		withSpread(v1.LabelZone, 1, selector("a", "b"), scheduleAnyway()),
		withPreferredNodeAffinity(30, expr(v1.LabelArch, corev1.NodeSelectorOpIn, "amd64")),
		withPreferredNodeAffinity(10, expr(v1.LabelArch, corev1.NodeSelectorOpIn, "arm64")),
		withPreferredAntiAffinity(5, v1.LabelHostname, selector("a", "b")),
		withPreferredPodAffinity(20, v1.LabelHostname, selector("a", "b")),
		withPreferredPodAffinity(40, v1.LabelZone, selector("a", "b")),
	)
	var got []string
	for _, pr := range preferencesOf(p) {
		got = append(got, pr.describe())
	}
	want := []string{
		"preferred pod affinity term 0 (weight 20)",
		"preferred pod affinity term 1 (weight 40)",
		"preferred pod anti-affinity term 0 (weight 5)",
		"preferred node affinity term 1 (weight 10)",
		"preferred node affinity term 0 (weight 30)",
		"ScheduleAnyway topology spread constraint 0",
	}
	if len(got) != len(want) {
		t.Fatalf("relaxation order %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("relaxation order %v, want %v", got, want)
		}
	}
}
