package schedulerengine

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// world is the read-only part of a Solve: the instance types as vecs, which label keys the
// instance type (rather than the NodePool) decides, and the filter chain. It is built once
// and never changes, so claims and pools may share it freely.
type world struct {
	dims  dims
	types []catalogEntry // sorted by name
	// typeKeys are label keys whose value comes from the instance type or offering.
	typeKeys map[string]bool
	steps    []claimStep
}

// catalogEntry is an InstanceType prepared for the hot loops.
type catalogEntry struct {
	name      string
	labels    map[string]string
	alloc     vec
	capacity  vec
	offerings []Offering // available ones only
	sold      []Offering // every offering, available or not: what running nodes cost
}

// wellKnownTypeKeys are decided by the instance type or offering even when no type in the
// input carries them, so a pod asking for one is told no type matches rather than that the
// NodePool does not set it.
func wellKnownTypeKeys() []string {
	return []string{v1.LabelInstanceType, v1.LabelArch, v1.LabelOS, v1.LabelZone, v1.LabelRegion, v1.LabelCapacityType}
}

// awsTypeLabelPrefix marks the AWS provider's instance-type labels (instance-family, ...).
const awsTypeLabelPrefix = "karpenter.k8s.aws/"

func newWorld(d dims, types []InstanceType) (*world, error) {
	w := &world{dims: d, typeKeys: map[string]bool{}, steps: claimSteps()}
	for _, k := range wellKnownTypeKeys() {
		w.typeKeys[k] = true
	}
	for _, it := range types {
		if it.Name == "" {
			return nil, fmt.Errorf("instance type with no name")
		}
		var offerings []Offering
		for _, o := range it.Offerings {
			if o.Available {
				offerings = append(offerings, o)
			}
		}
		labels := scheduling.NormalizedLabels(it.Labels)
		for k := range labels {
			w.typeKeys[k] = true
		}
		w.types = append(w.types, catalogEntry{
			name:      it.Name,
			labels:    labels,
			alloc:     d.vec(it.Allocatable),
			capacity:  d.vec(it.Capacity),
			offerings: offerings,
			sold:      it.Offerings,
		})
	}
	slices.SortFunc(w.types, func(a, b catalogEntry) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(w.types); i++ {
		if w.types[i].name == w.types[i-1].name {
			return nil, fmt.Errorf("instance type %q is listed twice", w.types[i].name)
		}
	}
	return w, nil
}

// allocatableIn is, per instance type, what a node of it offers pods in a pool whose node
// class sizes the types it names as sized says; the others offer their Allocatable.
func (w *world) allocatableIn(sized map[string]corev1.ResourceList) []vec {
	out := make([]vec, len(w.types))
	for i := range w.types {
		if rl, ok := sized[w.types[i].name]; ok {
			out[i] = w.dims.vec(rl)
		} else {
			out[i] = w.types[i].alloc
		}
	}
	return out
}

// decidedByInstanceType reports whether the value of a label comes from the instance type or
// offering, so a NodePool need not set it for a pod to ask for it.
func (w *world) decidedByInstanceType(key string) bool {
	return w.typeKeys[key] || strings.HasPrefix(key, awsTypeLabelPrefix)
}

// offeringFilter is the zone and capacity-type part of a set of requirements.
type offeringFilter struct {
	zone, capacityType       scheduling.Requirement
	hasZone, hasCapacityType bool
}

func newOfferingFilter(reqs scheduling.Requirements) offeringFilter {
	var f offeringFilter
	f.zone, f.hasZone = reqs.Get(v1.LabelZone)
	f.capacityType, f.hasCapacityType = reqs.Get(v1.LabelCapacityType)
	return f
}

func (f offeringFilter) allows(o Offering) bool {
	return (!f.hasZone || f.zone.Has(o.Zone)) && (!f.hasCapacityType || f.capacityType.Has(o.CapacityType))
}

// cheapest is the lowest price among the type's allowed offerings.
func (t *catalogEntry) cheapest(f offeringFilter) (float64, bool) {
	best, found := 0.0, false
	for _, o := range t.offerings {
		if f.allows(o) && (!found || o.PricePerHour < best) {
			best, found = o.PricePerHour, true
		}
	}
	return best, found
}

// dearest is the highest price among the type's allowed offerings: what a claim for it is
// charged against cost limits, whichever offering EC2 Fleet picks.
func (t *catalogEntry) dearest(f offeringFilter) float64 {
	most := 0.0
	for _, o := range t.offerings {
		if f.allows(o) {
			most = max(most, o.PricePerHour)
		}
	}
	return most
}

// allows reports whether a node of type t could satisfy reqs: every instance-type label
// matches and some offering is in an allowed zone and capacity type.
func (w *world) allows(t *catalogEntry, reqs scheduling.Requirements, f offeringFilter) bool {
	for _, r := range reqs {
		if r.Key == v1.LabelZone || r.Key == v1.LabelCapacityType || !w.decidedByInstanceType(r.Key) {
			continue
		}
		v, ok := t.labels[r.Key]
		if !r.MatchesLabel(v, ok) {
			return false
		}
	}
	return slices.ContainsFunc(t.offerings, f.allows)
}

// typesAllowing filters candidates (indices into w.types) to those allowing reqs.
func (w *world) typesAllowing(candidates []int, reqs scheduling.Requirements) []int {
	f := newOfferingFilter(reqs)
	var out []int
	for _, i := range candidates {
		if w.allows(&w.types[i], reqs, f) {
			out = append(out, i)
		}
	}
	return out
}

// allTypes is every type index, the starting set before a pool narrows it.
func (w *world) allTypes() []int {
	out := make([]int, len(w.types))
	for i := range out {
		out[i] = i
	}
	return out
}

// capacityOfNode is an existing node's capacity for limit accounting: its own figure if
// given, else its instance type's.
func (w *world) capacityOfNode(n ExistingNode) vec {
	if len(n.Capacity) > 0 {
		return w.dims.vec(n.Capacity)
	}
	i, found := w.typeIndex(n.Labels[v1.LabelInstanceType])
	if !found {
		return make(vec, len(w.dims.names))
	}
	return w.types[i].capacity
}

// priceOfNode is what a running node costs (NodePrice); ok is false for an instance type the
// catalog does not have or price at all.
func (w *world) priceOfNode(labels map[string]string) (price float64, ok bool) {
	i, found := w.typeIndex(labels[v1.LabelInstanceType])
	if !found {
		return 0, false
	}
	return nodePrice(w.types[i].sold, labels)
}

// NodePrice is what a running node of the type costs, as Solve charges it to cost limits when
// the node's price is not given: the price of the offering its labels name, or, when they
// name none the catalog prices (an unlabelled zone or capacity type, or one no longer sold
// there), the dearest of its type's offerings, available or not. ok is false when none is
// priced: a cost limit cannot tell what such a node costs.
func NodePrice(t *InstanceType, labels map[string]string) (price float64, ok bool) {
	return nodePrice(t.Offerings, labels)
}

func nodePrice(offerings []Offering, labels map[string]string) (float64, bool) {
	zone, hasZone := labels[v1.LabelZone]
	capacityType, hasCapacityType := labels[v1.LabelCapacityType]
	labelled, dearest := 0.0, 0.0
	for _, o := range offerings {
		dearest = max(dearest, o.PricePerHour)
		if (!hasZone || o.Zone == zone) && (!hasCapacityType || o.CapacityType == capacityType) {
			labelled = max(labelled, o.PricePerHour)
		}
	}
	if labelled > 0 {
		return labelled, true
	}
	return dearest, dearest > 0
}

// dearestOf is the highest price of any offering of the types: what a claim in flight whose
// price was not recorded may cost. ok is false when none is priced.
func (w *world) dearestOf(types []int) (price float64, ok bool) {
	for _, i := range types {
		for _, o := range w.types[i].sold {
			price = max(price, o.PricePerHour)
		}
	}
	return price, price > 0
}

func (w *world) typeIndex(name string) (int, bool) {
	return slices.BinarySearchFunc(w.types, name, func(t catalogEntry, n string) int { return strings.Compare(t.name, n) })
}

// byPrice returns types ordered by their cheapest offering the filter allows, ties by name
// (index order); types with no such offering are dropped.
func (w *world) byPrice(types []int, offerings offeringFilter) []int {
	priced := make([]pricedType, 0, len(types))
	for _, i := range types {
		if price, ok := w.types[i].cheapest(offerings); ok {
			priced = append(priced, pricedType{index: i, price: price})
		}
	}
	slices.SortFunc(priced, func(a, b pricedType) int {
		if a.price != b.price {
			if a.price < b.price {
				return -1
			}
			return 1
		}
		return a.index - b.index
	})
	out := make([]int, len(priced))
	for i, pt := range priced {
		out[i] = pt.index
	}
	return out
}

// cheapestAllowing is the price of the cheapest of types allowing reqs. types are in price
// order under order, a filter at least as wide as reqs', so a type's price under reqs is
// never below its price under order, and the scan stops once no later type can beat the
// best found.
func (w *world) cheapestAllowing(types []int, order offeringFilter, reqs scheduling.Requirements) (float64, bool) {
	offerings := newOfferingFilter(reqs)
	best, found := 0.0, false
	for _, i := range types {
		t := &w.types[i]
		if found {
			if floor, ok := t.cheapest(order); ok && floor >= best {
				break
			}
		}
		if !w.allows(t, reqs, offerings) {
			continue
		}
		if price, ok := t.cheapest(offerings); ok && (!found || price < best) {
			best, found = price, true
		}
	}
	return best, found
}
