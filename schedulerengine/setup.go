package schedulerengine

import (
	"cmp"
	"fmt"
	"math"
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
		notExcluded:       map[*topoGroup][]int{},
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
	s.cluster = cluster
	if err := s.addPools(in.NodePools, in.PoolAllocatable, daemons); err != nil {
		return nil, err
	}
	if err := s.addExistingNodes(in.ExistingNodes); err != nil {
		return nil, err
	}
	s.addCommitted(in.Committed)
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

// newClusterBudget is the budget every pool's nodes are charged to as well as their own;
// nil when the limits cap nothing.
func newClusterBudget(d dims, l ClusterLimits) (*budget, error) {
	if l.IsZero() {
		return nil, nil
	}
	for name, q := range l.Resources {
		if q.Sign() < 0 {
			return nil, fmt.Errorf("cluster limits: %s %s is negative; leave it out for no limit", name, q.String())
		}
	}
	if c := l.MaxHourlyCost; c != nil && (*c < 0 || math.IsNaN(*c) || math.IsInf(*c, 0)) {
		return nil, fmt.Errorf("cluster limits: maxHourlyCost %v is not a non-negative dollar figure", *c)
	}
	return newBudget(d, "cluster", l.Resources, l.MaxHourlyCost), nil
}

// addCommitted charges each pool the capacity it holds outside the existing nodes.
func (s *solver) addCommitted(committed []CommittedCapacity) {
	byName := s.poolsByName()
	for _, c := range committed {
		s.chargeRunning(byName[c.NodePool], c.NodePool != "", chargedNode{pool: c.NodePool, capacity: s.world.dims.vec(c.Capacity), price: c.PricePerHour, labels: c.Labels})
	}
}

// chargedNode is a node that exists or is on its way, as its budgets are charged: labels price a
// node whose price is not given; a claim in flight has none.
type chargedNode struct {
	name     string // "" for capacity committed
	pool     string
	capacity vec
	price    float64
	labels   map[string]string
}

// String names the node for a message.
func (n chargedNode) String() string {
	switch {
	case n.name != "":
		return fmt.Sprintf("node %q (instance type %q)", n.name, n.labels[v1.LabelInstanceType])
	case n.labels != nil:
		return fmt.Sprintf("a registering node of NodePool %q (instance type %q)", n.pool, n.labels[v1.LabelInstanceType])
	}
	return fmt.Sprintf("a claim in flight of NodePool %q", n.pool)
}

// chargeRunning charges a node that exists or is on its way to its pool's budget (when the
// pool is in the input) and, when it belongs to any pool, to the cluster's. A node whose
// price cannot be told leaves the cost limits it is charged to unable to admit anything: a
// price of 0 would let them pass unseen.
func (s *solver) chargeRunning(pool *poolState, inSomePool bool, n chargedNode) {
	var own *budget
	if pool != nil {
		own = pool.own
	}
	if own == nil && (s.cluster == nil || !inSomePool) {
		return
	}
	ch := charge{capacity: n.capacity}
	priced := true
	if (own != nil && own.priced()) || (s.cluster != nil && s.cluster.priced()) {
		var price float64
		price, priced = s.priceOfRunning(pool, n)
		ch.price = microDollars(price)
	}
	for _, b := range []*budget{own, s.cluster} {
		if b == nil || (b == s.cluster && !inSomePool) {
			continue
		}
		b.add(ch)
		if !priced {
			b.priceUnknown(n.String())
		}
	}
}

// priceOfRunning is what a running node or a claim in flight costs: its price when given, a
// node's from its labels, a claim's the dearest offering of its pool's types.
func (s *solver) priceOfRunning(pool *poolState, n chargedNode) (float64, bool) {
	switch {
	case n.price > 0:
		return n.price, true
	case n.labels != nil:
		return s.world.priceOfNode(n.labels)
	case pool != nil:
		return s.world.dearestOf(pool.types)
	}
	return 0, false
}

func (s *solver) poolsByName() map[string]*poolState {
	byName := make(map[string]*poolState, len(s.pools))
	for _, p := range s.pools {
		byName[p.name] = p
	}
	return byName
}

func (s *solver) addPools(pools []v1.NodePool, sized map[string]map[string]corev1.ResourceList, daemons []daemon) error {
	sorted := sortPools(pools)
	if dup := duplicateName(sorted); dup != "" {
		return fmt.Errorf("nodepool %q is listed twice", dup)
	}
	for i := range sorted {
		ps, err := newPoolState(s.world, &sorted[i], s.cluster)
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
func (s *solver) addExistingNodes(nodes []ExistingNode) error {
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
			s.chargeRunning(byName[name], true, chargedNode{name: n.Name, pool: name, capacity: s.world.capacityOfNode(n), price: n.PricePerHour, labels: n.Labels})
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

// prepareTopology registers every topology group the input states (pending pods' with all
// preferences in force, existing pods' required anti-affinity), reads the existing nodes'
// domains and spread groups' possible domains, and counts the existing pods.
func (s *solver) prepareTopology() {
	registered := map[string]bool{}
	register := func(p *corev1.Pod, c constraints) {
		if len(c.spreads) == 0 && len(c.affinities) == 0 && len(c.antis) == 0 {
			return // no group to make: most pods, and keying each cost a disruption pass dearly
		}
		key := topoKey(p, c)
		if registered[key] {
			return
		}
		registered[key] = true
		_, _, antis, err := s.topo.groupsFor(p, c)
		if err != nil {
			return // the pod's level reports it
		}
		for _, o := range antis[:c.requiredAntis] {
			o.group.ownable = true
		}
	}
	for _, p := range s.pods {
		register(p.pod, constraintsInForce(p.pod, nil).topology)
	}
	for _, n := range s.existing {
		for _, p := range n.pods {
			register(p, requiredAntiAffinity(p))
		}
	}
	if len(s.topo.groups) == 0 {
		for _, n := range s.existing {
			n.settleDomains(s.topo)
		}
		return
	}
	for _, n := range s.existing {
		n.settleDomains(s.topo)
	}
	for _, g := range s.topo.groups {
		if g.kind == groupSpread && g.keyIdx != hostnameKey {
			g.domains = s.spreadDomains(g)
		}
	}
	for _, n := range s.existing {
		for _, p := range n.pods {
			s.recordOnNode(n, s.topo.matching(p), existingAntis(s.topo, p))
		}
	}
}

func requiredAntiAffinity(p *corev1.Pod) constraints {
	var c constraints
	if a := p.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		c.antis = a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		c.requiredAntis = len(c.antis)
	}
	return c
}

func existingAntis(t *topology, p *corev1.Pod) []*topoGroup {
	c := requiredAntiAffinity(p)
	if len(c.antis) == 0 {
		return nil
	}
	_, _, antis, err := t.groupsFor(p, c)
	if err != nil {
		return nil
	}
	out := make([]*topoGroup, len(antis))
	for i, o := range antis {
		out[i] = o.group
	}
	return out
}

// buildFirstLevels builds each pending pod's first level (every preference in force) and sums the
// demand of each class, which sizes claims (see target.go).
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
func sortLargestFirst(queue []*pendingPod) {
	var cpu, memory float64
	for _, p := range queue {
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
	sizes := make(map[*pendingPod]float64, len(queue))
	for _, p := range queue {
		sizes[p] = size(p)
	}
	slices.SortFunc(queue, func(a, b *pendingPod) int {
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
