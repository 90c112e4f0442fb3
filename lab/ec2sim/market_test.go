package ec2sim_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/marketsim"
)

// newMarket is the region's market over the small catalog, its spot walks starting an hour
// before the sim's clock so launches come a step into them.
func newMarket(t *testing.T, o marketsim.Options) *marketsim.Market {
	t.Helper()
	o.Types = smallCatalog()
	if o.Start.IsZero() {
		o.Start = launchedAt.Add(-time.Hour)
	}
	m, err := marketsim.New(o)
	if err != nil {
		t.Fatalf("market: %v", err)
	}
	return m
}

// withMarket gives the sim the market.
func withMarket(m *marketsim.Market) func(*ec2sim.Options) {
	return func(o *ec2sim.Options) { o.Market = m }
}

// A market decides the sim's zones, wins over Options.Zones, and names its AZ ids after its
// region; the sim sells only the types the market prices.
func TestAMarketSetsTheZonesAndTheTypesSold(t *testing.T) {
	m := newMarket(t, marketsim.Options{Region: "eu-west-1", MissingOfferings: -1})
	sim := newSim(t, withMarket(m), func(o *ec2sim.Options) { o.Zones = []string{"us-east-1a"} })
	client := newClient(t, sim, 1)
	ctx := context.Background()

	subnets, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatalf("describe subnets: %v", err)
	}
	var zones, zoneIDs []string
	for _, sn := range subnets.Subnets {
		zones, zoneIDs = append(zones, aws.ToString(sn.AvailabilityZone)), append(zoneIDs, aws.ToString(sn.AvailabilityZoneId))
	}
	if want := []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}; !slices.Equal(zones, want) {
		t.Errorf("subnets are in %v, want the market's zones %v", zones, want)
	}
	if want := []string{"euw1-az1", "euw1-az2", "euw1-az3"}; !slices.Equal(zoneIDs, want) {
		t.Errorf("subnets are in zone ids %v, want %v", zoneIDs, want)
	}

	out, err := client.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{})
	if err != nil {
		t.Fatalf("describe instance types: %v", err)
	}
	var names []string
	for _, it := range out.InstanceTypes {
		names = append(names, string(it.InstanceType))
	}
	if want := m.Types(); !slices.Equal(names, want) || slices.Contains(names, "u9.onlyondemand") {
		t.Errorf("the sim sells %v, want the market's %v (eu-west-1 prices no u9.onlyondemand)", names, want)
	}
}

// Launches are priced by the market: on demand at the region's price, spot at the zone's
// price at the launching moment, and spot goes to the zone where it is cheapest then.
func TestLaunchesArePricedByTheMarket(t *testing.T) {
	spot, onDemand := types.DefaultTargetCapacityTypeSpot, types.DefaultTargetCapacityTypeOnDemand
	tests := []struct {
		name         string
		capacityType types.DefaultTargetCapacityType
		override     types.FleetLaunchTemplateOverridesRequest
		pin          map[string]float64 // zone → m5.large's spot price from before the launch
		wantZone     string
		wantPrice    func(m *marketsim.Market) float64
	}{
		{name: "on demand at the region's price, not the catalog's", capacityType: onDemand,
			override: override("m5.large", inZone("eu-west-1b")), wantZone: "eu-west-1b",
			wantPrice: func(*marketsim.Market) float64 { return 0.107 }},
		{name: "spot at the zone's walk at the launching moment", capacityType: spot,
			override: override("m5.large", inZone("eu-west-1c")), wantZone: "eu-west-1c",
			wantPrice: func(m *marketsim.Market) float64 {
				p, _ := m.SpotPrice("m5.large", "eu-west-1c", launchedAt)
				return p
			}},
		{name: "spot at a price the market pinned", capacityType: spot,
			override: override("m5.large", inZone("eu-west-1a")), pin: map[string]float64{"eu-west-1a": 0.0123}, wantZone: "eu-west-1a",
			wantPrice: func(*marketsim.Market) float64 { return 0.0123 }},
		{name: "spot goes to the zone where it is cheapest", capacityType: spot,
			override: override("m5.large"), pin: map[string]float64{"eu-west-1a": 0.05, "eu-west-1b": 0.01, "eu-west-1c": 0.03}, wantZone: "eu-west-1b",
			wantPrice: func(*marketsim.Market) float64 { return 0.01 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMarket(t, marketsim.Options{Region: "eu-west-1", Seed: 7, MissingOfferings: -1})
			for zone, price := range tc.pin {
				if err := m.SetSpotPrice("m5.large", zone, price, launchedAt.Add(-time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			sim := newSim(t, withMarket(m))
			id := launchOne(t, launchClient(t, sim), fleet(tc.capacityType, []types.FleetLaunchTemplateOverridesRequest{tc.override}))

			got, _ := sim.Instance(id)
			if want := tc.wantPrice(m); got.Zone != tc.wantZone || got.PricePerHour != want {
				t.Errorf("launched in %s at %v an hour, want %s at %v", got.Zone, got.PricePerHour, tc.wantZone, want)
			}
		})
	}
}

// CreateFleet refuses an override whose zone does not offer its type, as EC2 does, in errorSet
// and for that override alone: the others still launch, and an override naming no zone
// launches only where its type is offered.
func TestCreateFleetRefusesAZoneThatDoesNotOfferTheType(t *testing.T) {
	const refusal = "Your requested instance type (m5.large) is not supported in your requested Availability Zone (us-east-1c). " +
		"Please retry your request by not specifying an Availability Zone or choosing us-east-1a, us-east-1b."
	spot, onDemand := types.DefaultTargetCapacityTypeSpot, types.DefaultTargetCapacityTypeOnDemand
	tests := []struct {
		name         string
		capacityType types.DefaultTargetCapacityType
		overrides    []types.FleetLaunchTemplateOverridesRequest
		offered      []string // m5.large's zones
		wantType     string
		wantZone     string
		wantRefusal  string // errorMessage of the first override, if refused
	}{
		{name: "a zone without the type is refused and a dearer offered override launches", capacityType: onDemand,
			overrides: []types.FleetLaunchTemplateOverridesRequest{override("m5.large", inZone("us-east-1c")), override("m5.xlarge", inZone("us-east-1c"))},
			offered:   []string{"us-east-1a", "us-east-1b"}, wantType: "m5.xlarge", wantZone: "us-east-1c", wantRefusal: refusal},
		{name: "a subnet in a zone without the type is refused", capacityType: spot,
			overrides: []types.FleetLaunchTemplateOverridesRequest{override("m5.large", inSubnet("subnet-us-east-1c")), override("m5.xlarge", inSubnet("subnet-us-east-1c"))},
			offered:   []string{"us-east-1a", "us-east-1b"}, wantType: "m5.xlarge", wantZone: "us-east-1c", wantRefusal: refusal},
		{name: "an override naming no zone launches where the type is offered", capacityType: onDemand,
			overrides: []types.FleetLaunchTemplateOverridesRequest{override("m5.large")},
			offered:   []string{"us-east-1c"}, wantType: "m5.large", wantZone: "us-east-1c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMarket(t, marketsim.Options{MissingOfferings: -1})
			if err := m.Restrict("m5.large", tc.offered...); err != nil {
				t.Fatal(err)
			}
			client := launchClient(t, newSim(t, withMarket(m)))
			out, err := client.CreateFleet(context.Background(), fleet(tc.capacityType, tc.overrides))
			if err != nil {
				t.Fatalf("create fleet: %v", err)
			}
			var launched []string
			for _, inst := range out.Instances {
				launched = append(launched, string(inst.InstanceType)+" in "+aws.ToString(inst.AvailabilityZone))
			}
			if want := []string{tc.wantType + " in " + tc.wantZone}; !slices.Equal(launched, want) {
				t.Errorf("fleet launched %v, want %v", launched, want)
			}
			var refusals []string
			for _, e := range out.Errors {
				refusals = append(refusals, aws.ToString(e.ErrorCode)+": "+aws.ToString(e.ErrorMessage))
				if aws.ToString(e.ErrorCode) == ec2sim.CodeUnsupported &&
					(string(e.LaunchTemplateAndOverrides.Overrides.InstanceType) != "m5.large" || string(e.Lifecycle) != string(tc.capacityType)) {
					t.Errorf("refusal is for %s %s, want the %s m5.large override", e.Lifecycle, e.LaunchTemplateAndOverrides.Overrides.InstanceType, tc.capacityType)
				}
			}
			var want []string
			if tc.wantRefusal != "" {
				want = []string{ec2sim.CodeUnsupported + ": " + tc.wantRefusal}
			}
			if !slices.Equal(refusals, want) {
				t.Errorf("errorSet is %q, want %q", refusals, want)
			}
		})
	}
}

// marketReads call, by action name, the actions that read the region's market.
func marketReads() map[string]func(context.Context, *ec2.Client) error {
	return map[string]func(context.Context, *ec2.Client) error{
		"DescribeInstanceTypeOfferings": func(ctx context.Context, client *ec2.Client) error {
			_, err := client.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{})
			return err
		},
		"DescribeSpotPriceHistory": func(ctx context.Context, client *ec2.Client) error {
			_, err := client.DescribeSpotPriceHistory(ctx, &ec2.DescribeSpotPriceHistoryInput{})
			return err
		},
	}
}

// Without a market every type is offered in every zone, a subnet's outside Options.Zones too,
// as launches always were.
func TestWithoutAMarketASubnetOutsideTheZonesLaunches(t *testing.T) {
	extra := func(o *ec2sim.Options) {
		o.Subnets = []ec2sim.Subnet{{ID: "subnet-0d", Zone: "us-east-1d", ZoneID: "use1-az4"}}
	}
	client := launchClient(t, newSim(t, extra))
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeSpot, []types.FleetLaunchTemplateOverridesRequest{override("m5.large", inSubnet("subnet-0d"))}))
	if inst := describeOne(t, client, id); aws.ToString(inst.Placement.AvailabilityZone) != "us-east-1d" {
		t.Errorf("launched in %s, want the subnet's us-east-1d", aws.ToString(inst.Placement.AvailabilityZone))
	}
}
