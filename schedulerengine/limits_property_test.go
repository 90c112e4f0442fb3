package schedulerengine_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// TestSolveNeverExceedsClusterOrCostLimits solves random workloads under random cluster
// limits (cpu, memory, nodes, hourly cost) and per-pool cost limits, with random capacity in
// flight, and checks every budget with its own arithmetic: existing nodes of the pools, what
// is in flight, and each new claim at the most any of its options has and costs (EC2 Fleet
// may launch any of them) stay within every limit. A budget that what runs and what is in
// flight already pass (the generator makes some) must get no new claim at all.
func TestSolveNeverExceedsClusterOrCostLimits(t *testing.T) {
	types := realInstanceTypes(t)
	fired := map[string]int{}
	for seed := uint64(1); seed <= 16; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 745))
			in := randomInput(r, types)
			limitRandomly(r, &in)
			plan, err := schedulerengine.Solve(in)
			if err != nil {
				t.Fatalf("Solve: %v", err)
			}
			checkEveryPodAccountedOnce(t, in, plan)
			checkBudgets(t, in, plan)
			for _, reason := range plan.Unschedulable {
				for _, kind := range []string{"cluster limit", "cluster hourly cost", "hourly cost would be"} {
					if strings.Contains(reason, kind) {
						fired[kind]++
					}
				}
			}
		})
	}
	for _, kind := range []string{"cluster limit", "cluster hourly cost", "hourly cost would be"} {
		if fired[kind] == 0 {
			t.Errorf("no pod was ever turned away by a %q: the generator is not exercising the limits", kind)
		}
	}
}

// limitRandomly sets cluster limits, a cost limit on two pools and capacity in flight, each
// drawn so that some seeds bind it and others do not.
func limitRandomly(r *rand.Rand, in *schedulerengine.Input) {
	limits := schedulerengine.ClusterLimits{Resources: corev1.ResourceList{}}
	if r.IntN(3) > 0 {
		limits.Resources[corev1.ResourceCPU] = *resource.NewQuantity(int64(60+r.IntN(400)), resource.DecimalSI)
	}
	if r.IntN(3) > 0 {
		limits.Resources[corev1.ResourceMemory] = resource.MustParse(fmt.Sprintf("%dGi", 200+r.IntN(2000)))
	}
	if r.IntN(3) > 0 {
		limits.Resources["nodes"] = *resource.NewQuantity(int64(5+r.IntN(40)), resource.DecimalSI)
	}
	if r.IntN(3) > 0 {
		limits.MaxHourlyCost = ptr(2 + r.Float64()*20)
	}
	in.ClusterLimits = limits
	for i := range in.NodePools {
		if pool := &in.NodePools[i]; pool.Name != "ml" && r.IntN(2) == 0 {
			pool.Annotations = map[string]string{v1.AnnotationMaxHourlyCost: fmt.Sprintf("%.2f", 0.5+r.Float64()*8)}
		}
	}
	for i := range r.IntN(4) {
		in.Committed = append(in.Committed, schedulerengine.CommittedCapacity{
			NodePool:     []string{"general", "spot", "retired"}[i%3],
			Capacity:     corev1.ResourceList{corev1.ResourceCPU: *resource.NewQuantity(int64(2+r.IntN(16)), resource.DecimalSI)},
			PricePerHour: r.Float64(),
		})
	}
	// Now and then something charged has no price: a node of a type the catalog does not
	// sell, or a claim in flight of a pool no longer listed, recorded without its price.
	if r.IntN(4) == 0 {
		in.ExistingNodes[0].Labels[v1.LabelInstanceType] = "x9.unpriced"
	}
	if r.IntN(4) == 0 {
		in.Committed = append(in.Committed, schedulerengine.CommittedCapacity{NodePool: "retired"})
	}
}

// budgetUse is what the test charges a budget: summed capacity, node count and price, and
// how many of the nodes are new claims.
type budgetUse struct {
	capacity corev1.ResourceList
	nodes    int64
	cost     float64
	claims   int
	// unpriced is set when a node of unknown price is charged: the cost is then unknown.
	unpriced bool
}

func (u *budgetUse) add(capacity corev1.ResourceList, price float64, priced, claim bool) {
	u.capacity = sum(u.capacity, capacity)
	u.nodes++
	u.cost += price
	u.unpriced = u.unpriced || !priced
	if claim {
		u.claims++
	}
}

func checkBudgets(t *testing.T, in schedulerengine.Input, plan schedulerengine.Plan) {
	t.Helper()
	types := map[string]schedulerengine.InstanceType{}
	for _, it := range in.InstanceTypes {
		types[it.Name] = it
	}
	cluster, pools := budgetUse{}, map[string]*budgetUse{}
	charge := func(pool string, capacity corev1.ResourceList, price float64, priced, claim bool) {
		if pools[pool] == nil {
			pools[pool] = &budgetUse{}
		}
		pools[pool].add(capacity, price, priced, claim)
		cluster.add(capacity, price, priced, claim)
	}
	for _, n := range in.ExistingNodes {
		if pool := n.Labels[v1.LabelNodePool]; pool != "" {
			it := types[n.Labels[v1.LabelInstanceType]]
			price := runningPrice(it, n.Labels)
			charge(pool, it.Capacity, price, price > 0, false)
		}
	}
	for _, c := range in.Committed {
		if c.PricePerHour == 0 && slices.ContainsFunc(in.NodePools, func(p v1.NodePool) bool { return p.Name == c.NodePool }) {
			t.Fatalf("the generator made an unpriced claim in flight of a listed pool, %s: this check cannot price it", c.NodePool)
		}
		charge(c.NodePool, c.Capacity, c.PricePerHour, c.PricePerHour > 0, false)
	}
	for _, nc := range plan.NewNodes {
		capacity, price := dearestOption(types, nc)
		charge(nc.NodePool, capacity, price, true, true)
	}
	checkWithin(t, "cluster", cluster, in.ClusterLimits.Resources, in.ClusterLimits.MaxHourlyCost)
	for _, pool := range in.NodePools {
		use := pools[pool.Name]
		if use == nil {
			continue
		}
		var costCap *float64
		if s, ok := pool.Annotations[v1.AnnotationMaxHourlyCost]; ok {
			var v float64
			if _, err := fmt.Sscan(s, &v); err != nil {
				t.Fatalf("pool %s: annotation %q: %v", pool.Name, s, err)
			}
			costCap = &v
		}
		checkWithin(t, "NodePool "+pool.Name, *use, pool.Spec.Limits, costCap)
	}
}

// runningPrice is the dearest offering of the node's type its zone and capacity-type labels
// allow, or of the type when they allow none; 0 for a type the catalog does not price.
func runningPrice(it schedulerengine.InstanceType, labels map[string]string) float64 {
	labelled, most := 0.0, 0.0
	for _, o := range it.Offerings {
		zone, hasZone := labels[v1.LabelZone]
		ct, hasCT := labels[v1.LabelCapacityType]
		if (!hasZone || zone == o.Zone) && (!hasCT || ct == o.CapacityType) {
			labelled = max(labelled, o.PricePerHour)
		}
		most = max(most, o.PricePerHour)
	}
	if labelled > 0 {
		return labelled
	}
	return most
}

// dearestOption is the most any of the claim's options has in each resource, and the price
// of its dearest available offering in the claim's zones and capacity types.
func dearestOption(types map[string]schedulerengine.InstanceType, nc schedulerengine.NodeClaim) (corev1.ResourceList, float64) {
	capacity, price := corev1.ResourceList{}, 0.0
	for _, name := range nc.InstanceTypes {
		it := types[name]
		for res, q := range it.Capacity {
			if have, ok := capacity[res]; !ok || q.Cmp(have) > 0 {
				capacity[res] = q.DeepCopy()
			}
		}
		for _, o := range it.Offerings {
			if o.Available && slices.Contains(nc.Zones, o.Zone) && slices.Contains(nc.CapacityTypes, o.CapacityType) {
				price = max(price, o.PricePerHour)
			}
		}
	}
	return capacity, price
}

func checkWithin(t *testing.T, who string, use budgetUse, limits corev1.ResourceList, maxCost *float64) {
	t.Helper()
	if use.claims == 0 {
		return // what already runs may be over a limit lowered since; nothing was added
	}
	for name, limit := range limits {
		if name == "nodes" {
			if use.nodes > limit.Value() {
				t.Errorf("%s: %d nodes, limit %s", who, use.nodes, limit.String())
			}
			continue
		}
		if q, ok := use.capacity[name]; ok && q.Cmp(limit) > 0 {
			t.Errorf("%s: %s %s, limit %s", who, name, q.String(), limit.String())
		}
	}
	if maxCost != nil && use.unpriced {
		t.Errorf("%s: %d new claims under the cost limit $%.2f although a node charged to it has no price", who, use.claims, *maxCost)
	}
	if maxCost != nil && use.cost > *maxCost+1e-6 {
		t.Errorf("%s: hourly cost $%.4f, limit $%.4f", who, use.cost, *maxCost)
	}
}
