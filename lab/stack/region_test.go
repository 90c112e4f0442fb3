package stack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	pricingtypes "github.com/aws/aws-sdk-go-v2/service/pricing/types"

	"github.com/nodewright/nodewright/lab/localhttp"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

func TestRegionOfRefusesARegionWithoutPricesNamingThoseWithThem(t *testing.T) {
	embedded, err := catalog.Regions()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, region, want string
		refused            bool
	}{
		{"none asked for", "", "us-east-1", false},
		{"one with embedded prices", "eu-west-1", "eu-west-1", false},
		{"one without", "sa-east-1", "", true},
		{"a region that does not exist", "mars-north-1", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := regionOf(Options{Region: tc.region})
			if !tc.refused {
				if err != nil || got != tc.want {
					t.Fatalf("regionOf(%q) = %q, %v; want %q", tc.region, got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("regionOf(%q) accepted it as %q", tc.region, got)
			}
			for _, r := range append(embedded, tc.region) {
				if !strings.Contains(err.Error(), r) {
					t.Errorf("refusal %q does not name %s", err, r)
				}
			}
		})
	}
}

// The region's simulators answer for it: EC2's subnets are in its zones and the Pricing API
// prices it from the market EC2 sells from. Only these start, not the whole lab.
func TestAStackInARegionSellsAndPricesThatRegion(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Region: "eu-west-1", MarketSeed: 3}
	s := &Stack{Region: o.Region, Zones: ZonesOf(o.Region), Types: types}
	if err := s.startMarket(t.Context(), o, nil, nil); err != nil {
		t.Fatalf("start the eu-west-1 market: %v", err)
	}
	defer s.EC2.Close()

	subnets, err := ec2.NewFromConfig(localhttp.SDKConfig(o.Region, s.EC2URL)).DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatalf("DescribeSubnets: %v", err)
	}
	var zones []string
	for _, sn := range subnets.Subnets {
		zones = append(zones, aws.ToString(sn.AvailabilityZone))
	}
	if want := []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}; strings.Join(zones, ",") != strings.Join(want, ",") {
		t.Errorf("EC2's subnets are in %v, want %v", zones, want)
	}

	filter := func(field, value string) pricingtypes.Filter {
		return pricingtypes.Filter{Field: aws.String(field), Type: pricingtypes.FilterTypeTermMatch, Value: aws.String(value)}
	}
	out, err := pricing.NewFromConfig(localhttp.SDKConfig("us-east-1", s.PricingURL)).GetProducts(t.Context(), &pricing.GetProductsInput{
		ServiceCode: aws.String("AmazonEC2"),
		Filters: []pricingtypes.Filter{filter("regionCode", "eu-west-1"), filter("instanceType", "m5.large"), filter("operatingSystem", "Linux"),
			filter("capacitystatus", "Used"), filter("tenancy", "Shared")},
	})
	if err != nil || len(out.PriceList) != 1 {
		t.Fatalf("GetProducts m5.large in eu-west-1: %v, %d records; want one", err, len(out.PriceList))
	}
	want, ok := s.Market.OnDemandPrice("m5.large")
	if !ok || !strings.Contains(out.PriceList[0], `"location":"EU (Ireland)"`) || !strings.Contains(out.PriceList[0], fmt.Sprintf(`"USD":"%.10f"`, want)) {
		t.Errorf("m5.large's record %s, want EU (Ireland) at the market's %v", out.PriceList[0], want)
	}
}

func TestPricingUnreachableStartsThePricingAPIDroppingConnections(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, unreachable := range []bool{false, true} {
		o := Options{PricingUnreachable: unreachable}
		s := &Stack{Region: DefaultRegion, Zones: ZonesOf(DefaultRegion), Types: types}
		if err := s.startMarket(t.Context(), o, nil, nil); err != nil {
			t.Fatalf("start the market: %v", err)
		}
		s.EC2.Close()
		if s.Pricing.Reachable() == unreachable {
			t.Errorf("with PricingUnreachable %v the Pricing API is reachable: %v", unreachable, s.Pricing.Reachable())
		}
	}
}
