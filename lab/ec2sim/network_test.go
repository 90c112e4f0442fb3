package ec2sim_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

// world is a VPC with a spare subnet beside the default per-zone ones, and two groups.
func world(o *ec2sim.Options) {
	o.Zones = []string{"us-east-1a", "us-east-1b"}
	o.Subnets = []ec2sim.Subnet{
		{ID: "subnet-0aaa", Zone: "us-east-1a", ZoneID: "use1-az1", CIDR: "10.0.0.0/20", AvailableIPs: 4091, Tags: map[string]string{"karpenter.sh/discovery": "lab"}},
		{ID: "subnet-0bbb", Zone: "us-east-1b", ZoneID: "use1-az2", CIDR: "10.0.16.0/20", AvailableIPs: 4091, Tags: map[string]string{"karpenter.sh/discovery": "lab", "tier": "private"}},
		{ID: "subnet-0ccc", Zone: "us-east-1b", ZoneID: "use1-az2", CIDR: "10.0.32.0/24", AvailableIPs: 251, Tags: map[string]string{"karpenter.sh/discovery": "other"}},
	}
	o.SecurityGroups = []ec2sim.SecurityGroup{
		{ID: "sg-0aaa", Name: "lab-nodes", Description: "nodes", Tags: map[string]string{"karpenter.sh/discovery": "lab"}},
		{ID: "sg-0bbb", Name: "other", Description: "other"},
	}
}

func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

func TestDescribeSubnets(t *testing.T) {
	client := newClient(t, newSim(t, world), 1)
	tests := []struct {
		name     string
		in       *ec2.DescribeSubnetsInput
		want     []string
		wantCode string
	}{
		{name: "everything", in: &ec2.DescribeSubnetsInput{}, want: []string{"subnet-0aaa", "subnet-0bbb", "subnet-0ccc"}},
		{name: "by discovery tag", in: &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("tag:karpenter.sh/discovery", "lab")}}, want: []string{"subnet-0aaa", "subnet-0bbb"}},
		{name: "by tag key", in: &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("tag-key", "tier")}}, want: []string{"subnet-0bbb"}},
		{name: "filters are ANDed", in: &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("availability-zone", "us-east-1b"), filter("tag:karpenter.sh/discovery", "lab")}}, want: []string{"subnet-0bbb"}},
		{name: "by id", in: &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0ccc"}}, want: []string{"subnet-0ccc"}},
		{name: "an unknown id", in: &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0fff"}}, wantCode: ec2sim.CodeInvalidSubnetIDNotFound},
		{name: "an unknown filter", in: &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("colour", "blue")}}, wantCode: ec2sim.CodeInvalidParameterValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.DescribeSubnets(context.Background(), tt.in)
			var ids []string
			if err == nil {
				for _, s := range out.Subnets {
					ids = append(ids, aws.ToString(s.SubnetId))
				}
			}
			expectIDs(t, ids, err, tt.want, tt.wantCode)
		})
	}
}

// expectIDs checks a Describe call's answer: the error code wanted, or else the ids.
func expectIDs(t *testing.T, ids []string, err error, want []string, wantCode string) {
	t.Helper()
	switch {
	case wantCode != "":
		if code := errorCode(t, err); code != wantCode {
			t.Errorf("error code %s, want %s", code, wantCode)
		}
	case err != nil:
		t.Fatal(err)
	case !slices.Equal(ids, want):
		t.Errorf("ids %v, want %v", ids, want)
	}
}

func TestDescribeSubnetsAnswersAsTheSDKReadsIt(t *testing.T) {
	client := newClient(t, newSim(t, world), 1)
	out, err := client.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0bbb"}})
	if err != nil {
		t.Fatal(err)
	}
	s := out.Subnets[0]
	if aws.ToString(s.AvailabilityZone) != "us-east-1b" || aws.ToString(s.AvailabilityZoneId) != "use1-az2" || aws.ToInt32(s.AvailableIpAddressCount) != 4091 ||
		aws.ToString(s.VpcId) != ec2sim.VPCID || aws.ToString(s.CidrBlock) != "10.0.16.0/20" || s.State != types.SubnetStateAvailable || len(s.Tags) != 2 {
		t.Errorf("subnet %+v: want zone, zone id, free addresses, VPC, CIDR, state and both tags", s)
	}
}

func TestDescribeSubnetsPages(t *testing.T) {
	many := func(o *ec2sim.Options) {
		o.Zones = []string{"us-east-1a"}
		for i := range 12 {
			tags := map[string]string{}
			if i%2 == 0 {
				tags["even"] = "yes"
			}
			o.Subnets = append(o.Subnets, ec2sim.Subnet{ID: fmt.Sprintf("subnet-%02d", i), Zone: "us-east-1a", Tags: tags})
		}
	}
	client := newClient(t, newSim(t, many), 1)
	pages := ec2.NewDescribeSubnetsPaginator(client, &ec2.DescribeSubnetsInput{MaxResults: aws.Int32(5), Filters: []types.Filter{filter("tag:even", "yes")}})
	var ids []string
	calls := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		calls++
		for _, s := range page.Subnets {
			ids = append(ids, aws.ToString(s.SubnetId))
		}
	}
	want := []string{"subnet-00", "subnet-02", "subnet-04", "subnet-06", "subnet-08", "subnet-10"}
	if calls != 2 || !slices.Equal(ids, want) {
		t.Errorf("%d pages holding %v, want 2 pages holding %v", calls, ids, want)
	}
	if _, err := client.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{MaxResults: aws.Int32(2)}); errorCode(t, err) != ec2sim.CodeInvalidParameterValue {
		t.Errorf("MaxResults 2 accepted, want %s (EC2's minimum is 5)", ec2sim.CodeInvalidParameterValue)
	}
}

func TestDescribeSecurityGroups(t *testing.T) {
	client := newClient(t, newSim(t, world), 1)
	tests := []struct {
		name     string
		in       *ec2.DescribeSecurityGroupsInput
		want     []string
		wantCode string
	}{
		{name: "by discovery tag", in: &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{filter("tag:karpenter.sh/discovery", "lab")}}, want: []string{"sg-0aaa"}},
		{name: "by name filter", in: &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{filter("group-name", "other")}}, want: []string{"sg-0bbb"}},
		{name: "by id", in: &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0bbb"}}, want: []string{"sg-0bbb"}},
		{name: "by name", in: &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"lab-nodes"}}, want: []string{"sg-0aaa"}},
		{name: "an unknown id", in: &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0fff"}}, wantCode: ec2sim.CodeInvalidGroupNotFound},
		{name: "an unknown name", in: &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"nope"}}, wantCode: ec2sim.CodeInvalidGroupNotFound},
		{name: "ids with MaxResults", in: &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0aaa"}, MaxResults: aws.Int32(5)}, wantCode: ec2sim.CodeInvalidParameterCombination},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.DescribeSecurityGroups(context.Background(), tt.in)
			var ids []string
			if err == nil {
				for _, g := range out.SecurityGroups {
					ids = append(ids, aws.ToString(g.GroupId))
				}
			}
			expectIDs(t, ids, err, tt.want, tt.wantCode)
		})
	}
}

func TestLaunchesGoOnlyIntoTheVPCsSubnets(t *testing.T) {
	client := launchClient(t, newSim(t, world))
	// Naming only the zone lands in a subnet of the VPC there, not one the VPC lacks.
	byZone := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large", inZone("us-east-1a"))}))
	if got := aws.ToString(describeOne(t, client, byZone).SubnetId); got != "subnet-0aaa" {
		t.Errorf("a launch into us-east-1a went to %s, want subnet-0aaa", got)
	}
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large", inSubnet("subnet-0ccc"))}))
	if inst := describeOne(t, client, id); aws.ToString(inst.SubnetId) != "subnet-0ccc" || aws.ToString(inst.Placement.AvailabilityZone) != "us-east-1b" {
		t.Errorf("instance in %s (%s), want subnet-0ccc in us-east-1b", aws.ToString(inst.SubnetId), aws.ToString(inst.Placement.AvailabilityZone))
	}
}
