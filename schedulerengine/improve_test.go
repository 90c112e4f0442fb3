package schedulerengine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// solveWithoutImproving is Solve up to, not including, the improvement passes.
func solveWithoutImproving(t *testing.T, in Input) Plan {
	t.Helper()
	plan, err := SolveWithoutImproving(in)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func randomPlainPods(r *rand.Rand, n int) []*corev1.Pod {
	cpus := []string{"100m", "250m", "500m", "1", "1500m"}
	mems := []string{"100Mi", "256Mi", "512Mi", "1Gi", "2Gi", "4Gi", "6Gi"}
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = pod(withName(fmt.Sprintf("p%03d", i)), withCPU(cpus[r.IntN(len(cpus))]), withMemory(mems[r.IntN(len(mems))]))
	}
	return out
}

func TestRepackingNeverCostsMoreAndKeepsEveryPod(t *testing.T) {
	improvedOnce := false
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		in := Input{Pods: randomPlainPods(r, 150), NodePools: []v1.NodePool{nodePool("default")}, InstanceTypes: smallCatalog()}
		before := solveWithoutImproving(t, in)
		after, err := Solve(in)
		if err != nil {
			t.Fatal(err)
		}
		if after.Cost > before.Cost+1e-9 {
			t.Errorf("seed %d: repacking raised the cost from %v to %v", seed, before.Cost, after.Cost)
		}
		if len(after.Unschedulable) != len(before.Unschedulable) {
			t.Errorf("seed %d: %d pods unschedulable after repacking, %d before", seed, len(after.Unschedulable), len(before.Unschedulable))
		}
		improvedOnce = improvedOnce || after.Cost < before.Cost-1e-9
	}
	if !improvedOnce {
		t.Fatal("repacking never found a cheaper plan; the pass or this test is not doing its job")
	}
}

func TestImprovingNeverMovesPodsWithHostnameTopology(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 7))
	pods := randomPlainPods(r, 60)
	for _, p := range pods[:20] {
		withLabels("app", "web")(p)
		withAntiAffinity(v1.LabelHostname, selector("app", "web"))(p)
	}
	in := Input{Pods: pods, NodePools: []v1.NodePool{nodePool("default")}, InstanceTypes: smallCatalog()}
	before := solveWithoutImproving(t, in)
	after, err := Solve(in)
	if err != nil {
		t.Fatal(err)
	}
	if after.Cost >= before.Cost-1e-9 {
		t.Fatalf("improving kept the cost at %v; this test needs a plan the plain pods can be moved around in", after.Cost)
	}
	web := func(plan Plan) [][]string {
		var out [][]string
		for _, nc := range plan.NewNodes {
			var onNode []string
			for _, k := range nc.Pods {
				if slices.ContainsFunc(pods[:20], func(p *corev1.Pod) bool { return PodKey(p) == k }) {
					onNode = append(onNode, k)
				}
			}
			if len(onNode) > 0 {
				out = append(out, onNode)
			}
		}
		return out
	}
	b, a := web(before), web(after)
	if len(b) != len(a) {
		t.Fatalf("%d claims with anti-affine pods before improving, %d after", len(b), len(a))
	}
	for i := range b {
		if !slices.Equal(b[i], a[i]) {
			t.Fatalf("claim %d's anti-affine pods changed from %v to %v; pods with hostname topology must stay where they are", i, b[i], a[i])
		}
	}
}

func TestRebalancingKeepsPodsOffTypesWhereADaemonsetHoldsTheirPort(t *testing.T) {
	exporter := pod(withName("arm-exporter"), withHostPort(9100, corev1.ProtocolTCP), withSelector(v1.LabelArch, "arm64"))
	in := Input{
		Pods: []*corev1.Pod{
			pod(withName("b"), withCPU("1")),
			pod(withName("a"), withCPU("500m"), withHostPort(9100, corev1.ProtocolTCP)),
			pod(withName("n"), withCPU("400m"), withHostPort(9100, corev1.ProtocolTCP)),
		},
		NodePools: []v1.NodePool{nodePool("default")}, InstanceTypes: smallCatalog(), DaemonSetPods: []*corev1.Pod{exporter},
	}
	plan, err := Solve(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, nc := range plan.NewNodes {
		holdsPort := slices.ContainsFunc(nc.Pods, func(k string) bool { return k == "default/a" || k == "default/n" })
		if holdsPort && slices.Contains(nc.InstanceTypes, "small.arm") {
			t.Errorf("claim with %v may launch as small.arm, where the daemonset binds port 9100: %v", nc.Pods, nc.InstanceTypes)
		}
	}
	if len(plan.Unschedulable) > 0 {
		t.Errorf("unschedulable: %v", plan.Unschedulable)
	}
}
