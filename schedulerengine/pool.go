package schedulerengine

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// resourceNodes is the limit key that counts nodes rather than a resource.
const resourceNodes corev1.ResourceName = "nodes"

// poolState is a NodePool as the solver uses it: its requirements folded into one value, the
// instance types it allows, and how much of its limits is used so far in this Solve.
type poolState struct {
	name string
	// reqs are the pool's requirements, its template labels (each pinned to its value) and
	// karpenter.sh/nodepool=name, so a pod selecting any of them is matched by one check.
	reqs   Requirements
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

	limit   poolLimit
	used    vec   // capacity of the pool's existing nodes plus its claims' cheapest types
	nodes   int64 // node count, likewise
	limited bool
}

// poolLimit is spec.limits: per-dim caps (-1 when unlimited) and a node cap.
type poolLimit struct {
	caps     vec
	raw      corev1.ResourceList // as written, for messages
	maxNodes int64               // -1 when unlimited
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

func newPoolState(w *world, p *v1.NodePool) (*poolState, error) {
	reqs, err := poolRequirements(p)
	if err != nil {
		return nil, err
	}
	ps := &poolState{
		name:   p.Name,
		reqs:   reqs,
		taints: p.Spec.Template.Spec.Taints,
		types:  w.byPrice(w.typesAllowing(w.allTypes(), reqs), newOfferingFilter(reqs)),
		used:   make(vec, len(w.dims.names)),
		limit:  newPoolLimit(w.dims, p.Spec.Limits),
	}
	ps.limited = len(p.Spec.Limits) > 0
	return ps, nil
}

// poolRequirements folds a pool's requirements, its template labels (each pinned to its
// value) and karpenter.sh/nodepool=name into one set.
func poolRequirements(p *v1.NodePool) (Requirements, error) {
	reqs := Requirements{requirementIn(v1.LabelNodePool, p.Name)}
	for i, r := range p.Spec.Template.Spec.Requirements {
		req, err := NewRequirement(r.Key, r.Operator, r.Values...)
		if err != nil {
			return nil, fmt.Errorf("nodepool %q: spec.template.spec.requirements[%d]: %w", p.Name, i, err)
		}
		if r.MinValues != nil {
			req = req.WithMinValues(*r.MinValues)
		}
		reqs = reqs.With(req)
	}
	labels := normalizedLabels(p.Spec.Template.ObjectMeta.Labels)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		reqs = reqs.With(requirementIn(k, labels[k]))
	}
	return reqs, nil
}

func newPoolLimit(d dims, limits corev1.ResourceList) poolLimit {
	l := poolLimit{caps: make(vec, len(d.names)), raw: limits, maxNodes: -1}
	for i := range l.caps {
		l.caps[i] = -1
	}
	for name, q := range limits {
		if name == resourceNodes {
			l.maxNodes = q.Value()
			continue
		}
		l.caps[d.index[name]] = q.MilliValue()
	}
	return l
}

// countExisting adds an existing node of this pool to its usage.
func (p *poolState) countExisting(capacity vec) {
	p.used = p.used.plus(capacity)
	p.nodes++
}

// exceeded returns the first limit that usage would pass, or "" when within all of them.
func (l poolLimit) exceeded(usage vec, nodes int64, d dims) corev1.ResourceName {
	if l.maxNodes >= 0 && nodes > l.maxNodes {
		return resourceNodes
	}
	for i, c := range l.caps {
		if c >= 0 && usage[i] > c {
			return d.names[i]
		}
	}
	return ""
}

func (l poolLimit) describe(name corev1.ResourceName) string {
	q := l.raw[name]
	return q.String()
}

// limitNames lists the resource names of a set of pools' limits other than "nodes", so every
// limited resource gets a dim.
func limitNames(pools []v1.NodePool) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, p := range pools {
		for name := range p.Spec.Limits {
			if name != resourceNodes {
				out[name] = resource.Quantity{}
			}
		}
	}
	return out
}
