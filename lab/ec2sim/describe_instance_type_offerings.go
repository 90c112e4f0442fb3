package ec2sim

import (
	"cmp"
	"slices"
)

type describeInstanceTypeOfferingsResponse struct {
	XMLName   struct{}      `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeInstanceTypeOfferingsResponse"`
	RequestID string        `xml:"requestId"`
	Offerings []offeringXML `xml:"instanceTypeOfferingSet>item"`
	NextToken string        `xml:"nextToken,omitempty"`
}

type offeringXML struct {
	InstanceType string `xml:"instanceType"`
	LocationType string `xml:"locationType"`
	Location     string `xml:"location"`
}

// Location types of DescribeInstanceTypeOfferings, as EC2 spells them.
const (
	locationRegion  = "region"
	locationZone    = "availability-zone"
	locationZoneID  = "availability-zone-id"
	locationOutpost = "outpost"
)

// offeringsPage is how many offerings a page holds without MaxResults.
const offeringsPage = 1000

// describeInstanceTypeOfferings lists where the region sells each type: once for the region
// (the default LocationType), or once per zone that offers it, the zone named or by its AZ id.
// Offerings come by location, then type; the simulated region has no outposts.
func (s *Sim) describeInstanceTypeOfferings(p params, requestID string) (any, *apiError) {
	offerings, err := s.offerings(cmp.Or(p.str("LocationType"), locationRegion))
	if err != nil {
		return nil, err
	}
	match, err := parseFilters(p, offeringFilterField)
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(p, offerings, offeringsPage, match.match)
	if err != nil {
		return nil, err
	}
	return describeInstanceTypeOfferingsResponse{RequestID: requestID, Offerings: page, NextToken: next}, nil
}

// offerings are every offering of a location type, sorted by location, then type.
func (s *Sim) offerings(locationType string) ([]offeringXML, *apiError) {
	var out []offeringXML
	switch locationType {
	case locationRegion:
		for _, name := range s.typeNames {
			out = append(out, offeringXML{InstanceType: name, LocationType: locationType, Location: s.region()})
		}
	case locationZone, locationZoneID:
		for _, zone := range s.zones {
			location := zone
			if locationType == locationZoneID {
				location = s.zoneIDs[zone]
			}
			for _, name := range s.typeNames {
				if s.market.Offered(name, zone) {
					out = append(out, offeringXML{InstanceType: name, LocationType: locationType, Location: location})
				}
			}
		}
	case locationOutpost:
	default:
		return nil, invalidParameterValue("Value (%s) for parameter locationType is invalid. Expecting one of: %s, %s, %s, %s.",
			locationType, locationRegion, locationZone, locationZoneID, locationOutpost)
	}
	slices.SortStableFunc(out, func(a, b offeringXML) int {
		return cmp.Or(cmp.Compare(a.Location, b.Location), cmp.Compare(a.InstanceType, b.InstanceType))
	})
	return out, nil
}

// offeringFilterField names the DescribeInstanceTypeOfferings filters.
func offeringFilterField(name string) (filterField[offeringXML], bool) {
	switch name {
	case "instance-type":
		return func(o offeringXML) []string { return []string{o.InstanceType} }, true
	case "location":
		return func(o offeringXML) []string { return []string{o.Location} }, true
	}
	return nil, false
}
