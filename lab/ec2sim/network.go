package ec2sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Subnet is a subnet of the simulated VPC. Instances launch into one per zone.
type Subnet struct {
	ID           string
	Zone         string
	ZoneID       string
	CIDR         string
	AvailableIPs int
	Tags         map[string]string
}

// SecurityGroup is a security group of the simulated VPC.
type SecurityGroup struct {
	ID          string
	Name        string
	Description string
	Tags        map[string]string
}

// VPCID is the simulated VPC every subnet and security group belongs to.
const VPCID = "vpc-0a1b2c3d4e5f60789"

// DiscoveryTag is the tag the default world's subnets and security group carry, with the
// value "lab", as the EKS guides tag theirs for Karpenter.
const DiscoveryTag = "karpenter.sh/discovery"

// defaultSubnets lays one /18 per zone, tagged for discovery, with ids the sim's launches
// have always used.
func defaultSubnets(zones []string) []Subnet {
	out := make([]Subnet, 0, len(zones))
	for i, z := range zones {
		out = append(out, Subnet{
			ID: subnetFor(z), Zone: z, ZoneID: defaultZoneID(z, i),
			CIDR: fmt.Sprintf("10.0.%d.0/18", 64*i), AvailableIPs: 16379, // a /18 less AWS's five
			Tags: map[string]string{DiscoveryTag: "lab", "Name": "lab-" + z},
		})
	}
	return out
}

// regionOf is a zone's region: us-east-1a belongs to us-east-1.
func regionOf(zone string) string { return strings.TrimRight(zone, "abcdefghijklmnopqrstuvwxyz") }

// defaultZoneID numbers the region's zones in order, as AZ ids name them: us-east-1's first
// zone is use1-az1, eu-west-1's euw1-az1.
func defaultZoneID(zone string, index int) string {
	return fmt.Sprintf("%s-az%d", zoneIDPrefix(regionOf(zone)), index+1)
}

// zoneIDPrefix shortens a region as AZ ids do: us-east-1 is use1, ap-southeast-2 apse2,
// us-gov-west-1 usgw1.
func zoneIDPrefix(region string) string {
	short := map[string]string{"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
		"northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw"}
	parts := strings.Split(region, "-")
	var b strings.Builder
	for i, part := range parts {
		switch {
		case i == 0 || i == len(parts)-1 || part == "":
			b.WriteString(part)
		case short[part] != "":
			b.WriteString(short[part])
		default:
			b.WriteString(part[:1])
		}
	}
	return b.String()
}

// zoneIDs names each zone by the AZ id of its first subnet, or, where no subnet says, by
// defaultZoneID.
func zoneIDs(zones []string, subnets []Subnet) map[string]string {
	out := map[string]string{}
	for _, sn := range subnets {
		if _, named := out[sn.Zone]; !named && sn.ZoneID != "" {
			out[sn.Zone] = sn.ZoneID
		}
	}
	for i, z := range zones {
		if _, named := out[z]; !named {
			out[z] = defaultZoneID(z, i)
		}
	}
	return out
}

func defaultSecurityGroups() []SecurityGroup {
	return []SecurityGroup{{
		ID: "sg-0c0ffee0d15c0ffee", Name: "lab-nodes", Description: "nodes of the lab cluster",
		Tags: map[string]string{DiscoveryTag: "lab"},
	}}
}

type describeSubnetsResponse struct {
	XMLName   struct{}    `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeSubnetsResponse"`
	RequestID string      `xml:"requestId"`
	Subnets   []subnetXML `xml:"subnetSet>item"`
	NextToken string      `xml:"nextToken,omitempty"`
}

type subnetXML struct {
	SubnetID     string   `xml:"subnetId"`
	State        string   `xml:"state"`
	VpcID        string   `xml:"vpcId"`
	OwnerID      string   `xml:"ownerId"`
	CIDR         string   `xml:"cidrBlock"`
	AvailableIPs int      `xml:"availableIpAddressCount"`
	Zone         string   `xml:"availabilityZone"`
	ZoneID       string   `xml:"availabilityZoneId"`
	DefaultForAz bool     `xml:"defaultForAz"`
	Tags         []tagXML `xml:"tagSet>item"`
}

type describeSecurityGroupsResponse struct {
	XMLName   struct{}           `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeSecurityGroupsResponse"`
	RequestID string             `xml:"requestId"`
	Groups    []securityGroupXML `xml:"securityGroupInfo>item"`
	NextToken string             `xml:"nextToken,omitempty"`
}

type securityGroupXML struct {
	OwnerID     string   `xml:"ownerId"`
	GroupID     string   `xml:"groupId"`
	GroupName   string   `xml:"groupName"`
	Description string   `xml:"groupDescription"`
	VpcID       string   `xml:"vpcId"`
	Tags        []tagXML `xml:"tagSet>item"`
}

// describeSubnets refuses an unknown id as EC2 does, and pages by the world's order.
func (s *Sim) describeSubnets(p params, requestID string) (any, *apiError) {
	ids := p.strings("SubnetId")
	match, err := parseFilters(p, subnetFilterField)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := s.subnetByID(id); !ok {
			return nil, newAPIError(CodeInvalidSubnetIDNotFound, "The subnet ID '%s' does not exist", id)
		}
	}
	page, next, err := pageOf(p, s.subnets, allAtOnce, func(sn Subnet) bool {
		return (len(ids) == 0 || slices.Contains(ids, sn.ID)) && match.match(sn)
	})
	if err != nil {
		return nil, err
	}
	resp := describeSubnetsResponse{RequestID: requestID, NextToken: next}
	for _, sn := range page {
		resp.Subnets = append(resp.Subnets, subnetXML{
			SubnetID: sn.ID, State: "available", VpcID: VPCID, OwnerID: ownerID, CIDR: sn.CIDR,
			AvailableIPs: sn.AvailableIPs, Zone: sn.Zone, ZoneID: sn.ZoneID, Tags: tagsXML(sn.Tags),
		})
	}
	return resp, nil
}

// describeSecurityGroups refuses an unknown id or name as EC2 does, and ids or names with
// MaxResults, as EC2 does.
func (s *Sim) describeSecurityGroups(p params, requestID string) (any, *apiError) {
	ids, names := p.strings("GroupId"), p.strings("GroupName")
	match, err := parseFilters(p, securityGroupFilterField)
	if err != nil {
		return nil, err
	}
	if _, paged, _ := p.integer("MaxResults"); paged && len(ids)+len(names) > 0 {
		return nil, newAPIError(CodeInvalidParameterCombination, "The parameter groupIds cannot be used with the parameter maxResults")
	}
	if err := s.checkGroupsExist(ids); err != nil {
		return nil, err
	}
	for _, name := range names {
		if !slices.ContainsFunc(s.groups, func(g SecurityGroup) bool { return g.Name == name }) {
			return nil, newAPIError(CodeInvalidGroupNotFound, "The security group '%s' does not exist in default VPC '%s'", name, VPCID)
		}
	}
	page, next, err := pageOf(p, s.groups, allAtOnce, func(g SecurityGroup) bool {
		return (len(ids) == 0 || slices.Contains(ids, g.ID)) && (len(names) == 0 || slices.Contains(names, g.Name)) && match.match(g)
	})
	if err != nil {
		return nil, err
	}
	resp := describeSecurityGroupsResponse{RequestID: requestID, NextToken: next}
	for _, g := range page {
		resp.Groups = append(resp.Groups, securityGroupXML{
			OwnerID: ownerID, GroupID: g.ID, GroupName: g.Name, Description: g.Description, VpcID: VPCID, Tags: tagsXML(g.Tags),
		})
	}
	return resp, nil
}

func tagsXML(tags map[string]string) []tagXML {
	var out []tagXML
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, tagXML{Key: k, Value: tags[k]})
	}
	return out
}

// tagFilterField answers the tag filters every Describe action shares.
func tagFilterField[T any](name string, tagsOf func(T) map[string]string) (filterField[T], bool) {
	if key, ok := strings.CutPrefix(name, "tag:"); ok {
		return func(item T) []string {
			if v, ok := tagsOf(item)[key]; ok {
				return []string{v}
			}
			return nil
		}, true
	}
	switch name {
	case "tag-key":
		return func(item T) []string { return slices.Sorted(maps.Keys(tagsOf(item))) }, true
	case "tag-value":
		return func(item T) []string {
			tags := tagsOf(item)
			var values []string
			for _, k := range slices.Sorted(maps.Keys(tags)) {
				values = append(values, tags[k])
			}
			return values
		}, true
	}
	return nil, false
}

// subnetFilterField names the DescribeSubnets filters the simulator understands.
func subnetFilterField(name string) (filterField[Subnet], bool) {
	if f, ok := tagFilterField(name, func(s Subnet) map[string]string { return s.Tags }); ok {
		return f, true
	}
	one := func(get func(Subnet) string) (filterField[Subnet], bool) {
		return func(s Subnet) []string { return []string{get(s)} }, true
	}
	switch name {
	case "subnet-id":
		return one(func(s Subnet) string { return s.ID })
	case "availability-zone":
		return one(func(s Subnet) string { return s.Zone })
	case "availability-zone-id":
		return one(func(s Subnet) string { return s.ZoneID })
	case "cidr-block":
		return one(func(s Subnet) string { return s.CIDR })
	case "vpc-id":
		return one(func(Subnet) string { return VPCID })
	case "state":
		return one(func(Subnet) string { return "available" })
	}
	return nil, false
}

// securityGroupFilterField names the DescribeSecurityGroups filters the simulator understands.
func securityGroupFilterField(name string) (filterField[SecurityGroup], bool) {
	if f, ok := tagFilterField(name, func(g SecurityGroup) map[string]string { return g.Tags }); ok {
		return f, true
	}
	one := func(get func(SecurityGroup) string) (filterField[SecurityGroup], bool) {
		return func(g SecurityGroup) []string { return []string{get(g)} }, true
	}
	switch name {
	case "group-id":
		return one(func(g SecurityGroup) string { return g.ID })
	case "group-name":
		return one(func(g SecurityGroup) string { return g.Name })
	case "description":
		return one(func(g SecurityGroup) string { return g.Description })
	case "vpc-id":
		return one(func(SecurityGroup) string { return VPCID })
	}
	return nil, false
}

// placementsIn is where a launch naming only the zone may go: the zone's first subnet, as EC2
// picks the default subnet; none when the VPC has no subnet there.
func (s *Sim) placementsIn(zone string) []placement {
	for _, sn := range s.subnets {
		if sn.Zone == zone {
			return []placement{{zone, sn.ID}}
		}
	}
	return nil
}

// Subnet returns the VPC's subnet with the id, its tags a copy.
func (s *Sim) Subnet(id string) (Subnet, bool) {
	sn, ok := s.subnetByID(id)
	sn.Tags = maps.Clone(sn.Tags)
	return sn, ok
}

// subnetByID shares the subnet's tags: for the simulator's own reads, which never write them.
func (s *Sim) subnetByID(id string) (Subnet, bool) {
	i := slices.IndexFunc(s.subnets, func(sn Subnet) bool { return sn.ID == id })
	if i < 0 {
		return Subnet{}, false
	}
	return s.subnets[i], true
}

// groupByID shares the group's tags: for the simulator's own reads, which never write them.
func (s *Sim) groupByID(id string) (SecurityGroup, bool) {
	i := slices.IndexFunc(s.groups, func(g SecurityGroup) bool { return g.ID == id })
	if i < 0 {
		return SecurityGroup{}, false
	}
	return s.groups[i], true
}

// checkGroupsExist refuses a security group the VPC does not have; s.groups is fixed at New.
func (s *Sim) checkGroupsExist(ids []string) *apiError {
	for _, id := range ids {
		if _, ok := s.groupByID(id); !ok {
			return newAPIError(CodeInvalidGroupNotFound, "The security group '%s' does not exist", id)
		}
	}
	return nil
}
