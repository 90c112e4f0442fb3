package marketsim

import (
	"slices"
	"testing"
	"time"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

var t0 = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)

func newMarket(t *testing.T, o Options) *Market {
	t.Helper()
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	o.Types = types
	if o.Start.IsZero() {
		o.Start = t0
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewRefusesWhatNoRegionHas(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    Options
	}{
		{"a region without prices", Options{Region: "mars-north-1"}},
		{"a zone of another region", Options{Region: "eu-west-1", Zones: []string{"us-east-1a"}}},
		{"a step under a minute", Options{Step: time.Second}},
		{"every offering missing", Options{MissingOfferings: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Types = types
			if _, err := New(tc.o); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestRegionSellsItsTypesInItsZones(t *testing.T) {
	m := newMarket(t, Options{Region: "eu-west-1", Seed: 1})
	if got, want := m.AllZones(), []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}; !slices.Equal(got, want) {
		t.Fatalf("zones = %v, want %v", got, want)
	}
	if p, ok := m.OnDemandPrice("m5.large"); !ok || p != 0.107 {
		t.Errorf("m5.large on-demand = %v, %v; want eu-west-1's 0.107", p, ok)
	}
	missing := 0
	for _, name := range m.Types() {
		zones := m.Zones(name)
		if len(zones) == 0 {
			t.Fatalf("%s is offered nowhere; every type keeps a zone", name)
		}
		missing += 3 - len(zones)
	}
	if missing == 0 || missing > len(m.Types())*3/10 {
		t.Errorf("%d of %d offerings missing, want a few", missing, 3*len(m.Types()))
	}
}

func TestRestrictOffersATypeInChosenZonesOnly(t *testing.T) {
	m := newMarket(t, Options{MissingOfferings: -1})
	if err := m.Restrict("m5.large", "us-east-1b"); err != nil {
		t.Fatal(err)
	}
	if got := m.Zones("m5.large"); !slices.Equal(got, []string{"us-east-1b"}) {
		t.Errorf("zones = %v, want only us-east-1b", got)
	}
	if _, ok := m.SpotPrice("m5.large", "us-east-1a", t0); ok {
		t.Error("a zone that does not offer the type has a spot price")
	}
	if err := m.Restrict("m5.large", "eu-west-1a"); err == nil {
		t.Error("Restrict accepted another region's zone")
	}
}

func TestSpotPricesWalkWithinTheSpotAdvisorBand(t *testing.T) {
	m := newMarket(t, Options{Seed: 7, MissingOfferings: -1})
	types := catalog.Index(mustLoad(t))
	for _, name := range []string{"m5.large", "c6g.xlarge", "r7i.2xlarge"} {
		od, _ := m.OnDemandPrice(name)
		base := catalog.SpotSavingsPct(types[name].SpotSavingsPct)
		lo, hi := od*(1-(base+spotBand)/100)-1e-6, od*(1-(base-spotBand)/100)+1e-6
		seen := map[float64]bool{}
		for h := range 200 {
			p, ok := m.SpotPrice(name, "us-east-1a", t0.Add(time.Duration(h)*time.Hour))
			if !ok || p < lo || p > hi {
				t.Fatalf("%s at hour %d = %v, want within [%v, %v]", name, h, p, lo, hi)
			}
			seen[p] = true
		}
		if len(seen) < 50 {
			t.Errorf("%s took %d prices in 200 hours, want a walk", name, len(seen))
		}
		a, _ := m.SpotPrice(name, "us-east-1a", t0)
		b, _ := m.SpotPrice(name, "us-east-1b", t0)
		if a == b {
			t.Errorf("%s costs %v in two zones; zones walk apart", name, a)
		}
	}
}

func TestSameSeedSameWalk(t *testing.T) {
	a := newMarket(t, Options{Seed: 3})
	b := newMarket(t, Options{Seed: 3})
	// b asks for a late step first: the walk must not depend on the order of questions.
	late := t0.Add(30 * time.Hour)
	pb, _ := b.SpotPrice("m5.large", "us-east-1a", late)
	for h := range 31 {
		a.SpotPrice("m5.large", "us-east-1a", t0.Add(time.Duration(h)*time.Hour))
	}
	pa, _ := a.SpotPrice("m5.large", "us-east-1a", late)
	if pa != pb {
		t.Errorf("same seed gave %v and %v", pa, pb)
	}
	c := newMarket(t, Options{Seed: 4})
	if pc, _ := c.SpotPrice("m5.large", "us-east-1a", late); pc == pa {
		t.Errorf("another seed gave the same price %v", pc)
	}
}

func TestSpotHistoryIsNewestFirstFromThePriceInEffect(t *testing.T) {
	m := newMarket(t, Options{Seed: 1, MissingOfferings: -1})
	pinAt := t0.Add(150 * time.Minute)
	if err := m.SetSpotPrice("m5.large", "us-east-1a", 0.5, pinAt); err != nil {
		t.Fatal(err)
	}
	from, to := t0.Add(30*time.Minute), t0.Add(5*time.Hour)
	h := m.SpotHistory("m5.large", "us-east-1a", from, to)
	var at []time.Time
	for _, p := range h {
		at = append(at, p.At)
	}
	// In effect at from: the step of t0; then the steps at 1h and 2h; then the pin, which holds.
	want := []time.Time{pinAt, t0.Add(2 * time.Hour), t0.Add(time.Hour), t0}
	if !slices.Equal(at, want) {
		t.Fatalf("history stamped %v, want %v", at, want)
	}
	if h[0].Price != 0.5 {
		t.Errorf("newest price = %v, want the pinned 0.5", h[0].Price)
	}
	if now, _ := m.SpotPrice("m5.large", "us-east-1a", to); now != 0.5 {
		t.Errorf("price after the pin = %v, want 0.5", now)
	}
	if got := m.SpotHistory("m5.large", "us-east-1a", to, to); len(got) != 1 || got[0].At != pinAt {
		t.Errorf("history of one moment = %+v, want the pin in effect", got)
	}
}

func mustLoad(t *testing.T) []catalog.Type {
	t.Helper()
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	return types
}
