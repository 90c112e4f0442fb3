package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

//go:embed regions-on-demand-prices.json
var rawRegionPrices []byte

// DefaultRegion is the region whose prices the catalog's records carry.
const DefaultRegion = "us-east-1"

// Market says which zones sell an instance type and at what price. The embedded data is one
// market (Fallback); the worker's live EC2 and Pricing API figures are another.
type Market interface {
	// Zones are the zones that offer the type; none means it is not sold in the region.
	Zones(instanceType string) []string
	// OnDemandPrice is the type's on-demand price per hour, in dollars (yuan in China); ok is
	// false when unknown.
	OnDemandPrice(instanceType string) (price float64, ok bool)
	// SpotPrice is the type's spot price in the zone per hour, in the same currency; ok is false
	// when unknown.
	SpotPrice(instanceType, zone string) (price float64, ok bool)
}

// Regions are the regions with embedded on-demand prices, sorted.
func Regions() ([]string, error) {
	prices, err := regionPrices()
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(prices)), nil
}

// OnDemandPrices are the region's embedded on-demand prices (USD per hour, Linux, shared
// tenancy) of the given types: for us-east-1 the records' own list (2026-07-20), elsewhere
// the 2025-04-04 pricing-page snapshot (see README.md). A type without a price there is left
// out.
func OnDemandPrices(types []Type, region string) (map[string]float64, error) {
	out := make(map[string]float64, len(types))
	if region == DefaultRegion {
		for _, t := range types {
			if t.OnDemandPrice > 0 {
				out[t.Name] = t.OnDemandPrice
			}
		}
		return out, nil
	}
	prices, err := regionPrices()
	if err != nil {
		return nil, err
	}
	regional, ok := prices[region]
	if !ok {
		return nil, fmt.Errorf("region %q has no embedded prices; the embedded ones are %s: run in one of them or let the worker reach the AWS Pricing API",
			region, strings.Join(slices.Sorted(maps.Keys(prices)), ", "))
	}
	for _, t := range types {
		if p := regional[t.Name]; p > 0 {
			out[t.Name] = p
		}
	}
	return out, nil
}

func regionPrices() (map[string]map[string]float64, error) {
	var prices map[string]map[string]float64
	if err := json.Unmarshal(rawRegionPrices, &prices); err != nil {
		return nil, fmt.Errorf("parse embedded regional prices: %w", err)
	}
	return prices, nil
}

// Fallback is the market the embedded data describes: every priced type sold in every zone
// given, on-demand at the embedded price and, where the type is sold as spot, at that price
// less its Spot Advisor saving (the same in every zone).
type Fallback struct {
	zones    []string
	onDemand map[string]float64
	spot     map[string]float64
}

var _ Market = (*Fallback)(nil)

// NewFallback builds the embedded market of region over zones.
func NewFallback(types []Type, region string, zones []string) (*Fallback, error) {
	onDemand, err := OnDemandPrices(types, region)
	if err != nil {
		return nil, err
	}
	return &Fallback{zones: slices.Compact(slices.Sorted(slices.Values(zones))), onDemand: onDemand, spot: ModelledSpotPrices(types, onDemand)}, nil
}

// ModelledSpotPrices are the spot prices the catalog models for the types sold as spot that
// have an on-demand price: on-demand less their Spot Advisor saving, the same in every zone.
func ModelledSpotPrices(types []Type, onDemand map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, t := range types {
		if p, ok := onDemand[t.Name]; ok && t.SupportsSpot() {
			out[t.Name] = SpotPriceFrom(p, t.SpotSavingsPct)
		}
	}
	return out
}

// Zones returns every zone for a priced type.
func (f *Fallback) Zones(instanceType string) []string {
	if _, ok := f.onDemand[instanceType]; !ok {
		return nil
	}
	return f.zones
}

// OnDemandPrice returns the embedded price.
func (f *Fallback) OnDemandPrice(instanceType string) (float64, bool) {
	p, ok := f.onDemand[instanceType]
	return p, ok
}

// SpotPrice returns the modelled spot price, the same in every zone.
func (f *Fallback) SpotPrice(instanceType, _ string) (float64, bool) {
	p, ok := f.spot[instanceType]
	return p, ok
}

// SpotPriceFrom models a spot price as on-demand less the Spot Advisor saving, or less the
// catalog's median saving where the type has none.
func SpotPriceFrom(onDemand float64, savingsPct *float64) float64 {
	return onDemand * (1 - SpotSavingsPct(savingsPct)/100)
}

// SpotSavingsPct is the Spot Advisor saving, or the catalog's median where there is none.
func SpotSavingsPct(savingsPct *float64) float64 {
	if savingsPct != nil {
		return *savingsPct
	}
	return medianSpotSavingsPct
}
