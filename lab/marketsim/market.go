package marketsim

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// Options configures a Market; zero fields take the defaults noted.
type Options struct {
	Region string         // default us-east-1
	Zones  []string       // default the region's a, b and c zones
	Types  []catalog.Type // the catalog; only types priced in the region are sold
	Seed   int64          // seeds which offerings are missing and the spot walks
	// Start is when the spot walks begin: history starts there. Default the first Now.
	Start time.Time
	// Step is how often a spot price moves; default one hour, at least a minute (each step of
	// each walk is kept).
	Step time.Duration
	// MissingOfferings is the share of (family, zone) pairs the region does not offer, below
	// 1: as in a real region, a zone lacks whole families (the oldest, the newest). 0 means
	// 0.02 and a negative share none. Every type keeps at least one zone.
	MissingOfferings float64
}

// spotBand is how far a spot saving may walk from the Spot Advisor figure, in points.
const spotBand = 10

// PricePoint is one spot price from a moment on.
type PricePoint struct {
	InstanceType string
	Zone         string
	Price        float64
	At           time.Time
}

// Market is the simulated region's market. It is safe for concurrent use.
type Market struct {
	region   string
	zones    []string
	types    map[string]catalog.Type
	names    []string // priced types, sorted
	onDemand map[string]float64
	seed     int64
	start    time.Time
	step     time.Duration

	mu      sync.Mutex
	offered map[string][]string // type -> sorted zones
	pinned  map[[2]string][]PricePoint
	savings map[[2]string][]float64 // (type, zone) -> spot saving in points at each walk step
}

// New builds the market of o.Region.
func New(o Options) (*Market, error) {
	region := o.Region
	if region == "" {
		region = catalog.DefaultRegion
	}
	onDemand, err := catalog.OnDemandPrices(o.Types, region)
	if err != nil {
		return nil, err
	}
	zones := slices.Clone(o.Zones)
	if len(zones) == 0 {
		zones = []string{region + "a", region + "b", region + "c"}
	}
	for _, z := range zones {
		if !strings.HasPrefix(z, region) || len(z) != len(region)+1 {
			return nil, fmt.Errorf("zone %q is not a zone of region %s (want %sa, %sb, ...)", z, region, region, region)
		}
	}
	slices.Sort(zones)
	step := o.Step
	switch {
	case step == 0:
		step = time.Hour
	case step < time.Minute:
		return nil, fmt.Errorf("spot step %v: want a minute or more", step)
	}
	missing := o.MissingOfferings
	switch {
	case missing == 0:
		missing = 0.02
	case missing < 0:
		missing = 0
	case missing >= 1:
		return nil, fmt.Errorf("missing offerings %v: want a share below 1", missing)
	}
	m := &Market{
		region: region, zones: zones, types: catalog.Index(o.Types), onDemand: onDemand,
		seed: o.Seed, start: o.Start, step: step,
		offered: map[string][]string{}, pinned: map[[2]string][]PricePoint{}, savings: map[[2]string][]float64{},
	}
	for name := range onDemand {
		m.names = append(m.names, name)
	}
	slices.Sort(m.names)
	for _, name := range m.names {
		var in []string
		family, _, _ := strings.Cut(name, ".")
		for _, z := range zones {
			if m.unit("offered", family, z, 0) >= missing {
				in = append(in, z)
			}
		}
		if len(in) == 0 {
			in = zones[:1]
		}
		m.offered[name] = in
	}
	return m, nil
}

// Region is the market's region.
func (m *Market) Region() string { return m.region }

// AllZones are the region's zones, sorted.
func (m *Market) AllZones() []string { return slices.Clone(m.zones) }

// Types are the names of the types sold in the region, sorted.
func (m *Market) Types() []string { return slices.Clone(m.names) }

// Zones are the zones that offer the type, sorted; none for a type the region does not sell.
func (m *Market) Zones(instanceType string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.offered[instanceType])
}

// Offered reports whether the zone offers the type.
func (m *Market) Offered(instanceType, zone string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.offered[instanceType], zone)
}

// Restrict offers the type only in the given zones of the region, as for a type a region
// has in one zone only.
func (m *Market) Restrict(instanceType string, zones ...string) error {
	if _, ok := m.onDemand[instanceType]; !ok {
		return fmt.Errorf("restrict %s: the region %s does not sell it", instanceType, m.region)
	}
	for _, z := range zones {
		if !slices.Contains(m.zones, z) {
			return fmt.Errorf("restrict %s: zone %q is not one of %v", instanceType, z, m.zones)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.offered[instanceType] = slices.Compact(slices.Sorted(slices.Values(zones)))
	return nil
}

// OnDemandPrice is the region's on-demand price of the type.
func (m *Market) OnDemandPrice(instanceType string) (float64, bool) {
	p, ok := m.onDemand[instanceType]
	return p, ok
}

// SpotPrice is the type's spot price in the zone at the moment; ok is false where the zone
// does not offer it as spot.
func (m *Market) SpotPrice(instanceType, zone string, at time.Time) (float64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.sellsSpot(instanceType, zone) {
		return 0, false
	}
	return m.spotAt(instanceType, zone, at), true
}

// SetSpotPrice pins the type's spot price in the zone from the moment on, as a price change
// a test can wait to see.
func (m *Market) SetSpotPrice(instanceType, zone string, price float64, from time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.sellsSpot(instanceType, zone) {
		return fmt.Errorf("set spot price: %s is not sold as spot in %s", instanceType, zone)
	}
	if price <= 0 || math.IsNaN(price) || math.IsInf(price, 0) {
		return fmt.Errorf("set spot price of %s in %s: %v is not a price", instanceType, zone, price)
	}
	key := [2]string{instanceType, zone}
	m.pinned[key] = append(m.pinned[key], PricePoint{InstanceType: instanceType, Zone: zone, Price: price, At: from})
	slices.SortStableFunc(m.pinned[key], func(a, b PricePoint) int { return a.At.Compare(b.At) })
	return nil
}

// SpotHistory is every spot price of the type in the zone from the one in effect at from
// (stamped when it took effect) to the last change at or before to, newest first, as
// DescribeSpotPriceHistory answers.
func (m *Market) SpotHistory(instanceType, zone string, from, to time.Time) []PricePoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.sellsSpot(instanceType, zone) || to.Before(from) {
		return nil
	}
	m.startOf(from)
	point := func(at time.Time) PricePoint {
		return PricePoint{InstanceType: instanceType, Zone: zone, Price: m.spotAt(instanceType, zone, at), At: at}
	}
	out := []PricePoint{point(m.changedAt(instanceType, zone, from))}
	var changes []time.Time
	for k := m.stepOf(from) + 1; ; k++ {
		at := m.start.Add(time.Duration(k) * m.step)
		if at.After(to) {
			break
		}
		if m.pinAt(instanceType, zone, at) == nil {
			changes = append(changes, at)
		}
	}
	for _, p := range m.pinned[[2]string{instanceType, zone}] {
		if p.At.After(from) && !p.At.After(to) {
			changes = append(changes, p.At)
		}
	}
	slices.SortFunc(changes, time.Time.Compare)
	for _, at := range slices.Compact(changes) {
		out = append(out, point(at))
	}
	slices.Reverse(out)
	return out
}

// changedAt is when the price in effect at the moment took effect. Must be called with m.mu
// held.
func (m *Market) changedAt(instanceType, zone string, at time.Time) time.Time {
	if pin := m.pinAt(instanceType, zone, at); pin != nil {
		return pin.At
	}
	return m.start.Add(time.Duration(m.stepOf(at)) * m.step)
}

// pinAt is the latest pin at or before the moment, or nil: once pinned, a price stays until
// the next pin.
func (m *Market) pinAt(instanceType, zone string, at time.Time) *PricePoint {
	pins := m.pinned[[2]string{instanceType, zone}]
	for i := len(pins) - 1; i >= 0; i-- {
		if !pins[i].At.After(at) {
			return &pins[i]
		}
	}
	return nil
}

// spotAt must be called with m.mu held.
func (m *Market) spotAt(instanceType, zone string, at time.Time) float64 {
	if pin := m.pinAt(instanceType, zone, at); pin != nil {
		return pin.Price
	}
	m.startOf(at)
	return m.walk(instanceType, zone, m.stepOf(at))
}

func (m *Market) sellsSpot(instanceType, zone string) bool {
	t, ok := m.types[instanceType]
	return ok && t.SupportsSpot() && slices.Contains(m.offered[instanceType], zone)
}

// startOf fixes the walks' start at the first moment asked about when none was given.
func (m *Market) startOf(at time.Time) time.Time {
	if m.start.IsZero() {
		m.start = at.Truncate(m.step)
	}
	return m.start
}

// stepOf is the walk step in effect at the moment; before the start, the first.
func (m *Market) stepOf(at time.Time) int64 {
	if at.Before(m.start) {
		return 0
	}
	return int64(at.Sub(m.start) / m.step)
}

// walk is the spot price at step k: the saving starts within spotBand of the Spot Advisor
// figure and moves by up to two points a step, staying within spotBand of it. Savings are
// kept per step, so each is computed once and the same seed always gives the same walk.
func (m *Market) walk(instanceType, zone string, k int64) float64 {
	key := [2]string{instanceType, zone}
	base := catalog.SpotSavingsPct(m.types[instanceType].SpotSavingsPct)
	savings := m.savings[key]
	for j := int64(len(savings)); j <= k; j++ {
		var s float64
		if j == 0 {
			s = base + 2*spotBand*m.unit("walk", instanceType, zone, 0) - spotBand
		} else {
			s = savings[j-1] + 4*m.unit("walk", instanceType, zone, j) - 2
		}
		savings = append(savings, min(max(s, base-spotBand), base+spotBand, 95))
	}
	m.savings[key] = savings
	return math.Round(m.onDemand[instanceType]*(1-savings[k]/100)*1e6) / 1e6
}

// unit is a seeded number in [0, 1) for the named draw.
func (m *Market) unit(draw, instanceType, zone string, k int64) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%s/%s/%d", m.seed, draw, instanceType, zone, k)
	// FNV leaves nearby keys close in the high bits; splitmix64's finaliser spreads them.
	x := h.Sum64()
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
