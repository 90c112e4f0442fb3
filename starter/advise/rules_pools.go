package advise

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// nodePoolOverlap: when two pools of one weight may launch the same instance type in the
// same zone and capacity type, which one a pod gets is decided by their names, not by intent.
func nodePoolOverlap(v *view) []Finding {
	var out []Finding
	pools := dynamicPools(v.pools)
	for i, a := range pools {
		for _, b := range pools[i+1:] {
			// A NoSchedule or NoExecute taint on one pool only keeps the pods not tolerating
			// it on the other: the pools do not compete for them.
			if a.WeightOrZero() != b.WeightOrZero() || !slices.Equal(blockingTaints(a), blockingTaints(b)) {
				continue
			}
			shared := sharedOfferings(v.poolTypes[a.Name], v.poolTypes[b.Name])
			if len(shared) == 0 {
				continue
			}
			out = append(out, Finding{
				Objects: []Ref{poolRef(a), poolRef(b)},
				Message: fmt.Sprintf("both have weight %d and may launch %d of the same offerings (instance type, zone, capacity type), e.g. %s",
					a.WeightOrZero(), len(shared), strings.Join(shared[:min(3, len(shared))], ", ")),
				Fix: "give the pool to try first a higher spec.weight (1-100), or make the pools exclusive " +
					"(disjoint instance types, zones or capacity types, or a NoSchedule taint in spec.template.spec.taints only some pods tolerate)",
			})
		}
	}
	return out
}

// sharedOfferings lists, sorted, the "type zone capacity-type" offerings both sets allow.
func sharedOfferings(a, b []schedulerengine.InstanceType) []string {
	in := func(types []schedulerengine.InstanceType) map[string]bool {
		set := map[string]bool{}
		for _, t := range types {
			for _, o := range t.Offerings {
				set[t.Name+" "+o.Zone+" "+o.CapacityType] = true
			}
		}
		return set
	}
	inB := in(b)
	var out []string
	for k := range in(a) {
		if inB[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// spotInstanceTypes: a spot pool with few types runs out of capacity and is interrupted more
// often, and Karpenter will not replace its nodes by cheaper spot ones.
func spotInstanceTypes(v *view) []Finding {
	var out []Finding
	for _, p := range dynamicPools(v.pools) {
		types := spotTypes(v.poolTypes[p.Name])
		if len(types) == 0 || len(types) >= MinSpotInstanceTypes {
			continue
		}
		out = append(out, Finding{
			Objects: []Ref{poolRef(p)},
			Message: fmt.Sprintf("launches spot and allows %d instance %s of %d %s (%s)", len(types), plural(len(types), "type", "types"),
				len(families(types)), plural(len(families(types)), "family", "families"), strings.Join(names(types), ", ")),
			Fix: fmt.Sprintf("allow at least %d instance types: select by karpenter.k8s.aws/instance-category, instance-cpu or "+
				"instance-generation rather than naming types, across several families; EC2 then finds spot capacity more often, "+
				"and Karpenter replaces a spot node by a cheaper spot one only with %d types to choose from", MinSpotInstanceTypes, MinSpotInstanceTypes),
		})
	}
	return out
}

// spotTypes are the types of which some allowed offering is spot.
func spotTypes(types []schedulerengine.InstanceType) []schedulerengine.InstanceType {
	return slices.DeleteFunc(slices.Clone(types), func(t schedulerengine.InstanceType) bool {
		return !slices.ContainsFunc(t.Offerings, func(o schedulerengine.Offering) bool { return o.CapacityType == apisv1.CapacityTypeSpot })
	})
}

func families(types []schedulerengine.InstanceType) []string {
	set := map[string]bool{}
	for _, t := range types {
		set[t.Labels[catalog.LabelInstanceFamily]] = true
	}
	return slices.Sorted(maps.Keys(set))
}

func names(types []schedulerengine.InstanceType) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = t.Name
	}
	return out
}

// nodePoolLimits: limits are the only cap on what a pool launches when a workload scales
// without bound or a bad rollout crash-loops into new nodes.
func nodePoolLimits(v *view) []Finding {
	var out []Finding
	for _, p := range dynamicPools(v.pools) {
		if _, capped, err := p.MaxHourlyCost(); len(p.Spec.Limits) > 0 || capped && err == nil {
			continue // its nodewright.io/max-hourly-cost caps it too
		}
		out = append(out, Finding{
			Objects: []Ref{poolRef(p)},
			Message: "has no spec.limits, so nothing caps how many nodes it launches",
			Fix:     "set spec.limits (cpu and memory, or nodes) a little above the most the pool should ever run",
		})
	}
	return out
}

// disruptionBudgets: a pool with no budget leaves how many nodes go at once to the default.
func disruptionBudgets(v *view) []Finding {
	var out []Finding
	for _, p := range dynamicPools(v.pools) {
		if len(p.Spec.Disruption.Budgets) > 0 {
			continue
		}
		out = append(out, Finding{
			Objects: []Ref{poolRef(p)},
			Message: "spec.disruption.budgets is empty",
			Fix: fmt.Sprintf("write the budget you mean, e.g. budgets: [{nodes: %q}] and a {nodes: \"0\", schedule, duration} window for busy hours; "+
				"with none, Nodewright disrupts up to %s of the pool's nodes at once, Karpenter's default, which the API server writes only when the field is absent",
				apisv1.DefaultBudgetNodes, apisv1.DefaultBudgetNodes),
		})
	}
	return out
}

// spotExpireNever: spot nodes that never expire are only replaced by interruptions; without
// spot-to-spot consolidation they stay on old AMIs and old prices.
func spotExpireNever(v *view) []Finding {
	var out []Finding
	for _, p := range dynamicPools(v.pools) {
		if !p.Spec.Template.Spec.ExpireAfter.Never || !v.launchesSpot(p) {
			continue
		}
		out = append(out, Finding{
			Objects: []Ref{poolRef(p)},
			Message: "launches spot with expireAfter: Never, so its nodes are replaced only when EC2 interrupts them",
			Fix: fmt.Sprintf("set spec.template.spec.expireAfter to a lifetime (Karpenter's default is %.0fh) so spot nodes are renewed onto current AMIs and prices, "+
				"and spec.template.spec.terminationGracePeriod to bound their drains", apisv1.DefaultExpireAfter.Hours()),
		})
	}
	return out
}

// launchesSpot reports whether the pool may launch spot: one of its types offers spot, or,
// when its requirements leave no type (nodepool-no-instance-types reports that), they allow
// capacity type spot, so the pool is judged as meant once its types are fixed.
func (v *view) launchesSpot(p *apisv1.NodePool) bool {
	if types := v.poolTypes[p.Name]; len(types) > 0 {
		return len(spotTypes(types)) > 0
	}
	if ct, ok := p.Spec.Template.ObjectMeta.Labels[apisv1.LabelCapacityType]; ok && ct != apisv1.CapacityTypeSpot {
		return false
	}
	return !slices.ContainsFunc(p.Spec.Template.Spec.Requirements, func(r apisv1.NodeSelectorRequirementWithMinValues) bool {
		req, err := scheduling.NewRequirement(r.Key, r.Operator, r.Values...)
		return err == nil && req.Key == apisv1.LabelCapacityType && !req.Has(apisv1.CapacityTypeSpot)
	})
}

// nodePoolNoInstanceTypes: a pool whose requirements no instance type meets launches no node
// (a misspelt value reads as a valid requirement), and the pods meant for it stay pending.
func nodePoolNoInstanceTypes(v *view) []Finding {
	var out []Finding
	for _, p := range v.pools {
		if len(v.poolTypes[p.Name]) > 0 {
			continue
		}
		why := "together its requirements and template labels leave no instance type"
		if culprits := v.emptyRequirements(p); len(culprits) > 0 {
			why = strings.Join(culprits, "; ")
		}
		out = append(out, Finding{
			Objects: []Ref{poolRef(p)},
			Message: fmt.Sprintf("allows no instance type, so it launches no node: %s", why),
			Fix: "check the values of spec.template.spec.requirements (a misspelt instance type, family or zone matches nothing) " +
				"against the instance types EC2 offers in the cluster's zones, and that the requirements do not exclude each other",
		})
	}
	return out
}

// emptyRequirements names the pool's requirements that alone leave no instance type.
func (v *view) emptyRequirements(p *apisv1.NodePool) []string {
	var out []string
	for i, r := range p.Spec.Template.Spec.Requirements {
		alone := apisv1.NodePool{}
		alone.Name = p.Name
		alone.Spec.Template.Spec.Requirements = []apisv1.NodeSelectorRequirementWithMinValues{r}
		if types, err := schedulerengine.PoolInstanceTypes(&alone, v.cfg.InstanceTypes); err == nil && len(types) == 0 {
			out = append(out, fmt.Sprintf("spec.template.spec.requirements[%d] (%s %s %v) matches no instance type", i, r.Key, r.Operator, r.Values))
		}
	}
	return out
}

// dynamicPools leaves out static pools (spec.replicas), which launch a fixed count and are
// neither weighted nor limited but by nodes.
func dynamicPools(pools []*apisv1.NodePool) []*apisv1.NodePool {
	return slices.DeleteFunc(slices.Clone(pools), func(p *apisv1.NodePool) bool { return p.Spec.Replicas != nil })
}
