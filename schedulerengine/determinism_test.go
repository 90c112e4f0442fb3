package schedulerengine

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// mixedInput has a bit of everything: pools of different weights, labels, taints and limits,
// existing nodes, and pods with selectors, affinity, tolerations, sidecars and ties in size.
func mixedInput() Input {
	var pods []*corev1.Pod
	for i := range 60 {
		opts := []podOption{withName(fmt.Sprintf("p%02d", i)), withCPU([]string{"250m", "500m", "1", "1500m"}[i%4]), withMemory([]string{"256Mi", "1Gi", "2Gi"}[i%3])}
		switch i % 6 {
		case 1:
			opts = append(opts, withSelector(v1.LabelArch, "amd64"))
		case 2:
			opts = append(opts, withSelector("team", "ml"), withToleration("dedicated", "ml", corev1.TaintEffectNoSchedule))
		case 3:
			opts = append(opts, withAffinity(expr(v1.LabelZone, corev1.NodeSelectorOpIn, zoneB)), withAffinity(expr(v1.LabelArch, corev1.NodeSelectorOpIn, "arm64")))
		case 4:
			opts = append(opts, withSidecar("250m"), withSelector(v1.LabelCapacityType, v1.CapacityTypeOnDemand))
		case 5:
			opts = append(opts, withSelector(v1.LabelArch, "s390x"))
		}
		pods = append(pods, pod(opts...))
	}
	return Input{
		Pods: pods,
		NodePools: []v1.NodePool{
			nodePool("general", withWeight(10), withLimit(corev1.ResourceCPU, "20")),
			nodePool("ml", withPoolLabel("team", "ml"), withPoolTaint("dedicated", "ml", corev1.TaintEffectNoSchedule)),
			nodePool("fallback"),
		},
		InstanceTypes: smallCatalog(),
		ExistingNodes: []ExistingNode{
			existingNode("node-b", "1", map[string]string{v1.LabelArch: "amd64", v1.LabelNodePool: "general", v1.LabelInstanceType: "large.amd"}),
			existingNode("node-a", "2", map[string]string{v1.LabelArch: "arm64"}),
		},
	}
}

// shuffledCopy reorders every list in the input (and each type's offerings) with a seeded
// generator, leaving the content the same.
func shuffledCopy(in Input, r *rand.Rand) Input {
	out := Input{
		Pods:          slices.Clone(in.Pods),
		NodePools:     slices.Clone(in.NodePools),
		ExistingNodes: slices.Clone(in.ExistingNodes),
	}
	for _, it := range in.InstanceTypes {
		it.Offerings = slices.Clone(it.Offerings)
		r.Shuffle(len(it.Offerings), func(i, j int) { it.Offerings[i], it.Offerings[j] = it.Offerings[j], it.Offerings[i] })
		out.InstanceTypes = append(out.InstanceTypes, it)
	}
	r.Shuffle(len(out.Pods), func(i, j int) { out.Pods[i], out.Pods[j] = out.Pods[j], out.Pods[i] })
	r.Shuffle(len(out.NodePools), func(i, j int) { out.NodePools[i], out.NodePools[j] = out.NodePools[j], out.NodePools[i] })
	r.Shuffle(len(out.ExistingNodes), func(i, j int) {
		out.ExistingNodes[i], out.ExistingNodes[j] = out.ExistingNodes[j], out.ExistingNodes[i]
	})
	r.Shuffle(len(out.InstanceTypes), func(i, j int) {
		out.InstanceTypes[i], out.InstanceTypes[j] = out.InstanceTypes[j], out.InstanceTypes[i]
	})
	return out
}

func planJSON(t *testing.T, p Plan) string {
	t.Helper()
	b, err := json.MarshalIndent(p, "", " ")
	if err != nil {
		t.Fatalf("marshal plan: %v", err)
	}
	return string(b)
}

func TestSolveGivesTheSamePlanWhateverTheInputOrder(t *testing.T) {
	in := mixedInput()
	first, err := Solve(in)
	if err != nil {
		t.Fatal(err)
	}
	golden := planJSON(t, first)
	if len(first.NewNodes) == 0 || len(first.Existing) == 0 || len(first.Unschedulable) == 0 {
		t.Fatalf("input should exercise new nodes, existing nodes and unschedulable pods; got %d, %d, %d",
			len(first.NewNodes), len(first.Existing), len(first.Unschedulable))
	}
	r := rand.New(rand.NewPCG(7, 11))
	for run := range 20 {
		plan, err := Solve(shuffledCopy(in, r))
		if err != nil {
			t.Fatal(err)
		}
		if got := planJSON(t, plan); got != golden {
			t.Fatalf("run %d of shuffled input gave a different plan:\n%s\nwant\n%s", run, got, golden)
		}
	}
}

func TestSolveDoesNotModifyItsInput(t *testing.T) {
	in := mixedInput()
	before, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Solve(in); err != nil {
		t.Fatal(err)
	}
	after, _ := json.Marshal(in)
	if string(before) != string(after) {
		t.Fatal("Solve changed its input")
	}
}
