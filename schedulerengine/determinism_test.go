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

// topologyInput adds pod topology, host ports, preferences, daemonsets and running pods to
// mixedInput, where map order and interning order could leak into the plan.
func topologyInput() Input {
	in := mixedInput()
	for i := range 40 {
		opts := []podOption{withName(fmt.Sprintf("t%02d", i)), withCPU([]string{"250m", "500m", "1"}[i%3]), withLabels("app", fmt.Sprintf("a%d", i%4))}
		switch i % 8 {
		case 0:
			opts = append(opts, withSpread(v1.LabelZone, 1, selector("app", fmt.Sprintf("a%d", i%4))))
		case 1:
			opts = append(opts, withSpread(v1.LabelHostname, 1, selector("app", "a1")), withSpread(v1.LabelCapacityType, 2, selector("app", "a1")))
		case 2:
			opts = append(opts, withAntiAffinity(v1.LabelHostname, selector("app", "a2")))
		case 3:
			opts = append(opts, withPodAffinity(v1.LabelZone, selector("app", "a3")))
		case 4:
			opts = append(opts, withPreferredAntiAffinity(10, v1.LabelZone, selector("app", "a0")), withPreferredNodeAffinity(5, expr(v1.LabelArch, corev1.NodeSelectorOpIn, "arm64")))
		case 5:
			opts = append(opts, withHostPort(8080, corev1.ProtocolTCP), withNamespace("other"))
		case 6:
			opts = append(opts, withSpread(v1.LabelZone, 1, selector("app", "a2"), scheduleAnyway(), minDomains(2)))
		}
		in.Pods = append(in.Pods, pod(opts...))
	}
	in.ExistingNodes = append(in.ExistingNodes,
		existingNodeWith("node-c", zoneA, pod(withName("r1"), withLabels("app", "a2")), pod(withName("r2"), withAntiAffinity(v1.LabelHostname, selector("app", "a0")))),
		existingNodeWith("node-d", zoneB, pod(withName("r3"), withLabels("app", "a1"), withHostPort(8080, corev1.ProtocolTCP))))
	in.DaemonSetPods = []*corev1.Pod{pod(withName("ds1"), withCPU("100m")), pod(withName("ds2"), withCPU("200m"), withSelector(v1.LabelArch, "arm64"))}
	in.NamespaceLabels = map[string]map[string]string{"other": {"team": "b"}, "default": {"team": "a"}}
	return in
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
	for i := range out.ExistingNodes {
		out.ExistingNodes[i].Pods = slices.Clone(out.ExistingNodes[i].Pods)
		r.Shuffle(len(out.ExistingNodes[i].Pods), func(a, b int) {
			out.ExistingNodes[i].Pods[a], out.ExistingNodes[i].Pods[b] = out.ExistingNodes[i].Pods[b], out.ExistingNodes[i].Pods[a]
		})
	}
	out.DaemonSetPods = slices.Clone(in.DaemonSetPods)
	r.Shuffle(len(out.DaemonSetPods), func(i, j int) {
		out.DaemonSetPods[i], out.DaemonSetPods[j] = out.DaemonSetPods[j], out.DaemonSetPods[i]
	})
	out.NamespaceLabels = in.NamespaceLabels
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
	for _, tc := range []struct {
		name string
		in   Input
	}{{"selectors, taints, limits and existing nodes", mixedInput()}, {"pod topology, host ports, preferences and daemonsets too", topologyInput()}} {
		t.Run(tc.name, func(t *testing.T) {
			first, err := Solve(tc.in)
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
				plan, err := Solve(shuffledCopy(tc.in, r))
				if err != nil {
					t.Fatal(err)
				}
				if got := planJSON(t, plan); got != golden {
					t.Fatalf("run %d of shuffled input gave a different plan:\n%s\nwant\n%s", run, got, golden)
				}
			}
		})
	}
}

func TestSolveDoesNotModifyItsInput(t *testing.T) {
	for _, in := range []Input{mixedInput(), topologyInput()} {
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
}
