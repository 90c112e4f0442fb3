package stack

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/iampolicy"
	"github.com/nodewright/nodewright/lab/marketsim"
	"github.com/nodewright/nodewright/lab/pricingsim"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// DefaultRegion is the region a lab simulates unless Options.Region names another.
const DefaultRegion = catalog.DefaultRegion

// ZonesOf are the availability zones a lab simulates in the region: its a, b and c.
func ZonesOf(region string) []string { return []string{region + "a", region + "b", region + "c"} }

// regionOf is the region the options ask for, refusing one the lab cannot simulate.
func regionOf(o Options) (string, error) {
	if o.Region == "" {
		return DefaultRegion, nil
	}
	return o.Region, CheckRegion(o.Region)
}

// CheckRegion refuses a region the lab cannot simulate: only regions with embedded prices
// (catalog.Regions) have a market.
func CheckRegion(region string) error {
	regions, err := catalog.Regions()
	if err != nil {
		return err
	}
	if !slices.Contains(regions, region) {
		return fmt.Errorf("region %q has no embedded prices, so the lab cannot simulate it: use one of %s",
			region, strings.Join(regions, ", "))
	}
	return nil
}

// startMarket builds the region's market and serves it as EC2 and the Price List API sell
// and price it. The EC2 simulator asks IAM, started later, about instance profiles.
func (s *Stack) startMarket(ctx context.Context, o Options, images []ec2sim.Image, policy *iampolicy.Policy) error {
	var err error
	s.Market, err = marketsim.New(marketsim.Options{Region: s.Region, Zones: s.Zones, Types: s.Types, Seed: o.MarketSeed})
	if err != nil {
		return fmt.Errorf("the %s market: %w", s.Region, err)
	}
	s.EC2 = ec2sim.New(ec2sim.Options{Types: s.Types, Zones: s.Zones, Market: s.Market, Images: images,
		BootDelay: o.BootDelay, ShutdownDelay: o.ShutdownDelay, Policy: policy,
		InstanceProfileExists: func(profile string) bool {
			_, ok := s.IAM.InstanceProfile(profile[strings.LastIndex(profile, "/")+1:]) // a name or an ARN
			return ok
		}})
	if err := s.EC2.SetChaos(o.EC2Chaos); err != nil {
		return err
	}
	if s.EC2URL, err = s.EC2.Serve(ctx, fmt.Sprintf("127.0.0.1:%d", o.EC2Port)); err != nil {
		return fmt.Errorf("start EC2 simulator: %w", err)
	}
	// The lab's region is priced from its market, every other embedded region from the catalog,
	// as one Pricing endpoint answers for every region.
	if s.Pricing, err = pricingsim.New(pricingsim.Options{Types: s.Types, Markets: []*marketsim.Market{s.Market}}); err != nil {
		return fmt.Errorf("pricing simulator: %w", err)
	}
	s.Pricing.SetReachable(!o.PricingUnreachable)
	if s.PricingURL, err = s.Pricing.Serve(ctx, fmt.Sprintf("127.0.0.1:%d", o.PricingPort)); err != nil {
		return fmt.Errorf("start pricing simulator: %w", err)
	}
	return nil
}
