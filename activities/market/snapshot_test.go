package market

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

func TestPriceIsTheFigureTheLaunchedOfferingIsPricedAt(t *testing.T) {
	answered, _, _ := newLiveOnFixtures(t, false)
	answered.Refresh(context.Background())
	modelled, f, _ := newLiveOnFixtures(t, false)
	f.fail("DescribeSpotPriceHistory", http.StatusServiceUnavailable)
	modelled.Refresh(context.Background())
	modelledSpot, ok := modelled.Snapshot().Within(fixtureZones).SpotPrice("m5.large", "us-east-1e")
	if !ok || modelledSpot <= 0 {
		t.Fatalf("modelled m5.large spot = %v, %v; want a price to compare with", modelledSpot, ok)
	}

	tests := []struct {
		name                    string
		live                    *Live
		typ, zone, capacityType string
		want                    float64
		wantOK                  bool
	}{
		{name: "on-demand is the Pricing API's price", live: answered,
			typ: "m5.large", zone: "us-east-1a", capacityType: "on-demand", want: 0.096, wantOK: true},
		{name: "spot is EC2's price in the instance's zone", live: answered,
			typ: "m5.large", zone: "us-east-1a", capacityType: "spot", want: 0.0423, wantOK: true},
		{name: "spot in another zone is that zone's price", live: answered,
			typ: "m5.large", zone: "us-east-1b", capacityType: "spot", want: 0.0389, wantOK: true},
		{name: "spot in a zone EC2 gave no price for is unknown", live: answered,
			typ: "m5.large", zone: "us-east-1e", capacityType: "spot"},
		{name: "a type without an on-demand price is unknown", live: answered,
			typ: "x9.imaginary", zone: "us-east-1a", capacityType: "on-demand"},
		{name: "a capacity type the market does not price is unknown", live: answered,
			typ: "m5.large", zone: "us-east-1a", capacityType: "reserved"},
		{name: "spot while EC2 does not answer is the modelled price", live: modelled,
			typ: "m5.large", zone: "us-east-1e", capacityType: "spot", want: modelledSpot, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.live.Snapshot().Price(tt.typ, tt.zone, tt.capacityType)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Price(%s, %s, %s) = %v, %v; want %v, %v", tt.typ, tt.zone, tt.capacityType, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestTypesAddWhatEC2ListsBeyondTheCatalog(t *testing.T) {
	byName := catalog.Index(loadCatalog(t))
	known := []catalog.Type{byName["a1.large"], byName["m5.large"], byName["t3.micro"]} // no g5.xlarge
	l, _, _ := newLiveOnFixtures(t, false)
	fallback := names(l.Snapshot().Types(known))
	l.Refresh(context.Background())
	answered := l.Snapshot().Types(known)
	failing, f2, _ := newLiveOnFixtures(t, false)
	f2.fail("DescribeInstanceTypes", http.StatusServiceUnavailable)
	failing.Refresh(context.Background())

	if want := []string{"a1.large", "m5.large", "t3.micro"}; !slices.Equal(fallback, want) {
		t.Errorf("before EC2 answers: %v, want the catalog's %v", fallback, want)
	}
	if got, want := names(failing.Snapshot().Types(known)), []string{"a1.large", "m5.large", "t3.micro"}; !slices.Equal(got, want) {
		t.Errorf("EC2 not answering: %v, want the catalog's %v", got, want)
	}
	// a1.large is not listed: gone; c6g, g5, m7i are EC2's only.
	if got, want := names(answered), []string{"c6g.large", "g5.xlarge", "m5.large", "m7i.large", "t3.micro"}; !slices.Equal(got, want) {
		t.Fatalf("EC2 answered: %v, want %v", got, want)
	}
	for _, typ := range answered {
		_, derived := l.Snapshot().Derived(typ.Name)
		switch typ.Name {
		case "m5.large", "t3.micro":
			if !reflect.DeepEqual(typ, byName[typ.Name]) {
				t.Errorf("%s is not the catalog's record, which carries the Spot Advisor savings", typ.Name)
			}
		default:
			if !derived || typ.Allocatable != (catalog.Allocatable{}) {
				t.Errorf("%s: derived %v, allocatable %+v; want EC2's record without documented figures", typ.Name, derived, typ.Allocatable)
			}
		}
	}
	if g5 := answered[1]; g5.GPU == nil || g5.GPU.Count != 1 {
		t.Errorf("g5.xlarge GPU = %+v, want EC2's one A10G", g5.GPU)
	}
}

func names(types []catalog.Type) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = t.Name
	}
	return out
}
