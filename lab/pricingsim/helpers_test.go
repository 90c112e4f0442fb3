package pricingsim_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/aws/aws-sdk-go-v2/service/pricing/types"
	"github.com/aws/smithy-go"

	"github.com/nodewright/nodewright/lab/localhttp"
	"github.com/nodewright/nodewright/lab/marketsim"
	"github.com/nodewright/nodewright/lab/pricingsim"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// loadCatalog is the embedded catalog the lab runs on.
func loadCatalog(t *testing.T) []catalog.Type {
	t.Helper()
	types, err := catalog.Load()
	if err != nil {
		t.Fatalf("load the catalog: %v", err)
	}
	return types
}

// newMarket is a market of the region, as the lab runs one.
func newMarket(t *testing.T, region string) *marketsim.Market {
	t.Helper()
	m, err := marketsim.New(marketsim.Options{Region: region, Types: loadCatalog(t), Seed: 7})
	if err != nil {
		t.Fatalf("build the %s market: %v", region, err)
	}
	return m
}

// serve builds a sim over the catalog and the markets, serves it on loopback until the test
// ends, and returns it with the real SDK client aimed at it.
func serve(t *testing.T, markets ...*marketsim.Market) (*pricingsim.Sim, *pricing.Client) {
	t.Helper()
	sim, err := pricingsim.New(pricingsim.Options{Types: loadCatalog(t), Markets: markets})
	if err != nil {
		t.Fatalf("build the pricing sim: %v", err)
	}
	url, err := sim.Serve(t.Context(), "")
	if err != nil {
		t.Fatalf("serve the pricing sim: %v", err)
	}
	return sim, pricing.NewFromConfig(localhttp.SDKConfig("us-east-1", url))
}

// termMatch is a TERM_MATCH filter, the kind Karpenter sends.
func termMatch(field, value string) types.Filter {
	return types.Filter{Field: aws.String(field), Type: types.FilterTypeTermMatch, Value: aws.String(value)}
}

// karpenterFilters are the filters Karpenter's on-demand query sends for a region
// (pkg/providers/pricing/pricing.go), shared instances first.
func karpenterFilters(region string, extra ...types.Filter) []types.Filter {
	return append([]types.Filter{
		termMatch("regionCode", region), termMatch("serviceCode", "AmazonEC2"), termMatch("preInstalledSw", "NA"),
		termMatch("operatingSystem", "Linux"), termMatch("capacitystatus", "Used"), termMatch("marketoption", "OnDemand"),
	}, extra...)
}

// record is the part of a PriceList element the tests read, in the shape Karpenter decodes.
type record struct {
	Product struct {
		ProductFamily string            `json:"productFamily"`
		Attributes    map[string]string `json:"attributes"`
		SKU           string            `json:"sku"`
	} `json:"product"`
	ServiceCode string `json:"serviceCode"`
	Terms       struct {
		OnDemand map[string]struct {
			PriceDimensions map[string]struct {
				Unit         string            `json:"unit"`
				PricePerUnit map[string]string `json:"pricePerUnit"`
			} `json:"priceDimensions"`
			OfferTermCode string `json:"offerTermCode"`
		} `json:"OnDemand"`
	} `json:"terms"`
}

// price is the record's one USD hourly price, as Karpenter reads it.
func (r record) price(t *testing.T) float64 {
	t.Helper()
	var prices []float64
	for _, term := range r.Terms.OnDemand {
		for _, d := range term.PriceDimensions {
			p, err := strconv.ParseFloat(d.PricePerUnit["USD"], 64)
			if err != nil {
				t.Fatalf("%s: price %q does not parse: %v", r.Product.Attributes["instanceType"], d.PricePerUnit["USD"], err)
			}
			prices = append(prices, p)
		}
	}
	if len(prices) != 1 {
		t.Fatalf("%s has %d on-demand prices, want one", r.Product.Attributes["instanceType"], len(prices))
	}
	return prices[0]
}

// getAll reads every page through the SDK's paginator and decodes each record, failing on an
// error; pages counts the pages read.
func getAll(t *testing.T, client *pricing.Client, maxResults int32, filters ...types.Filter) (records []record, pages int) {
	t.Helper()
	paginator := pricing.NewGetProductsPaginator(client, &pricing.GetProductsInput{
		ServiceCode: aws.String("AmazonEC2"), Filters: filters, MaxResults: aws.Int32(maxResults),
	})
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(t.Context())
		if err != nil {
			t.Fatalf("GetProducts page %d: %v", pages+1, err)
		}
		pages++
		if aws.ToString(page.FormatVersion) != "aws_v1" {
			t.Fatalf("page %d has FormatVersion %q, want aws_v1", pages, aws.ToString(page.FormatVersion))
		}
		for _, element := range page.PriceList {
			var r record
			if err := json.Unmarshal([]byte(element), &r); err != nil {
				t.Fatalf("PriceList element %q is not a JSON record: %v", element, err)
			}
			records = append(records, r)
		}
	}
	return records, pages
}

// errorCode is the code the SDK surfaced, failing if err is not an API error.
func errorCode(t *testing.T, err error) (code, message string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want a Pricing API error, got %v", err)
	}
	return apiErr.ErrorCode(), apiErr.ErrorMessage()
}
