package schedulerengine_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// The per-group lists of claims a hostname anti-affinity allows are only a faster way to
// walk the claims: with or without them Solve must give the same plan.
func TestAntiAffinityListsChangeNothingButSpeed(t *testing.T) {
	real := realInstanceTypes(t)
	inputs := map[string]schedulerengine.Input{
		"diverse-2000": {Pods: diversePods(2000), NodePools: []v1.NodePool{{ObjectMeta: metav1.ObjectMeta{Name: "default"}}}, InstanceTypes: syntheticInstanceTypes()},
	}
	for seed := uint64(1); seed <= 4; seed++ {
		in := movableInput(rand.New(rand.NewPCG(seed, 5)), real)
		for i := range 300 { // enough replicas that the lists are used
			in.Pods = append(in.Pods, movablePod(rand.New(rand.NewPCG(seed, uint64(i))), 1000+i))
		}
		inputs[fmt.Sprintf("movable-%d", seed)] = in
	}
	inputs["two-sets-of-replicas"] = twoSetsOfReplicas()
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			fast, err := schedulerengine.Solve(in)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := schedulerengine.SolveWithSlackTreesOnly(in)
			if err != nil {
				t.Fatal(err)
			}
			if len(fast.NewNodes) < 64 {
				t.Fatalf("only %d claims: the lists are not used below 64", len(fast.NewNodes))
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("plans differ: %d nodes $%.4f with the lists, %d nodes $%.4f without", len(fast.NewNodes), fast.Cost, len(slow.NewNodes), slow.Cost)
			}
		})
	}
}

// twoSetsOfReplicas is two Deployments whose replicas each want a node of their own, sizes
// interleaved, so the second set's replicas join nodes the first set keeps opening.
func twoSetsOfReplicas() schedulerengine.Input {
	r := rand.New(rand.NewPCG(9, 9))
	var pods []*corev1.Pod
	for i := range 300 {
		set, cpus := "a", []string{"1", "2", "3", "4"}
		if i%2 == 1 {
			set, cpus = "b", []string{"500m", "1", "1500m", "2"}
		}
		p := simplePod("ns", fmt.Sprintf("%s-%03d", set, i), cpus[r.IntN(len(cpus))], "1Gi")
		p.Labels = map[string]string{"set": set}
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
			{TopologyKey: v1.LabelHostname, LabelSelector: &metav1.LabelSelector{MatchLabels: p.Labels}}}}}
		pods = append(pods, p)
	}
	return schedulerengine.Input{Pods: pods, NodePools: []v1.NodePool{{ObjectMeta: metav1.ObjectMeta{Name: "default"}}}, InstanceTypes: syntheticInstanceTypes()}
}
