package ec2sim_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/marketsim"
)

// offeringsOf lists a page's offerings as type@location, in the order given.
func offeringsOf(out *ec2.DescribeInstanceTypeOfferingsOutput) []string {
	var got []string
	for _, o := range out.InstanceTypeOfferings {
		got = append(got, string(o.InstanceType)+"@"+aws.ToString(o.Location))
	}
	return got
}

func TestDescribeInstanceTypeOfferingsByLocation(t *testing.T) {
	zone, zoneID := types.LocationTypeAvailabilityZone, types.LocationTypeAvailabilityZoneId
	tests := []struct {
		name      string
		noMarket  bool
		in        *ec2.DescribeInstanceTypeOfferingsInput
		want      []string
		wantType  types.LocationType
		wantError string
	}{
		{name: "the region by default, each type the region sells once",
			in:       &ec2.DescribeInstanceTypeOfferingsInput{},
			want:     []string{"c5.large@us-east-1", "m5.large@us-east-1", "m5.xlarge@us-east-1", "m7g.large@us-east-1", "u9.onlyondemand@us-east-1"},
			wantType: types.LocationTypeRegion},
		{name: "by zone, a restricted type only where it is offered",
			in:       &ec2.DescribeInstanceTypeOfferingsInput{LocationType: zone, Filters: []types.Filter{filter("instance-type", "m5.*")}},
			want:     []string{"m5.large@us-east-1a", "m5.xlarge@us-east-1a", "m5.xlarge@us-east-1b", "m5.large@us-east-1c", "m5.xlarge@us-east-1c"},
			wantType: zone},
		{name: "by AZ id, named as the subnets name the zones",
			in:       &ec2.DescribeInstanceTypeOfferingsInput{LocationType: zoneID, Filters: []types.Filter{filter("instance-type", "m5.large")}},
			want:     []string{"m5.large@use1-az1", "m5.large@use1-az3"},
			wantType: zoneID},
		{name: "a location filter keeps that zone's types",
			in:       &ec2.DescribeInstanceTypeOfferingsInput{LocationType: zone, Filters: []types.Filter{filter("location", "us-east-1b")}},
			want:     []string{"c5.large@us-east-1b", "m5.xlarge@us-east-1b", "m7g.large@us-east-1b", "u9.onlyondemand@us-east-1b"},
			wantType: zone},
		{name: "filters are ANDed and take wildcards",
			in:       &ec2.DescribeInstanceTypeOfferingsInput{LocationType: zone, Filters: []types.Filter{filter("location", "*1c"), filter("instance-type", "m*.large")}},
			want:     []string{"m5.large@us-east-1c", "m7g.large@us-east-1c"},
			wantType: zone},
		{name: "without a market every type is in every zone", noMarket: true,
			in:       &ec2.DescribeInstanceTypeOfferingsInput{LocationType: zone, Filters: []types.Filter{filter("instance-type", "m5.large")}},
			want:     []string{"m5.large@us-east-1a", "m5.large@us-east-1b", "m5.large@us-east-1c"},
			wantType: zone},
		{name: "the region has no outposts",
			in: &ec2.DescribeInstanceTypeOfferingsInput{LocationType: types.LocationTypeOutpost}},
		{name: "a page under five is refused",
			in: &ec2.DescribeInstanceTypeOfferingsInput{MaxResults: aws.Int32(4)}, wantError: ec2sim.CodeInvalidParameterValue},
		{name: "a page over a thousand is refused",
			in: &ec2.DescribeInstanceTypeOfferingsInput{MaxResults: aws.Int32(1001)}, wantError: ec2sim.CodeInvalidParameterValue},
		{name: "an unknown location type is refused",
			in: &ec2.DescribeInstanceTypeOfferingsInput{LocationType: "continent"}, wantError: ec2sim.CodeInvalidParameterValue},
		{name: "an unknown filter is refused",
			in: &ec2.DescribeInstanceTypeOfferingsInput{Filters: []types.Filter{filter("price", "0.1")}}, wantError: ec2sim.CodeInvalidParameterValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tweaks []func(*ec2sim.Options)
			if !tc.noMarket {
				m := newMarket(t, marketsim.Options{MissingOfferings: -1})
				if err := m.Restrict("m5.large", "us-east-1a", "us-east-1c"); err != nil {
					t.Fatal(err)
				}
				tweaks = append(tweaks, withMarket(m))
			}
			client := newClient(t, newSim(t, tweaks...), 1)
			out, err := client.DescribeInstanceTypeOfferings(context.Background(), tc.in)
			if tc.wantError != "" {
				if code := errorCode(t, err); code != tc.wantError {
					t.Errorf("error code is %s, want %s", code, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("describe instance type offerings: %v", err)
			}
			if got := offeringsOf(out); !slices.Equal(got, tc.want) {
				t.Errorf("offerings are %v, want %v", got, tc.want)
			}
			for _, o := range out.InstanceTypeOfferings {
				if o.LocationType != tc.wantType {
					t.Errorf("%s@%s has location type %q, want %q", o.InstanceType, aws.ToString(o.Location), o.LocationType, tc.wantType)
				}
			}
		})
	}
}

// The SDK's paginator walks every offering of the whole catalog, page by page, each once.
func TestDescribeInstanceTypeOfferingsPaginatorReturnsEveryOffering(t *testing.T) {
	all := loadCatalog(t)
	m, err := marketsim.New(marketsim.Options{Types: all, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, name := range m.Types() {
		for _, zone := range m.Zones(name) {
			want = append(want, name+"@"+zone)
		}
	}
	slices.Sort(want)
	tests := []struct {
		name      string
		pageSize  *int32
		wantPages int
	}{
		{name: "a thousand to a page by default", wantPages: (len(want) + 999) / 1000},
		{name: "MaxResults to a page", pageSize: aws.Int32(700), wantPages: (len(want) + 699) / 700},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := newClient(t, newSim(t, func(o *ec2sim.Options) { o.Types = all }, withMarket(m)), 1)
			paginator := ec2.NewDescribeInstanceTypeOfferingsPaginator(client, &ec2.DescribeInstanceTypeOfferingsInput{
				LocationType: types.LocationTypeAvailabilityZone, MaxResults: tc.pageSize,
			})
			pages := everyPage(t, paginator.HasMorePages, paginator.NextPage)
			var got []string
			for _, page := range pages {
				got = append(got, offeringsOf(page)...)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("paginator listed %d offerings, want the market's %d, each once", len(got), len(want))
			}
			if len(pages) != tc.wantPages {
				t.Errorf("%d offerings came in %d pages, want %d", len(want), len(pages), tc.wantPages)
			}
		})
	}
}
