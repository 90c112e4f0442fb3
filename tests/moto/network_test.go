package moto

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/activities"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
)

// The selector terms a user writes resolve against moto as they would against EC2: the
// discovery tag finds the tagged subnets and group, "*" asks only for the key, an id or a name
// stands alone, and the terms are ORed.
func TestSelectorTermsResolveAgainstMoto(t *testing.T) {
	api := ec2Client(t)
	reset(t)
	c := ctx(t)
	vpc, err := api.CreateVpc(c, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("create vpc: %v", err)
	}
	vpcID := vpc.Vpc.VpcId
	type made struct{ id, zone string }
	var subnets []made
	for i, s := range []struct {
		zone, cidr string
		tags       map[string]string
	}{
		{"us-east-1a", "10.0.0.0/24", map[string]string{"karpenter.sh/discovery": "lab"}},
		{"us-east-1a", "10.0.16.0/20", map[string]string{"karpenter.sh/discovery": "lab"}},
		{"us-east-1b", "10.0.32.0/24", map[string]string{"karpenter.sh/discovery": "lab", "tier": "private"}},
		{"us-east-1c", "10.0.48.0/24", map[string]string{"karpenter.sh/discovery": "other"}},
	} {
		out, err := api.CreateSubnet(c, &ec2.CreateSubnetInput{VpcId: vpcID, CidrBlock: aws.String(s.cidr), AvailabilityZone: aws.String(s.zone),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSubnet, Tags: tagList(s.tags)}}})
		if err != nil {
			t.Fatalf("create subnet %d: %v", i, err)
		}
		subnets = append(subnets, made{aws.ToString(out.Subnet.SubnetId), s.zone})
	}
	net := activities.Network{API: api}

	got, err := net.Subnets(c, []awsv1.SubnetSelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": "lab"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ids := subnetIDs(got); !slices.Equal(ids, sorted(subnets[0].id, subnets[1].id, subnets[2].id)) {
		t.Errorf("discovery tag selected %v, want the three lab subnets", ids)
	}
	if got[0].ID != subnets[1].id {
		t.Errorf("first subnet %s, want %s: most free addresses first", got[0].ID, subnets[1].id)
	}
	perZone := activities.SubnetPerZone(got)
	if perZone["us-east-1a"].ID != subnets[1].id {
		t.Errorf("us-east-1a picked %+v, want %s, the /20 with the most free addresses", perZone["us-east-1a"], subnets[1].id)
	}

	got, err = net.Subnets(c, []awsv1.SubnetSelectorTerm{{Tags: map[string]string{"tier": "*"}}, {ID: subnets[3].id}})
	if err != nil {
		t.Fatal(err)
	}
	if ids := subnetIDs(got); !slices.Equal(ids, sorted(subnets[2].id, subnets[3].id)) {
		t.Errorf("a key-only tag ORed with an id selected %v, want %v", ids, sorted(subnets[2].id, subnets[3].id))
	}

	sg, err := api.CreateSecurityGroup(c, &ec2.CreateSecurityGroupInput{GroupName: aws.String("lab-nodes"), Description: aws.String("nodes"), VpcId: vpcID,
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: tagList(map[string]string{"karpenter.sh/discovery": "lab"})}}})
	if err != nil {
		t.Fatalf("create security group: %v", err)
	}
	for _, term := range []awsv1.SecurityGroupSelectorTerm{
		{Tags: map[string]string{"karpenter.sh/discovery": "lab"}}, {Name: "lab-nodes"}, {ID: aws.ToString(sg.GroupId)},
	} {
		groups, err := net.SecurityGroups(c, []awsv1.SecurityGroupSelectorTerm{term})
		if err != nil {
			t.Fatal(err)
		}
		if len(groups) != 1 || groups[0].ID != aws.ToString(sg.GroupId) || groups[0].Name != "lab-nodes" {
			t.Errorf("term %+v selected %+v, want only lab-nodes (%s)", term, groups, aws.ToString(sg.GroupId))
		}
	}
}

func tagList(m map[string]string) []ec2types.Tag {
	var out []ec2types.Tag
	for k, v := range m {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// subnetIDs lists the subnets' ids in order of id.
func subnetIDs(subnets []activities.Subnet) []string {
	var out []string
	for _, s := range subnets {
		out = append(out, s.ID)
	}
	return slices.Sorted(slices.Values(out))
}

func sorted(ids ...string) []string {
	return slices.Sorted(slices.Values(ids))
}
