package market

import (
	"context"
	"net/http"
	"testing"
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
