package disruption

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// Spot→spot replacement, after Karpenter's: with few cheaper types to choose from, spot's
// price-capacity-optimized launches would step down one type at a time, each step a new
// interruption risk. So it needs minSpotReplacementTypes cheaper types and launches only
// that many of the cheapest, or maxSpotTypesWithMinValues when the pool asks for minValues,
// which fifteen may not meet.
const (
	minSpotReplacementTypes   = 15
	maxSpotTypesWithMinValues = 100
)

// option is one instance type a replacement may launch as, with the offerings it may use.
type option struct {
	name              string
	labels            map[string]string
	offerings         []schedulerengine.Offering
	cheapest, dearest float64
}

// cheaperReplacement cuts a consolidation's replacement, as Karpenter does, to the types
// whose every offering it may launch as costs less than price, the nodes' together: EC2 Fleet
// weighs capacity as well as price (spot) or falls back to dearer types when capacity runs
// out (on-demand), so any type left may be the one launched. A claim allowing spot launches
// spot, so it is priced by and pinned to spot: an on-demand fallback could cost more. The
// claim's price fields are recomputed from what is left. False when nothing is left, or too
// little for the spot→spot rule or the pool's minValues.
func (d *decider) cheaperReplacement(r *schedulerengine.NodeClaim, nodes []*Node, price float64) bool {
	capacityTypes := r.CapacityTypes
	if slices.Contains(capacityTypes, v1.CapacityTypeSpot) {
		capacityTypes = []string{v1.CapacityTypeSpot}
	}
	var kept []option
	for _, name := range r.InstanceTypes {
		it := d.types[name]
		if it == nil {
			continue
		}
		o := option{name: name, labels: it.Labels}
		for _, of := range it.Offerings {
			if of.Available && slices.Contains(r.Zones, of.Zone) && slices.Contains(capacityTypes, of.CapacityType) {
				if len(o.offerings) == 0 || of.PricePerHour < o.cheapest {
					o.cheapest = of.PricePerHour
				}
				o.dearest = max(o.dearest, of.PricePerHour)
				o.offerings = append(o.offerings, of)
			}
		}
		if len(o.offerings) > 0 && o.dearest < price {
			kept = append(kept, o)
		}
	}
	slices.SortStableFunc(kept, func(a, b option) int {
		return cmp.Or(cmp.Compare(a.cheapest, b.cheapest), strings.Compare(a.name, b.name))
	})
	pool := d.pools[r.NodePool]
	if spotToSpot(nodes, capacityTypes) {
		if len(kept) < minSpotReplacementTypes {
			return false
		}
		most := minSpotReplacementTypes
		if pool != nil && slices.ContainsFunc(pool.Spec.Template.Spec.Requirements, hasMinValues) {
			most = maxSpotTypesWithMinValues
		}
		kept = kept[:min(len(kept), most)]
	}
	if len(kept) == 0 || (pool != nil && !d.meetsMinValues(pool, kept)) {
		return false
	}
	zones, cts := map[string]bool{}, map[string]bool{}
	r.InstanceTypes, r.MaxPricePerHour = nil, 0
	for _, o := range kept {
		r.InstanceTypes = append(r.InstanceTypes, o.name)
		r.MaxPricePerHour = max(r.MaxPricePerHour, o.dearest)
		for _, of := range o.offerings {
			zones[of.Zone], cts[of.CapacityType] = true, true
		}
	}
	r.Zones, r.CapacityTypes = slices.Sorted(maps.Keys(zones)), slices.Sorted(maps.Keys(cts))
	r.PricePerHour = kept[0].cheapest
	return true
}

// spotToSpot: every node replaced is spot and so is the replacement.
func spotToSpot(nodes []*Node, capacityTypes []string) bool {
	for _, n := range nodes {
		if n.CapacityType != v1.CapacityTypeSpot {
			return false
		}
	}
	return slices.Equal(capacityTypes, []string{v1.CapacityTypeSpot})
}

func hasMinValues(r v1.NodeSelectorRequirementWithMinValues) bool {
	return r.MinValues != nil && *r.MinValues > 0
}

// meetsMinValues: the cut must leave as many distinct values of each minValues key as the
// pool asks for, or the launch has less flexibility than the pool allows. Keys no instance
// type carries are the pool's own labels, one value per node whatever the type, and are not
// counted, as Solve does not count them.
func (d *decider) meetsMinValues(pool *v1.NodePool, kept []option) bool {
	for _, req := range pool.Spec.Template.Spec.Requirements {
		if !hasMinValues(req) {
			continue
		}
		key := scheduling.NormalizedLabelKey(req.Key)
		if key != v1.LabelZone && key != v1.LabelCapacityType && !d.typesCarry(key) {
			continue
		}
		seen := map[string]bool{}
		for _, o := range kept {
			for _, v := range o.values(key) {
				seen[v] = true
			}
		}
		if len(seen) < *req.MinValues {
			return false
		}
	}
	return true
}

// values are the option's values of key: its offerings' for zone and capacity type.
func (o option) values(key string) []string {
	var out []string
	for _, of := range o.offerings {
		switch key {
		case v1.LabelZone:
			out = append(out, of.Zone)
		case v1.LabelCapacityType:
			out = append(out, of.CapacityType)
		}
	}
	if key == v1.LabelZone || key == v1.LabelCapacityType {
		return out
	}
	if v, ok := typeLabel(o.labels, key); ok {
		out = append(out, v)
	}
	return out
}

func (d *decider) typesCarry(key string) bool {
	for _, it := range d.types {
		if _, ok := typeLabel(it.Labels, key); ok {
			return true
		}
	}
	return false
}

// typeLabel reads key from an instance type's labels, under a deprecated beta key too.
func typeLabel(labels map[string]string, key string) (string, bool) {
	if v, ok := labels[key]; ok {
		return v, true
	}
	for k, v := range labels {
		if scheduling.NormalizedLabelKey(k) == key {
			return v, true
		}
	}
	return "", false
}
