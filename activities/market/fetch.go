package market

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	pricingtypes "github.com/aws/aws-sdk-go-v2/service/pricing/types"
)

// maxPricePerHour bounds a believable hourly price: the largest instances cost a few hundred
// dollars an hour (a few thousand yuan). A larger, negative, zero or non-finite figure is a bad
// record and prices nothing.
const maxPricePerHour = 10000

// ValidPrice reports whether an hourly price could be what an instance costs: false for NaN.
func ValidPrice(p float64) bool { return p > 0 && p <= maxPricePerHour }

// maxPages bounds the pages one read follows, beside the SDK's stop on a repeated token: an
// API that keeps answering with new tokens must not hold the read until its timeout.
const maxPages = 500

// spotProducts are the product descriptions whose spot prices are Linux's: EC2-Classic's and
// the VPC's, which AWS still lists apart in some regions.
var spotProducts = []string{"Linux/UNIX", "Linux/UNIX (Amazon VPC)"}

// fetchInstanceTypes lists every instance type the region has, all pages, with what EC2 says
// of each: a type the catalog lacks is derived from it.
func fetchInstanceTypes(ctx context.Context, api EC2API) (map[string]ec2types.InstanceTypeInfo, error) {
	out := map[string]ec2types.InstanceTypeInfo{}
	pages := ec2.NewDescribeInstanceTypesPaginator(api, &ec2.DescribeInstanceTypesInput{},
		func(o *ec2.DescribeInstanceTypesPaginatorOptions) { o.StopOnDuplicateToken = true })
	for n := 0; pages.HasMorePages() && n < maxPages; n++ {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instance types: %w", err)
		}
		for _, t := range page.InstanceTypes {
			out[string(t.InstanceType)] = t
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("describe instance types: EC2 listed none")
	}
	return out, nil
}

// fetchOfferings lists the zones that offer each instance type, all pages.
func fetchOfferings(ctx context.Context, api EC2API) (map[string][]string, error) {
	out := map[string][]string{}
	pages := ec2.NewDescribeInstanceTypeOfferingsPaginator(api, &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: ec2types.LocationTypeAvailabilityZone,
	}, func(o *ec2.DescribeInstanceTypeOfferingsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for n := 0; pages.HasMorePages() && n < maxPages; n++ {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instance type offerings: %w", err)
		}
		for _, o := range page.InstanceTypeOfferings {
			name, zone := string(o.InstanceType), aws.ToString(o.Location)
			if name != "" && zone != "" {
				out[name] = append(out[name], zone)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("describe instance type offerings: EC2 listed none")
	}
	return out, nil
}

// fetchSpotPrices reads the Linux spot price in effect now of every type in every zone: the
// newest record of each (type, zone), as the history may hold several.
func fetchSpotPrices(ctx context.Context, api EC2API, now time.Time) (map[offeringKey]float64, error) {
	out := map[offeringKey]float64{}
	stamped := map[offeringKey]time.Time{}
	pages := ec2.NewDescribeSpotPriceHistoryPaginator(api, &ec2.DescribeSpotPriceHistoryInput{
		ProductDescriptions: spotProducts,
		StartTime:           aws.Time(now),
	}, func(o *ec2.DescribeSpotPriceHistoryPaginatorOptions) { o.StopOnDuplicateToken = true })
	for n := 0; pages.HasMorePages() && n < maxPages; n++ {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe spot price history: %w", err)
		}
		newestSpotPrices(page.SpotPriceHistory, out, stamped)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("describe spot price history: EC2 listed no Linux spot price")
	}
	return out, nil
}

// newestSpotPrices keeps in out each (type, zone)'s newest price, whatever order the records
// come in; stamped holds the time of each price kept.
func newestSpotPrices(records []ec2types.SpotPrice, out map[offeringKey]float64, stamped map[offeringKey]time.Time) {
	for _, p := range records {
		key := offeringKey{typ: string(p.InstanceType), zone: aws.ToString(p.AvailabilityZone)}
		price, err := strconv.ParseFloat(aws.ToString(p.SpotPrice), 64)
		if err != nil || !ValidPrice(price) || key.typ == "" || key.zone == "" {
			continue // a record that does not read prices nothing
		}
		at := aws.ToTime(p.Timestamp)
		if seen, ok := stamped[key]; ok && !at.After(seen) {
			continue
		}
		out[key], stamped[key] = price, at
	}
}

// fetchOnDemandPrices reads the region's Linux on-demand prices from the Pricing API: shared
// tenancy, and bare metal (which AWS files as dedicated), as Karpenter asks for them.
func fetchOnDemandPrices(ctx context.Context, api PricingAPI, region string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, extra := range [][2]string{{"Shared", "Compute Instance"}, {"Dedicated", "Compute Instance (bare metal)"}} {
		if err := getProducts(ctx, api, region, out, match("tenancy", extra[0]), match("productFamily", extra[1])); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pricing GetProducts: no Linux on-demand price for region %s", region)
	}
	return out, nil
}

func getProducts(ctx context.Context, api PricingAPI, region string, into map[string]float64, extra ...pricingtypes.Filter) error {
	filters := append([]pricingtypes.Filter{
		match("regionCode", region),
		match("serviceCode", "AmazonEC2"),
		match("preInstalledSw", "NA"),
		match("operatingSystem", "Linux"),
		match("capacitystatus", "Used"),
		match("marketoption", "OnDemand"),
	}, extra...)
	pages := pricing.NewGetProductsPaginator(api, &pricing.GetProductsInput{
		ServiceCode: aws.String("AmazonEC2"), Filters: filters, FormatVersion: aws.String("aws_v1"),
	}, func(o *pricing.GetProductsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for n := 0; pages.HasMorePages() && n < maxPages; n++ {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("pricing GetProducts for %s: %w", region, err)
		}
		for _, raw := range page.PriceList {
			name, price, err := parseProduct(raw, currencyOf(region))
			if err != nil || !ValidPrice(price) {
				continue // one product that does not read costs nothing else
			}
			into[name] = price
		}
	}
	return nil
}

func match(field, value string) pricingtypes.Filter {
	return pricingtypes.Filter{Field: aws.String(field), Type: pricingtypes.FilterTypeTermMatch, Value: aws.String(value)}
}

// priceItem is the part of one Price List product (a JSON document in a string) read here.
type priceItem struct {
	Product struct {
		Attributes struct {
			InstanceType string `json:"instanceType"`
		} `json:"attributes"`
	} `json:"product"`
	Terms struct {
		OnDemand map[string]struct {
			PriceDimensions map[string]struct {
				PricePerUnit map[string]string `json:"pricePerUnit"`
			} `json:"priceDimensions"`
		} `json:"OnDemand"`
	} `json:"terms"`
}

// currencyOf is the currency the Price List quotes the region in: yuan in China, else dollars.
func currencyOf(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "CNY"
	}
	return "USD"
}

// parseProduct reads a product's instance type and its hourly on-demand price in currency.
func parseProduct(raw, currency string) (string, float64, error) {
	var item priceItem
	if err := json.Unmarshal([]byte(raw), &item); err != nil {
		return "", 0, fmt.Errorf("price list product: %w", err)
	}
	name := strings.TrimSpace(item.Product.Attributes.InstanceType)
	if name == "" {
		return "", 0, fmt.Errorf("price list product names no instanceType")
	}
	for _, term := range item.Terms.OnDemand {
		for _, dim := range term.PriceDimensions {
			text, ok := dim.PricePerUnit[currency]
			if !ok {
				continue
			}
			price, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return "", 0, fmt.Errorf("price list product %s: %s price %q: %w", name, currency, text, err)
			}
			if price > 0 {
				return name, price, nil
			}
		}
	}
	return name, 0, nil
}
