package ec2sim

import (
	"slices"
	"strconv"
	"strings"
)

type describeInstancesResponse struct {
	XMLName      struct{}         `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeInstancesResponse"`
	RequestID    string           `xml:"requestId"`
	Reservations []reservationXML `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

type reservationXML struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Instances     []instanceXML `xml:"instancesSet>item"`
}

type instanceXML struct {
	InstanceID            string       `xml:"instanceId"`
	InstanceState         stateXML     `xml:"instanceState"`
	PrivateDNSName        string       `xml:"privateDnsName"`
	InstanceType          string       `xml:"instanceType"`
	LaunchTime            string       `xml:"launchTime"`
	Placement             placementXML `xml:"placement"`
	SubnetID              string       `xml:"subnetId"`
	PrivateIPAddress      string       `xml:"privateIpAddress"`
	Architecture          string       `xml:"architecture,omitempty"`
	InstanceLifecycle     string       `xml:"instanceLifecycle,omitempty"`
	SpotInstanceRequestID string       `xml:"spotInstanceRequestId,omitempty"`
	ImageID               string       `xml:"imageId,omitempty"`
	Groups                []groupXML   `xml:"groupSet>item"`
	IAMInstanceProfile    *profileXML  `xml:"iamInstanceProfile,omitempty"`
	MetadataOptions       *metadataXML `xml:"metadataOptions,omitempty"`
	Tags                  []tagXML     `xml:"tagSet>item"`
}

type groupXML struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type profileXML struct {
	ARN string `xml:"arn"`
}

type metadataXML struct {
	State            string `xml:"state"`
	HTTPTokens       string `xml:"httpTokens,omitempty"`
	HopLimit         int    `xml:"httpPutResponseHopLimit,omitempty"`
	HTTPEndpoint     string `xml:"httpEndpoint,omitempty"`
	HTTPProtocolIPv6 string `xml:"httpProtocolIpv6,omitempty"`
}

type placementXML struct {
	AvailabilityZone string `xml:"availabilityZone"`
	Tenancy          string `xml:"tenancy"`
}

// AccountID is the account the simulated region's instances, templates, subnets and groups
// belong to, as ARNs and the responses' ownerId fields name it.
const AccountID = "123456789012"

// ownerID is AccountID as the responses' ownerId fields use it.
const ownerID = AccountID

// iamAccountID is the account in the ARN of a profile given by name: lab/iamsim's default
// account, which holds the lab's instance profiles. It differs from ownerID, as it would if
// the lab's IAM lived in another account.
const iamAccountID = "111122223333"

// describeInstances pages by launch order; without MaxResults it returns everything, like EC2.
func (s *Sim) describeInstances(p params, requestID string) (any, *apiError) {
	ids := p.strings("InstanceId")
	match, err := parseFilters(p, instanceFilterField)
	if err != nil {
		return nil, err
	}
	_, paged, _ := p.integer("MaxResults")
	if paged && len(ids) > 0 {
		return nil, newAPIError(CodeInvalidParameterCombination, "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	limit, err := pageSize(p, 5, 1000, -1)
	if err != nil {
		return nil, err
	}
	after, err := seqCursor(p.str("NextToken"))
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkKnown(ids); err != nil {
		return nil, err
	}
	var page []*record
	resp := describeInstancesResponse{RequestID: requestID}
	for _, r := range s.launched {
		if r.seq <= after || (len(ids) > 0 && !slices.Contains(ids, r.ID)) || !match.match(r) {
			continue
		}
		if limit >= 0 && len(page) == limit {
			resp.NextToken = encodeToken(strconv.Itoa(page[len(page)-1].seq))
			break
		}
		page = append(page, r)
	}
	resp.Reservations = s.byReservation(page)
	return resp, nil
}

func seqCursor(token string) (int, *apiError) {
	if token == "" {
		return 0, nil
	}
	cursor, err := decodeToken(token)
	if err != nil {
		return 0, err
	}
	seq, convErr := strconv.Atoi(cursor)
	if convErr != nil {
		return 0, newAPIError(CodeInvalidPaginationToken, "Invalid pagination token: %s", token)
	}
	return seq, nil
}

// byReservation groups neighbouring instances of one launch, as EC2 nests them.
func (s *Sim) byReservation(records []*record) []reservationXML {
	var out []reservationXML
	for _, r := range records {
		if len(out) == 0 || out[len(out)-1].ReservationID != r.reservationID {
			out = append(out, reservationXML{ReservationID: r.reservationID, OwnerID: ownerID})
		}
		last := &out[len(out)-1]
		last.Instances = append(last.Instances, s.toInstanceXML(r))
	}
	return out
}

func (s *Sim) toInstanceXML(r *record) instanceXML {
	x := instanceXML{
		InstanceID:            r.ID,
		InstanceState:         stateXML{Code: stateCode(r.State), Name: r.State},
		PrivateDNSName:        r.PrivateDNSName,
		InstanceType:          r.Type,
		LaunchTime:            ec2Time(r.LaunchTime),
		Placement:             placementXML{AvailabilityZone: r.Zone, Tenancy: "default"},
		SubnetID:              r.SubnetID,
		PrivateIPAddress:      r.PrivateIP,
		Architecture:          r.architecture,
		SpotInstanceRequestID: r.spotRequestID,
		ImageID:               r.ImageID,
		Groups:                s.groupsXML(r.SecurityGroupIDs),
		IAMInstanceProfile:    profileOf(r.InstanceProfile),
		MetadataOptions:       metadataOf(r.metadata),
	}
	if r.CapacityType == CapacitySpot {
		x.InstanceLifecycle = CapacitySpot
	}
	x.Tags = tagsXML(r.Tags)
	return x
}

// groupsXML names each group; s.groups is fixed at New, so no lock is needed.
func (s *Sim) groupsXML(ids []string) []groupXML {
	var out []groupXML
	for _, id := range ids {
		g, _ := s.groupByID(id)
		out = append(out, groupXML{GroupID: id, GroupName: g.Name})
	}
	return out
}

// profileOf shows a profile as EC2 does, by ARN, making one for a profile given by name.
func profileOf(given string) *profileXML {
	switch {
	case given == "":
		return nil
	case strings.HasPrefix(given, "arn:"):
		return &profileXML{ARN: given}
	}
	return &profileXML{ARN: "arn:aws:iam::" + iamAccountID + ":instance-profile/" + given}
}

func metadataOf(m metadataOptions) *metadataXML {
	if !m.set() {
		return nil
	}
	return &metadataXML{State: "applied", HTTPTokens: m.httpTokens, HopLimit: m.hopLimit, HTTPEndpoint: m.httpEndpoint, HTTPProtocolIPv6: m.httpProtocolIPv6}
}
