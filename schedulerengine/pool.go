package schedulerengine

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// resourceNodes is the limit key that counts nodes rather than a resource.
const resourceNodes corev1.ResourceName = "nodes"

// poolState is a NodePool as the solver uses it: its requirements folded into one value, the
// instance types it allows, and how much of its limits is used so far in this Solve.
type poolState struct {
	name string
	// reqs are the pool's requirements, its template labels (each pinned to its value) and
	// karpenter.sh/nodepool=name, so a pod selecting any of them is matched by one check.
	reqs   scheduling.Requirements
	taints []corev1.Taint
	types  []int // indices into world.types the pool allows, cheapest first
	// alloc is, per instance type (indexed as world.types), what pods may request on a
	// node of this pool: the type's allocatable (or the pool's own, Input.PoolAllocatable)
	// less the daemonsets that would run there.
	alloc          []vec
	daemonOverhead bool // some daemonset runs on some type of the pool
	// daemonPorts are, per instance type, the host ports daemonsets bind on a node of this
	// pool; nil when none does.
	daemonPorts [][]hostPort

	// own is the pool's spec.limits and max-hourly-cost, nil when it has neither; budgets
	// are own and the cluster's, those that are set: each of the pool's nodes is charged to
	// all of them.
	own     *budget
	budgets []*budget
	// limited is true when some budget applies or the pool is blocked; priced when some
	// budget caps cost, so claims need a price.
	limited, priced bool
	// blocked, when set, is why the pool launches nothing: a cost limit that cannot be read
	// fails closed, as a spec.limits the API server refuses would.
	blocked string
}

// sortPools orders pools as they are tried: higher weight first, then by name.
func sortPools(pools []v1.NodePool) []v1.NodePool {
	out := slices.Clone(pools)
	slices.SortFunc(out, func(a, b v1.NodePool) int {
		if c := cmp.Compare(b.WeightOrZero(), a.WeightOrZero()); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

func newPoolState(w *world, p *v1.NodePool, cluster *budget) (*poolState, error) {
	reqs, err := poolRequirements(p)
	if err != nil {
		return nil, err
	}
	ps := &poolState{
		name:   p.Name,
		reqs:   reqs,
		taints: p.Spec.Template.Spec.Taints,
		types:  w.byPrice(w.typesAllowing(w.allTypes(), reqs), newOfferingFilter(reqs)),
	}
	maxCost, hasCost, err := p.MaxHourlyCost()
	if err != nil {
		ps.blocked = fmt.Sprintf("NodePool %q launches nothing: %v", p.Name, err)
	}
	if len(p.Spec.Limits) > 0 || (hasCost && err == nil) {
		var costCap *float64
		if hasCost && err == nil {
			costCap = &maxCost
		}
		ps.own = newBudget(w.dims, fmt.Sprintf("NodePool %q", p.Name), p.Spec.Limits, costCap)
		ps.budgets = append(ps.budgets, ps.own)
	}
	if cluster != nil {
		ps.budgets = append(ps.budgets, cluster)
	}
	ps.limited = len(ps.budgets) > 0 || ps.blocked != ""
	for _, b := range ps.budgets {
		ps.priced = ps.priced || b.priced()
	}
	return ps, nil
}

// poolRequirements folds a pool's requirements, its template labels (each pinned to its
// value) and karpenter.sh/nodepool=name into one set.
func poolRequirements(p *v1.NodePool) (scheduling.Requirements, error) {
	reqs := scheduling.Requirements{scheduling.In(v1.LabelNodePool, p.Name)}
	for i, r := range p.Spec.Template.Spec.Requirements {
		req, err := scheduling.NewRequirement(r.Key, r.Operator, r.Values...)
		if err != nil {
			return nil, fmt.Errorf("nodepool %q: spec.template.spec.requirements[%d]: %w", p.Name, i, err)
		}
		if r.MinValues != nil {
			req = req.WithMinValues(*r.MinValues)
		}
		reqs = reqs.With(req)
	}
	labels := scheduling.NormalizedLabels(p.Spec.Template.ObjectMeta.Labels)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		reqs = reqs.With(scheduling.In(k, labels[k]))
	}
	return reqs, nil
}

// limitNames lists the resource names of the pools' and the cluster's limits other than
// "nodes", so every limited resource gets a dim.
func limitNames(pools []v1.NodePool, cluster corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	add := func(limits corev1.ResourceList) {
		for name := range limits {
			if name != resourceNodes {
				out[name] = resource.Quantity{}
			}
		}
	}
	for _, p := range pools {
		add(p.Spec.Limits)
	}
	add(cluster)
	return out
}
