package ec2sim

import (
	"slices"
	"time"

	"github.com/nodewright/nodewright/lab/marketsim"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// market is what the Sim asks of the region's market: which zones offer a type, and at what
// price. *marketsim.Market is one; catalogMarket stands in when Options.Market is nil.
type market interface {
	// Zones are the zones that offer the type, sorted.
	Zones(instanceType string) []string
	Offered(instanceType, zone string) bool
	OnDemandPrice(instanceType string) (float64, bool)
	// SpotPrice is the price at the moment; ok is false where the zone does not sell it as spot.
	SpotPrice(instanceType, zone string, at time.Time) (float64, bool)
	// SpotHistory is every price in effect from `from` to `to`, newest first.
	SpotHistory(instanceType, zone string, from, to time.Time) []marketsim.PricePoint
}

var _ market = (*marketsim.Market)(nil)

// catalogMarket is the market of a Sim built without one, as the Sim has always priced: every
// type in every zone, on demand at the catalog's price and as spot at its modelled spot price,
// which never changes and so has one point of history, from the Sim's start.
type catalogMarket struct {
	types map[string]catalog.Type
	zones []string // sorted
	start time.Time
}

func (m catalogMarket) Zones(instanceType string) []string {
	if _, ok := m.types[instanceType]; !ok {
		return nil
	}
	return slices.Clone(m.zones)
}

// Offered holds in any zone, a subnet's outside Options.Zones too, as launches always could.
func (m catalogMarket) Offered(instanceType, _ string) bool {
	_, ok := m.types[instanceType]
	return ok
}

func (m catalogMarket) OnDemandPrice(instanceType string) (float64, bool) {
	t, ok := m.types[instanceType]
	return t.OnDemandPrice, ok
}

func (m catalogMarket) SpotPrice(instanceType, zone string, _ time.Time) (float64, bool) {
	if !m.Offered(instanceType, zone) || !m.types[instanceType].SupportsSpot() {
		return 0, false
	}
	return m.types[instanceType].SpotPrice(), true
}

// SpotHistory is the one price, stamped at the start, as marketsim stamps a walk's first step
// even for a window before it.
func (m catalogMarket) SpotHistory(instanceType, zone string, from, to time.Time) []marketsim.PricePoint {
	price, ok := m.SpotPrice(instanceType, zone, from)
	if !ok || to.Before(from) {
		return nil
	}
	return []marketsim.PricePoint{{InstanceType: instanceType, Zone: zone, Price: price, At: m.start}}
}

// soldTypes are the catalog's types the market sells; all of them without a market.
func soldTypes(types []catalog.Type, m *marketsim.Market) map[string]catalog.Type {
	all := catalog.Index(types)
	if m == nil {
		return all
	}
	sold := map[string]catalog.Type{}
	for _, name := range m.Types() {
		if t, ok := all[name]; ok {
			sold[name] = t
		}
	}
	return sold
}
