package pricingsim

import (
	"maps"
	"slices"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// region is one region the endpoint prices.
type region struct {
	code        string
	location    string // the long name records carry and GetProducts filters on
	usagePrefix string // before BoxUsage in usage types
	prices      priceSource
}

// priceSource is a region's on-demand prices: a marketsim.Market or the embedded catalog.
type priceSource interface {
	Types() []string // priced types, sorted
	OnDemandPrice(instanceType string) (float64, bool)
}

// regionNames are what price records call a region: its location, and the prefix of its usage
// types (us-east-1 has none; eu-west-1 keeps the historical EU-). They cover
// catalog.Regions(), the regions a lab can price.
func regionNames(code string) (location, usagePrefix string, ok bool) {
	switch code {
	case "us-east-1":
		return "US East (N. Virginia)", "", true
	case "us-west-2":
		return "US West (Oregon)", "USW2-", true
	case "eu-west-1":
		return "EU (Ireland)", "EU-", true
	case "eu-central-1":
		return "EU (Frankfurt)", "EUC1-", true
	case "ap-southeast-1":
		return "Asia Pacific (Singapore)", "APS1-", true
	case "ap-northeast-1":
		return "Asia Pacific (Tokyo)", "APN1-", true
	}
	return "", "", false
}

// catalogPrices are a region's embedded prices, for a region the lab runs no market in.
type catalogPrices struct {
	names  []string
	prices map[string]float64
}

func newCatalogPrices(types []catalog.Type, code string) (catalogPrices, error) {
	prices, err := catalog.OnDemandPrices(types, code)
	if err != nil {
		return catalogPrices{}, err
	}
	return catalogPrices{names: slices.Sorted(maps.Keys(prices)), prices: prices}, nil
}

func (c catalogPrices) Types() []string { return c.names }

func (c catalogPrices) OnDemandPrice(instanceType string) (float64, bool) {
	p, ok := c.prices[instanceType]
	return p, ok
}
