package pricingsim_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
)

// recorded is the first PriceList element of a recorded GetProducts answer in testdata/.
func recorded(t *testing.T, file string) map[string]any {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ PriceList []string }
	if err := json.Unmarshal(body, &page); err != nil || len(page.PriceList) == 0 {
		t.Fatalf("%s: no PriceList strings (%v)", file, err)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(page.PriceList[0]), &r); err != nil {
		t.Fatalf("%s: PriceList element is not a JSON record: %v", file, err)
	}
	return r
}

// object is the JSON object at the path of keys, failing where there is none.
func object(t *testing.T, r map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, key := range path {
		next, ok := r[key].(map[string]any)
		if !ok {
			t.Fatalf("no object at %v", path)
		}
		r = next
	}
	return r
}

// only is the one value of a one-entry object, with its key.
func only(t *testing.T, o map[string]any) (string, map[string]any) {
	t.Helper()
	if len(o) != 1 {
		t.Fatalf("%d entries in %v, want one", len(o), slices.Sorted(maps.Keys(o)))
	}
	for k, v := range o {
		return k, v.(map[string]any)
	}
	return "", nil
}

// The simulator's m5.large record in us-east-1 reads as AWS's: the same keys at every level of
// the product and its OnDemand term, the same values where the catalog agrees, and no
// attribute name AWS's records lack.
func TestARecordReadsAsTheRecordedOne(t *testing.T) {
	_, client := serve(t)
	real2021 := recorded(t, "pricing_GetProducts_m5large_useast1_2021.json")
	real2024 := recorded(t, "pricing_GetProducts_c5ad2xlarge_afsouth1_2024_verbatimstring_page1.json")
	out, err := client.GetProducts(t.Context(), &pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"),
		Filters: append(karpenterFilters("us-east-1", termMatch("tenancy", "Shared")), termMatch("instanceType", "m5.large"))})
	if err != nil || len(out.PriceList) != 1 {
		t.Fatalf("GetProducts m5.large: %v, %d records; want one", err, len(out.PriceList))
	}
	var ours map[string]any
	if err := json.Unmarshal([]byte(out.PriceList[0]), &ours); err != nil {
		t.Fatalf("PriceList element is not a JSON record: %v", err)
	}

	if got, want := slices.Sorted(maps.Keys(ours)), slices.Sorted(maps.Keys(real2021)); !slices.Equal(got, want) {
		t.Errorf("record keys %v, want AWS's %v", got, want)
	}
	if got, want := slices.Sorted(maps.Keys(object(t, ours, "product"))), slices.Sorted(maps.Keys(object(t, real2021, "product"))); !slices.Equal(got, want) {
		t.Errorf("product keys %v, want AWS's %v", got, want)
	}
	attributes, realAttributes := object(t, ours, "product", "attributes"), object(t, real2021, "product", "attributes")
	for _, name := range []string{"instanceType", "location", "locationType", "operatingSystem", "tenancy", "preInstalledSw", "capacitystatus",
		"licenseModel", "usagetype", "operation", "vcpu", "memory", "instanceFamily", "currentGeneration", "servicecode", "servicename",
		"processorArchitecture", "storage", "normalizationSizeFactor", "enhancedNetworkingSupported"} {
		if attributes[name] != realAttributes[name] {
			t.Errorf("attribute %s is %q, AWS's %q", name, attributes[name], realAttributes[name])
		}
	}
	known := maps.Clone(realAttributes)
	maps.Copy(known, object(t, real2024, "product", "attributes"))
	for name := range attributes {
		if _, ok := known[name]; !ok {
			t.Errorf("attribute %s is not one AWS's records have", name)
		}
	}

	termKey, term := only(t, object(t, ours, "terms", "OnDemand"))
	_, realTerm := only(t, object(t, real2021, "terms", "OnDemand"))
	if got, want := slices.Sorted(maps.Keys(term)), slices.Sorted(maps.Keys(realTerm)); !slices.Equal(got, want) {
		t.Errorf("term keys %v, want AWS's %v", got, want)
	}
	rateKey, rate := only(t, object(t, term, "priceDimensions"))
	_, realRate := only(t, object(t, realTerm, "priceDimensions"))
	if got, want := slices.Sorted(maps.Keys(rate)), slices.Sorted(maps.Keys(realRate)); !slices.Equal(got, want) {
		t.Errorf("price dimension keys %v, want AWS's %v", got, want)
	}
	sku, _ := object(t, ours, "product")["sku"].(string)
	if termKey != sku+".JRTCKXETXF" || rateKey != sku+".JRTCKXETXF.6YS6EN2CT7" {
		t.Errorf("term %s and rate %s, want %s.JRTCKXETXF and its .6YS6EN2CT7 rate", termKey, rateKey, sku)
	}
	for _, key := range []string{"unit", "description", "pricePerUnit", "beginRange", "endRange"} {
		if got, want := toJSON(t, rate[key]), toJSON(t, realRate[key]); got != want {
			t.Errorf("price dimension %s is %s, AWS's %s", key, got, want)
		}
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
