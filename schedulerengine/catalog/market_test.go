package catalog

import (
	"maps"
	"slices"
	"strings"
	"testing"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

func TestOnDemandPricesAreTheRegions(t *testing.T) {
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	// Figures from ../shared/data/ec2 (pricing page of 2025-04-04; us-east-1 from the records).
	tests := []struct {
		region string
		typ    string
		want   float64
	}{
		{"us-east-1", "m5.large", 0.096},
		{"eu-west-1", "m5.large", 0.107},
		{"eu-west-1", "c5.xlarge", 0.192},
		{"ap-northeast-1", "m5.large", 0.124},
	}
	for _, tc := range tests {
		t.Run(tc.region+"/"+tc.typ, func(t *testing.T) {
			prices, err := OnDemandPrices(types, tc.region)
			if err != nil {
				t.Fatal(err)
			}
			if got := prices[tc.typ]; got != tc.want {
				t.Errorf("%s in %s costs %v, want %v", tc.typ, tc.region, got, tc.want)
			}
		})
	}
}

func TestOnDemandPricesOfAnUnknownRegionNameTheKnownOnes(t *testing.T) {
	_, err := OnDemandPrices(nil, "mars-north-1")
	if err == nil || !strings.Contains(err.Error(), "mars-north-1") || !strings.Contains(err.Error(), "eu-west-1") {
		t.Fatalf("error = %v, want one naming the region and the embedded ones", err)
	}
}

func TestEveryEmbeddedRegionPricesMostTypes(t *testing.T) {
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	regions, err := Regions()
	if err != nil {
		t.Fatal(err)
	}
	if len(regions) != 6 {
		t.Fatalf("regions = %v, want the six of the data", regions)
	}
	for _, r := range regions {
		prices, err := OnDemandPrices(types, r)
		if err != nil {
			t.Fatal(err)
		}
		if len(prices) < 500 {
			t.Errorf("%s prices %d types, want hundreds", r, len(prices))
		}
	}
}

// market is a hand-made Market for the offering tests.
type market struct {
	zones    map[string][]string
	onDemand map[string]float64
	spot     map[[2]string]float64
}

func (m market) Zones(typ string) []string { return m.zones[typ] }
func (m market) OnDemandPrice(typ string) (float64, bool) {
	p, ok := m.onDemand[typ]
	return p, ok
}
func (m market) SpotPrice(typ, zone string) (float64, bool) {
	p, ok := m.spot[[2]string{typ, zone}]
	return p, ok
}

func TestInstanceTypesInOfferOnlyWhereTheMarketSells(t *testing.T) {
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	m := market{
		zones: map[string][]string{
			"m5.large":  {"eu-west-1b"},
			"c5.large":  {"eu-west-1c", "eu-west-1a"},
			"t2.micro":  {"eu-west-1a"}, // no price: not offered
			"r5.xlarge": {},
		},
		onDemand: map[string]float64{"m5.large": 0.107, "c5.large": 0.096, "r5.xlarge": 0.28},
		spot: map[[2]string]float64{
			{"m5.large", "eu-west-1b"}: 0.04,
			{"c5.large", "eu-west-1a"}: 0.03,
		},
	}
	got := map[string][]schedulerengine.Offering{}
	for _, it := range InstanceTypesIn(types, "eu-west-1", m) {
		got[it.Name] = it.Offerings
		if it.Labels[v1.LabelRegion] != "eu-west-1" {
			t.Errorf("%s region label = %q", it.Name, it.Labels[v1.LabelRegion])
		}
	}
	want := map[string][]schedulerengine.Offering{
		"m5.large": {
			{Zone: "eu-west-1b", CapacityType: v1.CapacityTypeOnDemand, PricePerHour: 0.107, Available: true},
			{Zone: "eu-west-1b", CapacityType: v1.CapacityTypeSpot, PricePerHour: 0.04, Available: true},
		},
		"c5.large": {
			{Zone: "eu-west-1a", CapacityType: v1.CapacityTypeOnDemand, PricePerHour: 0.096, Available: true},
			{Zone: "eu-west-1a", CapacityType: v1.CapacityTypeSpot, PricePerHour: 0.03, Available: true},
			{Zone: "eu-west-1c", CapacityType: v1.CapacityTypeOnDemand, PricePerHour: 0.096, Available: true},
		},
	}
	if len(got) != len(want) {
		t.Fatalf("types offered = %v, want only m5.large and c5.large", slices.Sorted(maps.Keys(got)))
	}
	for name, w := range want {
		if g := got[name]; !slices.Equal(g, w) {
			t.Errorf("%s offerings = %+v, want %+v", name, g, w)
		}
	}
}

// BenchmarkInstanceTypesIn is the conversion a new market snapshot costs the planner once:
// every catalog type in six zones with a spot price per zone.
func BenchmarkInstanceTypesIn(b *testing.B) {
	types, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}
	m, err := NewFallback(types, DefaultRegion, zones)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if got := InstanceTypesIn(types, DefaultRegion, m); len(got) < 1000 {
			b.Fatalf("%d types", len(got))
		}
	}
}
