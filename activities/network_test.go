package activities

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
)

// fakeNetwork answers each Describe call with the next canned page and records the filters.
type fakeNetwork struct {
	subnets [][]ec2types.Subnet
	groups  [][]ec2types.SecurityGroup
	err     error
	filters [][]ec2types.Filter
}

func (f *fakeNetwork) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	f.filters = append(f.filters, in.Filters)
	if f.err != nil {
		return nil, f.err
	}
	out := &ec2.DescribeSubnetsOutput{Subnets: f.subnets[0]}
	f.subnets = f.subnets[1:]
	return out, nil
}

func (f *fakeNetwork) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	f.filters = append(f.filters, in.Filters)
	if f.err != nil {
		return nil, f.err
	}
	out := &ec2.DescribeSecurityGroupsOutput{SecurityGroups: f.groups[0]}
	f.groups = f.groups[1:]
	return out, nil
}

func subnet(id, zone string, free int32) ec2types.Subnet {
	return ec2types.Subnet{SubnetId: aws.String(id), AvailabilityZone: aws.String(zone), AvailableIpAddressCount: aws.Int32(free)}
}

// filterText renders filters as "name=v1|v2" for comparison.
func filterText(fs []ec2types.Filter) []string {
	var out []string
	for _, f := range fs {
		out = append(out, aws.ToString(f.Name)+"="+strings.Join(f.Values, "|"))
	}
	return out
}

func TestSubnetTermsBecomeFiltersAndTheirAnswersOneList(t *testing.T) {
	api := &fakeNetwork{subnets: [][]ec2types.Subnet{
		{subnet("subnet-b", "us-east-1b", 10), subnet("subnet-a", "us-east-1a", 50)},
		{subnet("subnet-a", "us-east-1a", 50), subnet("subnet-c", "us-east-1a", 80)},
	}}
	terms := []awsv1.SubnetSelectorTerm{
		{Tags: map[string]string{"karpenter.sh/discovery": "lab", "tier": "*"}},
		{ID: "subnet-c"},
	}
	got, err := Network{API: api}.Subnets(context.Background(), terms)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	if want := []string{"subnet-c", "subnet-a", "subnet-b"}; !slices.Equal(ids, want) {
		t.Errorf("subnets %v, want %v: each once, most free addresses first", ids, want)
	}
	wantFilters := [][]string{{"tag:karpenter.sh/discovery=lab", "tag-key=tier"}, {"subnet-id=subnet-c"}}
	for i, want := range wantFilters {
		if got := filterText(api.filters[i]); !slices.Equal(got, want) {
			t.Errorf("term %d filters %v, want %v", i, got, want)
		}
	}
	perZone := SubnetPerZone(got)
	if perZone["us-east-1a"].ID != "subnet-c" || perZone["us-east-1b"].ID != "subnet-b" || len(perZone) != 2 {
		t.Errorf("subnet per zone %+v, want the one with the most free addresses in each zone", perZone)
	}
}

func TestSubnetPerZoneBreaksTiesByID(t *testing.T) {
	got := SubnetPerZone([]Subnet{{ID: "subnet-z", Zone: "a", AvailableIPs: 5}, {ID: "subnet-m", Zone: "a", AvailableIPs: 5}})
	if got["a"].ID != "subnet-m" {
		t.Errorf("picked %s, want subnet-m, the lower id of a tie", got["a"].ID)
	}
}

func TestSecurityGroupTermsBecomeFilters(t *testing.T) {
	api := &fakeNetwork{groups: [][]ec2types.SecurityGroup{
		{{GroupId: aws.String("sg-2"), GroupName: aws.String("nodes")}},
		{{GroupId: aws.String("sg-1"), GroupName: aws.String("base")}},
		{{GroupId: aws.String("sg-2"), GroupName: aws.String("nodes")}},
	}}
	// An id or a name is the whole term, tags beside it ignored, as in Karpenter (the CRD lets
	// them share a term when another term does not).
	terms := []awsv1.SecurityGroupSelectorTerm{
		{Name: "nodes", Tags: map[string]string{"ignored": "x"}},
		{ID: "sg-1", Name: "ignored", Tags: map[string]string{"ignored": "x"}},
		{Tags: map[string]string{"karpenter.sh/discovery": "lab"}},
	}
	got, err := Network{API: api}.SecurityGroups(context.Background(), terms)
	if err != nil {
		t.Fatal(err)
	}
	if want := []SecurityGroup{{ID: "sg-1", Name: "base"}, {ID: "sg-2", Name: "nodes"}}; !slices.Equal(got, want) {
		t.Errorf("security groups %+v, want %+v", got, want)
	}
	wantFilters := [][]string{{"group-name=nodes"}, {"group-id=sg-1"}, {"tag:karpenter.sh/discovery=lab"}}
	for i, want := range wantFilters {
		if got := filterText(api.filters[i]); !slices.Equal(got, want) {
			t.Errorf("term %d filters %v, want %v", i, got, want)
		}
	}
}

func TestSelectorTermsThatCannotBeSentAreRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		run     func(api *fakeNetwork) error
		wantErr string
	}{
		{name: "an empty subnet term would select every subnet",
			run: func(api *fakeNetwork) error {
				_, err := Network{API: api}.Subnets(ctx, []awsv1.SubnetSelectorTerm{{ID: "subnet-a"}, {}})
				return err
			},
			wantErr: "spec.subnetSelectorTerms[1] would select every subnet"},
		{name: "an empty security group term would select every group",
			run: func(api *fakeNetwork) error {
				_, err := Network{API: api}.SecurityGroups(ctx, []awsv1.SecurityGroupSelectorTerm{{}})
				return err
			},
			wantErr: "spec.securityGroupSelectorTerms[0] would select every security group"},
		{name: "EC2's refusal names the term",
			run: func(api *fakeNetwork) error {
				api.err = errors.New("UnauthorizedOperation")
				_, err := Network{API: api}.Subnets(ctx, []awsv1.SubnetSelectorTerm{{ID: "subnet-a"}})
				return err
			},
			wantErr: "subnetSelectorTerms[0]: UnauthorizedOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeNetwork{subnets: [][]ec2types.Subnet{{}, {}}, groups: [][]ec2types.SecurityGroup{{}}}
			if err := tt.run(api); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}
