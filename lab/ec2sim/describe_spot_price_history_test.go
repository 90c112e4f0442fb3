package ec2sim_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/marketsim"
)

// walkStart starts the spot walks on the hour, five hours before the sim's clock (launchedAt).
var walkStart = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)

// at is a moment of the walks' day.
func at(hour, minute int) time.Time {
	return walkStart.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// spotLine is one spot price as a test reads it: what, where, how much, since when.
func spotLine(instanceType, zone, product string, price float64, since time.Time) string {
	return fmt.Sprintf("%s %s %s %.6f %s", instanceType, zone, product, price, since.UTC().Format(time.RFC3339))
}

func spotLines(prices []types.SpotPrice) []string {
	var out []string
	for _, p := range prices {
		out = append(out, fmt.Sprintf("%s %s %s %s %s", p.InstanceType, aws.ToString(p.AvailabilityZone), p.ProductDescription,
			aws.ToString(p.SpotPrice), aws.ToTime(p.Timestamp).UTC().Format(time.RFC3339)))
	}
	return out
}

// walkLines are the market's Linux prices of a type in a zone at each step given, stamped with it.
func walkLines(m *marketsim.Market, instanceType, zone, product string, steps ...time.Time) []string {
	var out []string
	for _, step := range steps {
		price, _ := m.SpotPrice(instanceType, zone, step)
		out = append(out, spotLine(instanceType, zone, product, price, step))
	}
	return out
}

// historyLines is the market's own history of a type in a zone, as spot lines.
func historyLines(m *marketsim.Market, instanceType, zone string, from, to time.Time) []string {
	var out []string
	for _, p := range m.SpotHistory(instanceType, zone, from, to) {
		out = append(out, spotLine(instanceType, zone, "Linux/UNIX", p.Price, p.At))
	}
	return out
}

func TestDescribeSpotPriceHistory(t *testing.T) {
	m5a := func(in *ec2.DescribeSpotPriceHistoryInput) *ec2.DescribeSpotPriceHistoryInput {
		in.InstanceTypes, in.AvailabilityZone = []types.InstanceType{"m5.large"}, aws.String("us-east-1a")
		return in
	}
	tests := []struct {
		name      string
		noMarket  bool
		pin       *marketsim.PricePoint // SetSpotPrice before asking
		in        *ec2.DescribeSpotPriceHistoryInput
		want      func(m *marketsim.Market) []string
		wantError string
	}{
		{name: "by default the price in effect now, stamped when it took effect",
			in: m5a(&ec2.DescribeSpotPriceHistoryInput{}),
			want: func(m *marketsim.Market) []string {
				return walkLines(m, "m5.large", "us-east-1a", "Linux/UNIX", at(5, 0))
			}},
		{name: "a window lists every change newest first, from the price in effect at its start",
			in: m5a(&ec2.DescribeSpotPriceHistoryInput{StartTime: aws.Time(at(2, 30)), EndTime: aws.Time(at(4, 30))}),
			want: func(m *marketsim.Market) []string {
				return walkLines(m, "m5.large", "us-east-1a", "Linux/UNIX", at(4, 0), at(3, 0), at(2, 0))
			}},
		{name: "a price the market pinned shows as a change",
			pin: &marketsim.PricePoint{InstanceType: "m5.large", Zone: "us-east-1a", Price: 0.0123, At: at(3, 30)},
			in:  m5a(&ec2.DescribeSpotPriceHistoryInput{StartTime: aws.Time(at(2, 30)), EndTime: aws.Time(at(3, 45))}),
			want: func(m *marketsim.Market) []string {
				return append([]string{spotLine("m5.large", "us-east-1a", "Linux/UNIX", 0.0123, at(3, 30))}, walkLines(m, "m5.large", "us-east-1a", "Linux/UNIX", at(3, 0), at(2, 0))...)
			}},
		{name: "a price pinned a minute ago is the price now",
			pin: &marketsim.PricePoint{InstanceType: "m5.large", Zone: "us-east-1a", Price: 0.0354, At: launchedAt.Add(-time.Minute)},
			in:  m5a(&ec2.DescribeSpotPriceHistoryInput{}),
			want: func(*marketsim.Market) []string {
				return []string{spotLine("m5.large", "us-east-1a", "Linux/UNIX", 0.0354, launchedAt.Add(-time.Minute))}
			}},
		{name: "with EndTime alone, the price in effect then",
			in: m5a(&ec2.DescribeSpotPriceHistoryInput{EndTime: aws.Time(at(2, 10))}),
			want: func(m *marketsim.Market) []string {
				return walkLines(m, "m5.large", "us-east-1a", "Linux/UNIX", at(2, 0))
			}},
		{name: "both names of Linux answer and other products nothing",
			in: m5a(&ec2.DescribeSpotPriceHistoryInput{ProductDescriptions: []string{"Windows", "Linux/UNIX (Amazon VPC)"}}),
			want: func(m *marketsim.Market) []string {
				return walkLines(m, "m5.large", "us-east-1a", "Linux/UNIX (Amazon VPC)", at(5, 0))
			}},
		{name: "filters pick zones and types, with wildcards",
			in: &ec2.DescribeSpotPriceHistoryInput{Filters: []types.Filter{filter("availability-zone", "us-east-1b"), filter("instance-type", "m5.*")}},
			want: func(m *marketsim.Market) []string {
				return slices.Concat(walkLines(m, "m5.large", "us-east-1b", "Linux/UNIX", at(5, 0)), walkLines(m, "m5.xlarge", "us-east-1b", "Linux/UNIX", at(5, 0)))
			}},
		{name: "a type not sold as spot has no history",
			in:   &ec2.DescribeSpotPriceHistoryInput{InstanceTypes: []types.InstanceType{"u9.onlyondemand"}},
			want: func(*marketsim.Market) []string { return nil }},
		{name: "without a market, the catalog's modelled price since the sim's start", noMarket: true,
			in: m5a(&ec2.DescribeSpotPriceHistoryInput{}),
			want: func(*marketsim.Market) []string {
				return []string{spotLine("m5.large", "us-east-1a", "Linux/UNIX", 0.0288, launchedAt)}
			}},
		{name: "a zone outside the region has no prices", noMarket: true,
			in:   &ec2.DescribeSpotPriceHistoryInput{AvailabilityZone: aws.String("us-east-1z")},
			want: func(*marketsim.Market) []string { return nil }},
		{name: "a page over a thousand is taken, as EC2 takes Karpenter's 2000",
			in: m5a(&ec2.DescribeSpotPriceHistoryInput{MaxResults: aws.Int32(2000), EndTime: aws.Time(at(1, 10))}),
			want: func(m *marketsim.Market) []string {
				return walkLines(m, "m5.large", "us-east-1a", "Linux/UNIX", at(1, 0))
			}},
		{name: "an empty page is refused",
			in: &ec2.DescribeSpotPriceHistoryInput{MaxResults: aws.Int32(0)}, wantError: ec2sim.CodeInvalidParameterValue},
		{name: "an end before the start is refused",
			in: &ec2.DescribeSpotPriceHistoryInput{StartTime: aws.Time(at(3, 0)), EndTime: aws.Time(at(2, 0))}, wantError: ec2sim.CodeInvalidParameterValue},
		{name: "an unknown filter is refused",
			in: &ec2.DescribeSpotPriceHistoryInput{Filters: []types.Filter{filter("colour", "blue")}}, wantError: ec2sim.CodeInvalidParameterValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMarket(t, marketsim.Options{Seed: 5, Start: walkStart, MissingOfferings: -1})
			if tc.pin != nil {
				if err := m.SetSpotPrice(tc.pin.InstanceType, tc.pin.Zone, tc.pin.Price, tc.pin.At); err != nil {
					t.Fatal(err)
				}
			}
			var tweaks []func(*ec2sim.Options)
			if !tc.noMarket {
				tweaks = append(tweaks, withMarket(m))
			}
			client := newClient(t, newSim(t, tweaks...), 1)
			out, err := client.DescribeSpotPriceHistory(context.Background(), tc.in)
			if tc.wantError != "" {
				if code := errorCode(t, err); code != tc.wantError {
					t.Errorf("error code is %s, want %s", code, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("describe spot price history: %v", err)
			}
			if got, want := spotLines(out.SpotPriceHistory), tc.want(m); !slices.Equal(got, want) {
				t.Errorf("prices are\n%q\nwant\n%q", got, want)
			}
			if aws.ToString(out.NextToken) != "" {
				t.Errorf("one page holds it all, yet NextToken is %q", aws.ToString(out.NextToken))
			}
		})
	}
}

// The SDK's paginator walks a window of the whole catalog's history page by page, newest first
// throughout, each price once.
func TestDescribeSpotPriceHistoryPaginatorReturnsEveryPrice(t *testing.T) {
	all := loadCatalog(t)
	m, err := marketsim.New(marketsim.Options{Types: all, Seed: 9, Start: walkStart})
	if err != nil {
		t.Fatal(err)
	}
	start, end := at(3, 30), at(5, 0)
	var want []string
	for _, name := range m.Types() {
		for _, zone := range m.Zones(name) {
			want = append(want, historyLines(m, name, zone, start, end)...)
		}
	}
	slices.Sort(want)
	client := newClient(t, newSim(t, func(o *ec2sim.Options) { o.Types = all }, withMarket(m)), 1)
	paginator := ec2.NewDescribeSpotPriceHistoryPaginator(client, &ec2.DescribeSpotPriceHistoryInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end), MaxResults: aws.Int32(1000),
	})
	pages := everyPage(t, paginator.HasMorePages, paginator.NextPage)
	var prices []types.SpotPrice
	for _, page := range pages {
		prices = append(prices, page.SpotPriceHistory...)
	}
	if !slices.IsSortedFunc(prices, func(a, b types.SpotPrice) int { return aws.ToTime(b.Timestamp).Compare(aws.ToTime(a.Timestamp)) }) {
		t.Error("prices are not newest first across pages")
	}
	got := spotLines(prices)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("paginator listed %d prices, want the market's %d, each once", len(got), len(want))
	}
	if wantPages := (len(want) + 999) / 1000; len(pages) != wantPages || wantPages < 2 {
		t.Errorf("%d prices came in %d pages, want %d (and more than one)", len(want), len(pages), wantPages)
	}
}

// Paging the prices in effect now holds to the first page's now, though the clock moves a
// step with every call: each type and zone comes once, all from the same step.
func TestDescribeSpotPriceHistoryPagesHoldToTheFirstPagesNow(t *testing.T) {
	all := loadCatalog(t)
	m, err := marketsim.New(marketsim.Options{Types: all, Seed: 9, Start: walkStart})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	hourly := func() time.Time { return at(5, 30).Add(time.Duration(calls.Add(1)-1) * time.Hour) }
	client := newClient(t, newSim(t, func(o *ec2sim.Options) { o.Types, o.Clock = all, hourly }, withMarket(m)), 1)
	paginator := ec2.NewDescribeSpotPriceHistoryPaginator(client, &ec2.DescribeSpotPriceHistoryInput{})
	pages := everyPage(t, paginator.HasMorePages, paginator.NextPage)

	seen := map[string]int{}
	for _, page := range pages {
		for _, p := range page.SpotPriceHistory {
			seen[string(p.InstanceType)+" "+aws.ToString(p.AvailabilityZone)]++
			if stamp := aws.ToTime(p.Timestamp); !stamp.Equal(at(5, 0)) {
				t.Fatalf("%s in %s is stamped %s, want the first page's step %s", p.InstanceType, aws.ToString(p.AvailabilityZone), stamp, at(5, 0))
			}
		}
	}
	want := 0
	for _, name := range m.Types() {
		want += len(m.Zones(name))
	}
	if len(seen) != want || len(pages) < 2 {
		t.Errorf("%d pages listed %d types in zones, want %d over more than one page", len(pages), len(seen), want)
	}
	for series, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times, want once", series, n)
		}
	}
}
