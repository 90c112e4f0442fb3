package schedulerengine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// newSolver prepares one Solve: a dim per resource name in the input, the instance types as
// vecs, pools in the order they are tried with their existing usage, existing nodes by name,
// and the pods in first-fit-decreasing order with their classes.
func newSolver(in Input) (*solver, error) {
	requests := make([]corev1.ResourceList, len(in.Pods))
	for i, p := range in.Pods {
		if p != nil {
			requests[i] = PodRequests(p)
		}
	}
	d := newDims(allResourceLists(in, requests)...)
	w, err := newWorld(d, in.InstanceTypes)
	if err != nil {
		return nil, err
	}
	s := &solver{world: w, seeds: map[seedKey]seed{}, onNodes: map[string]string{}, unschedulable: map[string]string{}}
	if err := s.addPools(in.NodePools); err != nil {
		return nil, err
	}
	if err := s.addExistingNodes(in.ExistingNodes); err != nil {
		return nil, err
	}
	if err := s.addPods(in.Pods, requests); err != nil {
		return nil, err
	}
	return s, nil
}

// allResourceLists gathers every ResourceList in the input, to give each name a dim.
func allResourceLists(in Input, podRequests []corev1.ResourceList) []corev1.ResourceList {
	lists := slices.Clone(podRequests)
	for _, it := range in.InstanceTypes {
		lists = append(lists, it.Allocatable, it.Capacity)
	}
	for _, n := range in.ExistingNodes {
		lists = append(lists, n.Available, n.Capacity)
	}
	return append(lists, limitNames(in.NodePools))
}

func (s *solver) addPools(pools []v1.NodePool) error {
	sorted := sortPools(pools)
	if dup := duplicateName(sorted); dup != "" {
		return fmt.Errorf("nodepool %q is listed twice", dup)
	}
	for i := range sorted {
		ps, err := newPoolState(s.world, &sorted[i])
		if err != nil {
			return err
		}
		s.pools = append(s.pools, ps)
	}
	return nil
}

func duplicateName(pools []v1.NodePool) string {
	seen := map[string]bool{}
	for _, p := range pools {
		if seen[p.Name] {
			return p.Name
		}
		seen[p.Name] = true
	}
	return ""
}

func (s *solver) addExistingNodes(nodes []ExistingNode) error {
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b ExistingNode) int { return strings.Compare(a.Name, b.Name) })
	byName := map[string]*poolState{}
	for _, p := range s.pools {
		byName[p.name] = p
	}
	for i, n := range sorted {
		if i > 0 && n.Name == sorted[i-1].Name {
			return fmt.Errorf("existing node %q is listed twice", n.Name)
		}
		s.existing = append(s.existing, newRunningNode(s.world.dims, n))
		if pool, ok := byName[n.Labels[v1.LabelNodePool]]; ok {
			pool.countExisting(s.world.capacityOfNode(n))
		}
	}
	return nil
}

func (s *solver) addPods(pods []*corev1.Pod, requests []corev1.ResourceList) error {
	classes := map[string]*podClass{}
	seen := map[string]bool{}
	for i, p := range pods {
		if p == nil {
			return fmt.Errorf("pod %d of the input is nil", i)
		}
		key := PodKey(p)
		if seen[key] {
			return fmt.Errorf("pod %s is listed twice", key)
		}
		seen[key] = true
		classKey := podClassKey(p)
		class, ok := classes[classKey]
		if !ok {
			class = newPodClass(p)
			classes[classKey] = class
		}
		s.queue = append(s.queue, &pendingPod{key: key, requests: s.world.dims.vec(requests[i]), class: class})
	}
	slices.SortFunc(s.queue, byCPUThenMemoryDescending)
	return nil
}

// byCPUThenMemoryDescending is first-fit-decreasing order; the pod key breaks ties so the
// order never depends on the input's.
func byCPUThenMemoryDescending(a, b *pendingPod) int {
	if c := cmp.Compare(b.requests[dimCPU], a.requests[dimCPU]); c != 0 {
		return c
	}
	if c := cmp.Compare(b.requests[dimMemory], a.requests[dimMemory]); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}
