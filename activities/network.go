package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
)

// NetworkAPI is the part of the EC2 client that finds an EC2NodeClass's subnets and security
// groups.
type NetworkAPI interface {
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
}

var _ NetworkAPI = (*ec2.Client)(nil)

// Network resolves an EC2NodeClass's subnet and security group selector terms, as Karpenter's
// AWS provider does: the terms are ORed; within a term an id wins over everything else and a
// name over tags, and tags are ANDed, a value of "*" asking only that the key be there. It is
// not an activity: the node class controller calls it and keeps the result in the class's
// status.
type Network struct {
	API NetworkAPI
}

// Subnet is a subnet a node may launch in.
type Subnet struct {
	ID           string `json:"id"`
	Zone         string `json:"zone"`
	ZoneID       string `json:"zoneID,omitempty"`
	AvailableIPs int32  `json:"availableIPs"`
}

// SecurityGroup is a security group nodes are launched with.
type SecurityGroup struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Subnets lists the subnets any term selects, each once, by id. A term that selects nothing
// is not an error: the class's status says when no term selects anything.
func (n Network) Subnets(ctx context.Context, terms []awsv1.SubnetSelectorTerm) ([]Subnet, error) {
	found := map[string]Subnet{}
	for i, term := range terms {
		filters := selectorFilters(term.Tags, "subnet-id", term.ID)
		if len(filters) == 0 {
			return nil, fmt.Errorf("spec.subnetSelectorTerms[%d] would select every subnet: give it tags or an id: %w", i, ErrEmptyTerm)
		}
		pages := ec2.NewDescribeSubnetsPaginator(n.API, &ec2.DescribeSubnetsInput{Filters: filters})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describe the subnets of subnetSelectorTerms[%d]: %w", i, err)
			}
			for _, s := range page.Subnets {
				found[aws.ToString(s.SubnetId)] = Subnet{
					ID: aws.ToString(s.SubnetId), Zone: aws.ToString(s.AvailabilityZone), ZoneID: aws.ToString(s.AvailabilityZoneId),
					AvailableIPs: aws.ToInt32(s.AvailableIpAddressCount),
				}
			}
		}
	}
	out := slices.Collect(maps.Values(found))
	// Most free addresses first, as Karpenter lists them: the first of a zone is the one to use.
	slices.SortFunc(out, func(a, b Subnet) int {
		return cmp.Or(cmp.Compare(b.AvailableIPs, a.AvailableIPs), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// SecurityGroups lists the security groups any term selects, each once, by id.
func (n Network) SecurityGroups(ctx context.Context, terms []awsv1.SecurityGroupSelectorTerm) ([]SecurityGroup, error) {
	found := map[string]SecurityGroup{}
	for i, term := range terms {
		filters := selectorFilters(term.Tags, "group-id", term.ID, "group-name", term.Name)
		if len(filters) == 0 {
			return nil, fmt.Errorf("spec.securityGroupSelectorTerms[%d] would select every security group: give it tags, an id or a name: %w", i, ErrEmptyTerm)
		}
		pages := ec2.NewDescribeSecurityGroupsPaginator(n.API, &ec2.DescribeSecurityGroupsInput{Filters: filters})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describe the security groups of securityGroupSelectorTerms[%d]: %w", i, err)
			}
			for _, g := range page.SecurityGroups {
				found[aws.ToString(g.GroupId)] = SecurityGroup{ID: aws.ToString(g.GroupId), Name: aws.ToString(g.GroupName)}
			}
		}
	}
	out := slices.Collect(maps.Values(found))
	slices.SortFunc(out, func(a, b SecurityGroup) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// ErrEmptyTerm is a selector term with nothing to select by, which would select everything.
var ErrEmptyTerm = errors.New("empty selector term")

// SubnetPerZone picks, in each zone, the subnet with the most free addresses, as Karpenter
// does; a tie goes to the lower id, so the choice is stable.
func SubnetPerZone(subnets []Subnet) map[string]Subnet {
	out := map[string]Subnet{}
	for _, s := range subnets {
		best, seen := out[s.Zone]
		if !seen || s.AvailableIPs > best.AvailableIPs || (s.AvailableIPs == best.AvailableIPs && s.ID < best.ID) {
			out[s.Zone] = s
		}
	}
	return out
}

// selectorFilters turns one selector term into DescribeSubnets or DescribeSecurityGroups
// filters. fields are (filter name, value) pairs in precedence order: the first set one (an
// id, then a name) is the whole term, as in Karpenter; otherwise each tag is a filter.
func selectorFilters(tags map[string]string, fields ...string) []ec2types.Filter {
	for i := 0; i+1 < len(fields); i += 2 {
		if v := fields[i+1]; v != "" {
			return []ec2types.Filter{{Name: aws.String(fields[i]), Values: []string{v}}}
		}
	}
	var out []ec2types.Filter
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if v := tags[k]; v == "*" {
			out = append(out, ec2types.Filter{Name: aws.String("tag-key"), Values: []string{k}})
		} else {
			out = append(out, ec2types.Filter{Name: aws.String("tag:" + k), Values: []string{v}})
		}
	}
	return out
}
