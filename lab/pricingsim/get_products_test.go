package pricingsim_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing/types"

	"github.com/nodewright/nodewright/lab/marketsim"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

func TestFiltersSelectTheProductsThatMatchEveryOne(t *testing.T) {
	_, client := serve(t)
	shared := []types.Filter{termMatch("tenancy", "Shared"), termMatch("productFamily", "Compute Instance")}
	tests := []struct {
		name    string
		filters []types.Filter
		// want are the (region, instance type, operating system, capacity status) of every
		// record, in any order.
		want [][4]string
	}{
		{"Karpenter's query narrowed to one type", append(karpenterFilters("us-east-1", shared...), termMatch("instanceType", "m5.large")),
			[][4]string{{"us-east-1", "m5.large", "Linux", "Used"}}},
		{"the region by its long name", []types.Filter{termMatch("location", "EU (Ireland)"), termMatch("instanceType", "m5.large"),
			termMatch("operatingSystem", "Linux"), termMatch("capacitystatus", "Used"), termMatch("tenancy", "Shared")},
			[][4]string{{"eu-west-1", "m5.large", "Linux", "Used"}}},
		{"the usage type, which the operation tells apart by system", []types.Filter{termMatch("usagetype", "EU-BoxUsage:m5.large"),
			termMatch("tenancy", "Shared")},
			[][4]string{{"eu-west-1", "m5.large", "Linux", "Used"}, {"eu-west-1", "m5.large", "Windows", "Used"}}},
		{"every operating system when none is asked for", []types.Filter{termMatch("regionCode", "us-west-2"),
			termMatch("instanceType", "c5.large"), termMatch("capacitystatus", "Used")},
			[][4]string{{"us-west-2", "c5.large", "Linux", "Used"}, {"us-west-2", "c5.large", "Windows", "Used"}}},
		{"capacity reservations when the status is not asked for", []types.Filter{termMatch("regionCode", "ap-northeast-1"),
			termMatch("instanceType", "c6g.large"), termMatch("operatingSystem", "Linux")},
			[][4]string{{"ap-northeast-1", "c6g.large", "Linux", "Used"}, {"ap-northeast-1", "c6g.large", "Linux", "UnusedCapacityReservation"},
				{"ap-northeast-1", "c6g.large", "Linux", "AllocatedCapacityReservation"}}},
		{"every region when none is asked for", append(karpenterFilters("", shared...)[1:], termMatch("instanceType", "m5.xlarge")),
			[][4]string{{"ap-northeast-1", "m5.xlarge", "Linux", "Used"}, {"ap-southeast-1", "m5.xlarge", "Linux", "Used"},
				{"eu-central-1", "m5.xlarge", "Linux", "Used"}, {"eu-west-1", "m5.xlarge", "Linux", "Used"},
				{"us-east-1", "m5.xlarge", "Linux", "Used"}, {"us-west-2", "m5.xlarge", "Linux", "Used"}}},
		{"ANY_OF a list", append(karpenterFilters("eu-central-1", shared...),
			types.Filter{Field: aws.String("instanceType"), Type: types.FilterTypeAnyOf, Value: aws.String("m5.large,c5.large")}),
			[][4]string{{"eu-central-1", "c5.large", "Linux", "Used"}, {"eu-central-1", "m5.large", "Linux", "Used"}}},
		{"a field no product has", []types.Filter{termMatch("regionCode", "us-east-1"), termMatch("flavour", "vanilla")}, nil},
		{"NONE_OF on a field no product has", []types.Filter{termMatch("regionCode", "us-east-1"),
			{Field: aws.String("flavour"), Type: types.FilterTypeNoneOf, Value: aws.String("vanilla")}}, nil},
		{"a region nobody prices", karpenterFilters("mars-north-1", shared...), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			records, _ := getAll(t, client, 100, tc.filters...)
			var got [][4]string
			for _, r := range records {
				a := r.Product.Attributes
				got = append(got, [4]string{a["regionCode"], a["instanceType"], a["operatingSystem"], a["capacitystatus"]})
			}
			slices.SortFunc(got, compareKeys)
			slices.SortFunc(tc.want, compareKeys)
			if !slices.Equal(got, tc.want) {
				t.Errorf("records %v, want %v", got, tc.want)
			}
		})
	}
}

func compareKeys(a, b [4]string) int { return slices.Compare(a[:], b[:]) }

// Karpenter asks for shared instances and bare metal apart, and fails its update when either
// answer is empty.
func TestKarpenterFindsSharedAndBareMetalPrices(t *testing.T) {
	_, client := serve(t)
	tests := []struct {
		name    string
		extra   []types.Filter
		isMetal bool
	}{
		{"shared instances", []types.Filter{termMatch("tenancy", "Shared"), termMatch("productFamily", "Compute Instance")}, false},
		{"bare metal", []types.Filter{termMatch("tenancy", "Dedicated"), termMatch("productFamily", "Compute Instance (bare metal)")}, true},
	}
	byName := catalog.Index(loadCatalog(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			records, pages := getAll(t, client, 100, karpenterFilters("us-east-1", tc.extra...)...)
			if len(records) == 0 {
				t.Fatal("no prices: Karpenter would fail with \"no on-demand pricing found\"")
			}
			if pages < 2 && !tc.isMetal {
				t.Errorf("%d records came in %d page, want pages of 100", len(records), pages)
			}
			for _, r := range records {
				name := r.Product.Attributes["instanceType"]
				if byName[name].BareMetal != tc.isMetal {
					t.Fatalf("%s is in the %s answer", name, tc.name)
				}
				if got, want := r.price(t), byName[name].OnDemandPrice; got != want {
					t.Fatalf("%s costs %v, want the catalog's us-east-1 price %v", name, got, want)
				}
			}
		})
	}
}

func TestPricesAreTheMarketsOrElseTheCatalogs(t *testing.T) {
	// A market of a few types shows the region is priced from it, not from the catalog.
	var few []catalog.Type
	for _, typ := range loadCatalog(t) {
		if typ.Name == "m5.large" || typ.Name == "c6g.xlarge" || typ.Name == "r5.2xlarge" {
			few = append(few, typ)
		}
	}
	market, err := marketsim.New(marketsim.Options{Region: "eu-west-1", Types: few, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	_, client := serve(t, market)
	shared := []types.Filter{termMatch("tenancy", "Shared"), termMatch("productFamily", "Compute Instance")}

	records, _ := getAll(t, client, 100, karpenterFilters("eu-west-1", shared...)...)
	if len(records) != len(market.Types()) {
		t.Fatalf("eu-west-1 has %d prices, want one for each of the market's %v", len(records), market.Types())
	}
	for _, r := range records {
		name := r.Product.Attributes["instanceType"]
		want, ok := market.OnDemandPrice(name)
		if got := r.price(t); !ok || got != want {
			t.Fatalf("%s costs %v in eu-west-1, want the market's %v (sold: %v)", name, got, want, ok)
		}
	}

	embedded, err := catalog.OnDemandPrices(loadCatalog(t), "ap-southeast-1")
	if err != nil {
		t.Fatal(err)
	}
	records, _ = getAll(t, client, 100, karpenterFilters("ap-southeast-1", append(shared, termMatch("instanceFamily", "General purpose"))...)...)
	if len(records) == 0 {
		t.Fatal("ap-southeast-1 has no general-purpose prices")
	}
	for _, r := range records {
		name := r.Product.Attributes["instanceType"]
		if got := r.price(t); got != embedded[name] {
			t.Fatalf("%s costs %v in ap-southeast-1, want the catalog's %v", name, got, embedded[name])
		}
	}
}

func TestPagesFollowOnToEveryMatchOnce(t *testing.T) {
	_, client := serve(t)
	filters := karpenterFilters("eu-west-1", termMatch("tenancy", "Shared"), termMatch("instanceFamily", "Compute optimized"))
	whole, _ := getAll(t, client, 100, filters...)
	paged, pages := getAll(t, client, 7, filters...)

	if want := (len(whole) + 6) / 7; pages != want {
		t.Errorf("%d records came in %d pages of 7, want %d", len(whole), pages, want)
	}
	skus := func(records []record) []string {
		var out []string
		for _, r := range records {
			out = append(out, r.Product.SKU)
		}
		return out
	}
	if len(whole) < 20 || !slices.Equal(skus(paged), skus(whole)) {
		t.Errorf("pages of 7 hold %d records, one page of 100 %d: want the same ones in the same order", len(paged), len(whole))
	}
	if unique := slices.Compact(slices.Sorted(slices.Values(skus(whole)))); len(unique) != len(whole) {
		t.Errorf("%d records share %d SKUs: each product has its own", len(whole), len(unique))
	}
}
