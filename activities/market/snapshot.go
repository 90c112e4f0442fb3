package market

import (
	"slices"
	"strings"
	"time"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// offeringKey names an instance type in a zone.
type offeringKey struct{ typ, zone string }

// Where a source's figures come from.
const (
	FromAWS      = "aws"
	FromFallback = "fallback"
)

// SourceStatus says where one source's figures come from now.
type SourceStatus struct {
	// From is FromAWS or FromFallback.
	From string `json:"from"`
	// Reason says why the fallback is in use, or why the last refresh failed.
	Reason string `json:"reason,omitempty"`
	// UpdatedAt is the last refresh that succeeded; zero for a fallback never refreshed.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// Count is how many figures the source holds: types, offerings or prices.
	Count int `json:"count"`
}

// Fallback reports whether the source uses the embedded figures.
func (s SourceStatus) Fallback() bool { return s.From == FromFallback }

// Status says where each source's figures come from.
type Status struct {
	InstanceTypes SourceStatus `json:"instanceTypes"`
	Offerings     SourceStatus `json:"offerings"`
	OnDemand      SourceStatus `json:"onDemand"`
	Spot          SourceStatus `json:"spot"`
}

// Snapshot is the market at one moment. It is immutable: a refresh makes a new one.
type Snapshot struct {
	region string
	// types are the types EC2 lists; nil (fallback) admits every catalog type.
	types map[string]bool
	// derived are the records derived from what EC2 says of the types it lists; nil (fallback)
	// adds none to the catalog.
	derived map[string]catalog.Type
	// zones are the zones offering each type; nil (fallback) means every zone asked for.
	zones map[string][]string
	// onDemand are the on-demand prices, from the Pricing API or embedded.
	onDemand map[string]float64
	// spot are the spot prices per zone from EC2; nil (fallback) models them from spotModel.
	spot      map[offeringKey]float64
	spotModel map[string]float64
	status    Status
	// version counts changes of figures: snapshots of one version differ in status only.
	version uint64
}

// Version changes whenever a figure does, not when only a status does: a planner may keep
// what it made from a snapshot of the same version.
func (s *Snapshot) Version() uint64 { return s.version }

// Region is the region the snapshot prices.
func (s *Snapshot) Region() string { return s.region }

// Status says where the snapshot's figures come from.
func (s *Snapshot) Status() Status { return s.status }

// Sells reports whether EC2 lists the type in the region.
func (s *Snapshot) Sells(instanceType string) bool { return s.types == nil || s.types[instanceType] }

// Types are the instance types the market sells, sorted by name: the known records EC2 lists
// (a known record wins: it carries Spot Advisor's savings and documented figures) and the
// records derived from EC2 of the types it lists that known lacks. While the instance types
// are the fallback they are known as it is.
func (s *Snapshot) Types(known []catalog.Type) []catalog.Type {
	out := make([]catalog.Type, 0, max(len(known), len(s.derived)))
	have := make(map[string]bool, len(known))
	for _, t := range known {
		have[t.Name] = true
		if s.Sells(t.Name) {
			out = append(out, t)
		}
	}
	for name, t := range s.derived {
		if !have[name] {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b catalog.Type) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Derived is the record derived from what EC2 says of the type; ok is false for a type EC2
// does not list, or while the instance types are the fallback.
func (s *Snapshot) Derived(instanceType string) (t catalog.Type, ok bool) {
	t, ok = s.derived[instanceType]
	return t, ok
}

// Offers reports whether the zone offers the type: always while offerings are the fallback.
func (s *Snapshot) Offers(instanceType, zone string) bool {
	return s.zones == nil || slices.Contains(s.zones[instanceType], zone)
}

// Price is what an instance of the type costs per hour in the zone at the capacity type
// (on-demand or spot): the figures Within prices offerings from. ok is false for a figure
// the market lacks or a capacity type it does not price.
func (s *Snapshot) Price(instanceType, zone, capacityType string) (price float64, ok bool) {
	all := within{s: s}
	switch capacityType {
	case v1.CapacityTypeOnDemand:
		return all.OnDemandPrice(instanceType)
	case v1.CapacityTypeSpot:
		return all.SpotPrice(instanceType, zone)
	}
	return 0, false
}

// Within is the snapshot as a catalog.Market limited to the zones given: those the pools
// can launch in.
func (s *Snapshot) Within(zones []string) catalog.Market {
	return within{s: s, zones: slices.Compact(slices.Sorted(slices.Values(zones)))}
}

type within struct {
	s     *Snapshot
	zones []string
}

func (w within) Zones(instanceType string) []string {
	if !w.s.Sells(instanceType) {
		return nil
	}
	if w.s.zones == nil {
		return w.zones
	}
	var out []string
	for _, z := range w.s.zones[instanceType] {
		if slices.Contains(w.zones, z) {
			out = append(out, z)
		}
	}
	return out
}

func (w within) OnDemandPrice(instanceType string) (float64, bool) {
	p, ok := w.s.onDemand[instanceType]
	return p, ok
}

func (w within) SpotPrice(instanceType, zone string) (float64, bool) {
	if w.s.spot == nil {
		p, ok := w.s.spotModel[instanceType]
		return p, ok
	}
	p, ok := w.s.spot[offeringKey{instanceType, zone}]
	return p, ok
}
