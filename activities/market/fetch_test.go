package market

import (
	"context"
	"math"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"encoding/json"
	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"maps"
	"slices"
	"testing"
	"time"
)

func TestFetchInstanceTypesReadsEveryPage(t *testing.T) {
	f := newFixtureAWS(t)
	ec2c, _ := f.clients()
	got, err := fetchInstanceTypes(context.Background(), ec2c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c6g.large", "g5.xlarge", "m5.large", "m7i.large", "t3.micro"}
	if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, want) {
		t.Errorf("types = %v, want %v from both pages", names, want)
	}
	if n := len(f.requestsOf("DescribeInstanceTypes")); n != 2 {
		t.Errorf("%d requests, want one per page", n)
	}
}

func TestFetchOfferingsByZone(t *testing.T) {
	f := newFixtureAWS(t)
	ec2c, _ := f.clients()
	got, err := fetchOfferings(context.Background(), ec2c)
	if err != nil {
		t.Fatal(err)
	}
	if zones := got["p5.48xlarge"]; !slices.Contains(zones, "us-east-1e") {
		t.Errorf("p5.48xlarge zones = %v, want us-east-1e among them (second page)", zones)
	}
	if zones := got["m5.large"]; len(zones) < 5 {
		t.Errorf("m5.large zones = %v, want the six of us-east-1", zones)
	}
	for _, r := range f.requestsOf("DescribeInstanceTypeOfferings") {
		if lt := r.form.Get("LocationType"); lt != "availability-zone" {
			t.Errorf("LocationType = %q, want availability-zone", lt)
		}
	}
}

func TestFetchSpotPricesKeepsTheNewestPerZone(t *testing.T) {
	f := newFixtureAWS(t)
	ec2c, _ := f.clients()
	now := time.Date(2021, 2, 9, 2, 0, 0, 0, time.UTC)
	got, err := fetchSpotPrices(context.Background(), ec2c, now)
	if err != nil {
		t.Fatal(err)
	}
	// The newest records per zone, on the second page (2021-02-08/09).
	want := map[offeringKey]float64{
		{"m5.large", "us-east-1f"}: 0.0437,
		{"m5.large", "us-east-1a"}: 0.0423,
		{"m5.large", "us-east-1b"}: 0.0389,
		{"m5.large", "us-east-1c"}: 0.0381,
		{"m5.large", "us-east-1d"}: 0.0431,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%v = %v, want the newest %v", k, got[k], w)
		}
	}
	reqs := f.requestsOf("DescribeSpotPriceHistory")
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want one per page", len(reqs))
	}
	form := reqs[0].form
	if form.Get("ProductDescription.1") != "Linux/UNIX" || form.Get("ProductDescription.2") != "Linux/UNIX (Amazon VPC)" {
		t.Errorf("product descriptions = %q, %q; want both Linux forms", form.Get("ProductDescription.1"), form.Get("ProductDescription.2"))
	}
	if st := form.Get("StartTime"); st != "2021-02-09T02:00:00Z" {
		t.Errorf("StartTime = %q, want now (the price in effect)", st)
	}
}

func TestNewestSpotPricesWhateverTheOrder(t *testing.T) {
	at := func(h int) *time.Time { v := time.Date(2026, 12, 3, h, 0, 0, 0, time.UTC); return &v }
	rec := func(zone, price string, h int) ec2types.SpotPrice {
		return ec2types.SpotPrice{InstanceType: "m5.large", AvailabilityZone: aws.String(zone), SpotPrice: aws.String(price), Timestamp: at(h)}
	}
	tests := []struct {
		name    string
		records []ec2types.SpotPrice
		want    map[offeringKey]float64
	}{
		{"newest first", []ec2types.SpotPrice{rec("a", "0.03", 9), rec("a", "0.02", 8)}, map[offeringKey]float64{{"m5.large", "a"}: 0.03}},
		{"oldest first", []ec2types.SpotPrice{rec("a", "0.02", 8), rec("a", "0.03", 9)}, map[offeringKey]float64{{"m5.large", "a"}: 0.03}},
		{"zones apart", []ec2types.SpotPrice{rec("a", "0.02", 8), rec("b", "0.05", 1)}, map[offeringKey]float64{{"m5.large", "a"}: 0.02, {"m5.large", "b"}: 0.05}},
		{"prices no instance costs skipped", []ec2types.SpotPrice{rec("a", "NaN", 12), rec("a", "Inf", 11), rec("a", "1e308", 10), rec("a", "-1", 9), rec("a", "0.02", 8)},
			map[offeringKey]float64{{"m5.large", "a"}: 0.02}},
		{"unreadable and unpriced records skipped", []ec2types.SpotPrice{rec("a", "x", 9), rec("a", "0", 10), rec("a", "0.02", 8), {InstanceType: "m5.large", SpotPrice: aws.String("0.1")}},
			map[offeringKey]float64{{"m5.large", "a"}: 0.02}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[offeringKey]float64{}
			newestSpotPrices(tc.records, got, map[offeringKey]time.Time{})
			if !maps.Equal(got, tc.want) {
				t.Errorf("= %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFetchOnDemandPricesAsksForLinuxInTheRegion(t *testing.T) {
	f := newFixtureAWS(t)
	_, pc := f.clients()
	got, err := fetchOnDemandPrices(context.Background(), pc, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if got["m5.large"] != 0.096 || got["c5ad.2xlarge"] != 0.468 {
		t.Errorf("prices = %v, want m5.large 0.096 and c5ad.2xlarge 0.468 from both pages", got)
	}
	reqs := f.requestsOf("GetProducts")
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want two pages each of shared and bare-metal tenancy", len(reqs))
	}
	var in struct {
		ServiceCode string
		Filters     []struct{ Field, Type, Value string }
	}
	if err := json.Unmarshal([]byte(reqs[0].form.Get("body")), &in); err != nil {
		t.Fatal(err)
	}
	filters := map[string]string{}
	for _, fl := range in.Filters {
		if fl.Type != "TERM_MATCH" {
			t.Errorf("filter %s is %s, want TERM_MATCH", fl.Field, fl.Type)
		}
		filters[fl.Field] = fl.Value
	}
	want := map[string]string{"regionCode": "us-east-1", "operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
		"capacitystatus": "Used", "marketoption": "OnDemand", "productFamily": "Compute Instance", "serviceCode": "AmazonEC2"}
	if in.ServiceCode != "AmazonEC2" || !maps.Equal(filters, want) {
		t.Errorf("service %q filters %v, want AmazonEC2 with %v", in.ServiceCode, filters, want)
	}
}

func TestValidPrice(t *testing.T) {
	for p, want := range map[float64]bool{0.096: true, 407.68: true, 0: false, -1: false, math.NaN(): false, math.Inf(1): false, 1e308: false} {
		if got := ValidPrice(p); got != want {
			t.Errorf("ValidPrice(%v) = %v, want %v", p, got, want)
		}
	}
}

// loopingEC2 answers every DescribeInstanceTypes page with the same next token.
type loopingEC2 struct {
	EC2API
	calls int
}

func (l *loopingEC2) DescribeInstanceTypes(context.Context, *ec2.DescribeInstanceTypesInput, ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error) {
	l.calls++
	return &ec2.DescribeInstanceTypesOutput{
		InstanceTypes: []ec2types.InstanceTypeInfo{{InstanceType: "m5.large"}}, NextToken: aws.String("again"),
	}, nil
}

func TestARepeatedNextTokenEndsTheRead(t *testing.T) {
	api := &loopingEC2{}
	if _, err := fetchInstanceTypes(context.Background(), api); err != nil {
		t.Fatal(err)
	}
	if api.calls > 3 {
		t.Errorf("%d calls for a token that repeats, want the read to stop at the repeat", api.calls)
	}
}

func TestParseProduct(t *testing.T) {
	tests := []struct {
		name, raw, currency string
		typ                 string
		price               float64
		wantErr             bool
	}{
		{name: "dollars", raw: product("m5.large", "USD", "0.0960000000"), currency: "USD", typ: "m5.large", price: 0.096},
		{name: "yuan in China", raw: product("m5.large", "CNY", "0.6460000000"), currency: "CNY", typ: "m5.large", price: 0.646},
		{name: "another currency only prices nothing", raw: product("m5.large", "CNY", "0.6"), currency: "USD", typ: "m5.large"},
		{name: "a price that does not read", raw: product("m5.large", "USD", "lots"), currency: "USD", wantErr: true},
		{name: "no instance type", raw: product("", "USD", "0.1"), currency: "USD", wantErr: true},
		{name: "not JSON", raw: "{", currency: "USD", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, price, err := parseProduct(tc.raw, tc.currency)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parsed %s at %v, want an error", typ, price)
				}
				return
			}
			if err != nil || typ != tc.typ || price != tc.price {
				t.Errorf("= %s, %v, %v; want %s, %v", typ, price, err, tc.typ, tc.price)
			}
		})
	}
}

// product is one Price List product as AWS encodes it, cut to the fields read.
func product(typ, currency, price string) string {
	b, _ := json.Marshal(map[string]any{
		"product": map[string]any{"attributes": map[string]string{"instanceType": typ}},
		"terms": map[string]any{"OnDemand": map[string]any{"SKU.TERM": map[string]any{
			"priceDimensions": map[string]any{"SKU.TERM.DIM": map[string]any{"unit": "Hrs", "pricePerUnit": map[string]string{currency: price}}},
		}}},
	})
	return string(b)
}
