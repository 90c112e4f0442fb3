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
// vecs, pools in the order they are tried with their existing usage and daemonset overhead,
// existing nodes (ready ones first), the pod-topology groups with what existing pods already
// count, and the pods in first-fit-decreasing order with their classes.
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
	s := &solver{
		world:             w,
		topo:              newTopology(in.NamespaceLabels),
		seeds:             map[seedKey]seed{},
		antiLists:         map[*topoGroup][]int{},
		antiListMinClaims: antiListMinClaims,
		classCache:        map[string]*podClass{},
		topoCache:         map[string]cachedTopo{},
		demand:            map[*podClass]vec{},
		priceTables:       map[string][]float64{},
		decided:           podDecisions{onExistingNodes: map[string]string{}, unschedulable: map[string]string{}},
	}
	daemons, err := newDaemons(d, in.DaemonSetPods)
	if err != nil {
		return nil, err
	}
	cluster, err := newClusterBudget(d, in.ClusterLimits)
	if err != nil {
		return nil, err
	}
	if err := s.addPools(in.NodePools, in.PoolAllocatable, daemons, cluster); err != nil {
		return nil, err
	}
	if err := s.addExistingNodes(in.ExistingNodes, cluster); err != nil {
		return nil, err
	}
	s.addCommitted(in.Committed, cluster)
	if err := s.addPods(in.Pods, requests); err != nil {
		return nil, err
	}
	s.prepareTopology()
	s.buildFirstLevels()
	s.nextHostname = s.topo.keys[hostnameKey].intern(claimHostname(0))
	return s, nil
}

// allResourceLists gathers every ResourceList in the input, to give each name a dim.
func allResourceLists(in Input, podRequests []corev1.ResourceList) []corev1.ResourceList {
	lists := slices.Clone(podRequests)
	for _, it := range in.InstanceTypes {
		lists = append(lists, it.Allocatable, it.Capacity)
	}
	for _, byType := range in.PoolAllocatable {
		for _, rl := range byType {
			lists = append(lists, rl) // only the names count: dims sorts them
		}
	}
	for _, n := range in.ExistingNodes {
		lists = append(lists, n.Available, n.Capacity)
	}
	for _, p := range in.DaemonSetPods {
		if p != nil {
			lists = append(lists, PodRequests(p))
		}
	}
	return append(lists, limitNames(in.NodePools, in.ClusterLimits.Resources))
}

func (s *solver) poolsByName() map[string]*poolState {
	byName := make(map[string]*poolState, len(s.pools))
	for _, p := range s.pools {
		byName[p.name] = p
	}
	return byName
}

func (s *solver) addPools(pools []v1.NodePool, sized map[string]map[string]corev1.ResourceList, daemons []daemon, cluster *budget) error {
	sorted := sortPools(pools)
	if dup := duplicateName(sorted); dup != "" {
		return fmt.Errorf("nodepool %q is listed twice", dup)
	}
	for i := range sorted {
		ps, err := newPoolState(s.world, &sorted[i], cluster)
		if err != nil {
			return err
		}
		ps.alloc = s.world.allocatableIn(sized[ps.name])
		ps.applyDaemonOverhead(s.world, daemons)
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

// addExistingNodes keeps the nodes ready ones first, then in-flight ones, each by name, the
// order pods try them in.
func (s *solver) addExistingNodes(nodes []ExistingNode, cluster *budget) error {
	order := func(a, b ExistingNode) int {
		if a.InFlight != b.InFlight {
			if a.InFlight {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Name, b.Name)
	}
	// Nodes listed from the API server come sorted by name, and a consolidation pass solves
	// once per candidate with the same nodes: sorted already, they are not copied.
	sorted := nodes
	if !slices.IsSortedFunc(nodes, order) {
		sorted = slices.Clone(nodes)
		slices.SortFunc(sorted, order)
	}
	byName := s.poolsByName()
	seen := make(map[string]bool, len(sorted))
	for _, n := range sorted {
		if seen[n.Name] {
			return fmt.Errorf("existing node %q is listed twice", n.Name)
		}
		seen[n.Name] = true
		s.existing = append(s.existing, newRunningNode(s.world.dims, n))
		if name := n.Labels[v1.LabelNodePool]; name != "" {
			s.chargeRunning(cluster, byName[name], true, chargedNode{name: n.Name, pool: name, capacity: s.world.capacityOfNode(n), price: n.PricePerHour, labels: n.Labels})
		}
	}
	return nil
}

func (s *solver) addPods(pods []*corev1.Pod, requests []corev1.ResourceList) error {
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
		s.pods = append(s.pods, &pendingPod{
			key:      key,
			pod:      p,
			requests: s.world.dims.vec(requests[i]),
			ports:    podHostPorts(p),
			prefs:    preferencesOf(p),
		})
	}
	sortLargestFirst(s.pods)
	return nil
}

// buildFirstLevels builds each pending pod's first level (every preference in force) and
// sums the demand of each class, which sizes claims (see claim_sizelimit.go).
func (s *solver) buildFirstLevels() {
	for _, p := range s.pods {
		p.levels = []*podLevel{s.levelOf(p.pod, nil)}
		class := p.levels[0].class
		if d, ok := s.demand[class]; ok {
			s.demand[class] = d.plus(p.requests)
		} else {
			s.demand[class] = p.requests
		}
	}
}

// sortLargestFirst orders pods for first-fit-decreasing by their dominant share: the larger
// of their cpu and their memory, memory weighed by the pods' overall cpu-to-memory ratio,
// so memory-heavy pods are not all left to the end when nodes have no memory left. Ties go
// by cpu, then memory, then pod key, so the order never depends on the input's.
func sortLargestFirst(pods []*pendingPod) {
	var cpu, memory float64
	for _, p := range pods {
		cpu += float64(p.requests[dimCPU])
		memory += float64(p.requests[dimMemory])
	}
	memoryWeight := 0.0
	if memory > 0 {
		memoryWeight = cpu / memory
	}
	size := func(p *pendingPod) float64 {
		return max(float64(p.requests[dimCPU]), float64(p.requests[dimMemory])*memoryWeight)
	}
	sizes := make(map[*pendingPod]float64, len(pods))
	for _, p := range pods {
		sizes[p] = size(p)
	}
	slices.SortFunc(pods, func(a, b *pendingPod) int {
		if c := cmp.Compare(sizes[b], sizes[a]); c != 0 {
			return c
		}
		if c := cmp.Compare(b.requests[dimCPU], a.requests[dimCPU]); c != 0 {
			return c
		}
		if c := cmp.Compare(b.requests[dimMemory], a.requests[dimMemory]); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
}

// claimHostname names the hostname domain of the n-th claim; the slash keeps it apart from
// every real hostname.
func claimHostname(n int) string { return fmt.Sprintf("nodewright/claim-%d", n) }
