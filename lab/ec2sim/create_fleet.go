package ec2sim

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

type createFleetResponse struct {
	XMLName   struct{}           `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ CreateFleetResponse"`
	RequestID string             `xml:"requestId"`
	FleetID   string             `xml:"fleetId"`
	Errors    []fleetErrorXML    `xml:"errorSet>item"`
	Instances []fleetInstanceXML `xml:"fleetInstanceSet>item"`
}

type fleetErrorXML struct {
	LaunchTemplateAndOverrides launchTemplateAndOverridesXML `xml:"launchTemplateAndOverrides"`
	Lifecycle                  string                        `xml:"lifecycle"`
	ErrorCode                  string                        `xml:"errorCode"`
	ErrorMessage               string                        `xml:"errorMessage"`
}

type fleetInstanceXML struct {
	LaunchTemplateAndOverrides launchTemplateAndOverridesXML `xml:"launchTemplateAndOverrides"`
	Lifecycle                  string                        `xml:"lifecycle"`
	InstanceIDs                []string                      `xml:"instanceIds>item"`
	InstanceType               string                        `xml:"instanceType"`
	AvailabilityZone           string                        `xml:"availabilityZone"`
	SubnetID                   string                        `xml:"subnetId"`
}

type launchTemplateAndOverridesXML struct {
	LaunchTemplateSpecification *launchTemplateSpecXML `xml:"launchTemplateSpecification,omitempty"`
	Overrides                   *overridesXML          `xml:"overrides,omitempty"`
}

type launchTemplateSpecXML struct {
	ID      string `xml:"launchTemplateId,omitempty"`
	Name    string `xml:"launchTemplateName,omitempty"`
	Version string `xml:"version,omitempty"`
}

type overridesXML struct {
	InstanceType     string   `xml:"instanceType,omitempty"`
	SubnetID         string   `xml:"subnetId,omitempty"`
	AvailabilityZone string   `xml:"availabilityZone,omitempty"`
	ImageID          string   `xml:"imageId,omitempty"`
	Priority         *float64 `xml:"priority,omitempty"`
}

// fleetReplay is what a client token remembers: the answer, and the parameters that earned it.
type fleetReplay struct {
	fingerprint string
	response    createFleetResponse
}

// createFleet launches an instant fleet. Capacity shortfalls are not API errors: like EC2, the
// call succeeds and lists InsufficientInstanceCapacity in errorSet. A repeated client token
// replays its answer before the templates are looked at, so a retry still succeeds after the
// template it launched from was deleted.
//
// With a policy, the request is authorised once its templates are resolved (fleetAccesses), so
// a denial launches nothing, mints no fleet id and leaves its client token unused. A replay is
// not authorised again: the policy is fixed at New and the parameters are the same.
func (s *Sim) createFleet(p params, requestID string, c caller) (any, *apiError) {
	req, err := s.parseFleetRequest(p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prior, seen := s.byToken[req.clientToken]; seen && req.clientToken != "" {
		if prior.fingerprint != req.fingerprint {
			return nil, newAPIError(CodeIdempotentParameterMismatch,
				"The client token %s was already used with different parameters.", req.clientToken)
		}
		replay := prior.response
		replay.RequestID = requestID
		return replay, nil
	}
	if err := s.resolveTemplates(&req); err != nil {
		return nil, err
	}
	if err := s.authorize(c, s.fleetAccesses(req)...); err != nil {
		return nil, err
	}
	resp := createFleetResponse{RequestID: requestID, FleetID: s.ids.fleetID()}
	resp.Instances, resp.Errors = s.fulfil(req)
	if req.clientToken != "" {
		s.byToken[req.clientToken] = fleetReplay{fingerprint: req.fingerprint, response: resp}
	}
	return resp, nil
}

// candidate is one override placed in one zone, priced for one capacity type.
type candidate struct {
	override     int
	instanceType string
	placement
	price    float64
	priority float64
}

// fulfil must be called with s.mu held. Every allocation strategy is treated as lowest price:
// each instance goes to the cheapest override pool that still has capacity.
func (s *Sim) fulfil(req fleetRequest) ([]fleetInstanceXML, []fleetErrorXML) {
	var groups fleetGroups
	var failures []fleetErrorXML
	reservationID := s.ids.reservationID()
	for _, capacityType := range []string{CapacityOnDemand, CapacitySpot} {
		if req.counts[capacityType] > 0 {
			failures = append(failures, refusals(req, capacityType)...)
		}
		for range req.counts[capacityType] {
			c, ok := s.cheapest(req, capacityType)
			if !ok {
				failures = append(failures, s.shortfall(req, capacityType)...)
				break
			}
			s.takeCapacity(capacityKey{c.instanceType, c.zone, capacityType})
			r := s.launch(s.types[c.instanceType], c.placement, capacityType, req.overrides[c.override].settings, reservationID, c.price)
			groups.add(c.override, req.overrides[c.override].echo, r)
		}
	}
	return groups.items, failures
}

// cheapest picks by price, then override priority (lower first, absent last), then request order.
func (s *Sim) cheapest(req fleetRequest, capacityType string) (candidate, bool) {
	var pool []candidate
	for i, o := range req.overrides {
		t := s.types[o.instanceType]
		if o.refusal != nil || capacityType == CapacitySpot && !t.SupportsSpot() {
			continue
		}
		priority := math.Inf(1)
		if o.echo.Overrides.Priority != nil {
			priority = *o.echo.Overrides.Priority
		}
		for _, pl := range o.placements {
			price, sold := s.priceOf(t.Name, pl.zone, capacityType)
			if sold && s.hasCapacity(capacityKey{t.Name, pl.zone, capacityType}) {
				pool = append(pool, candidate{override: i, instanceType: t.Name, placement: pl, price: price, priority: priority})
			}
		}
	}
	if len(pool) == 0 {
		return candidate{}, false
	}
	return slices.MinFunc(pool, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.price, b.price), cmp.Compare(a.priority, b.priority), cmp.Compare(a.override, b.override))
	}), true
}

// priceOf is the market's price of the type in the zone, now; sold is false where the market
// does not sell it there that way.
func (s *Sim) priceOf(instanceType, zone, capacityType string) (price float64, sold bool) {
	if capacityType == CapacitySpot {
		return s.market.SpotPrice(instanceType, zone, s.clock())
	}
	return s.market.OnDemandPrice(instanceType)
}

// refusals report the overrides that cannot launch at all, once per capacity type asked for.
func refusals(req fleetRequest, capacityType string) []fleetErrorXML {
	var out []fleetErrorXML
	for _, o := range req.overrides {
		if o.refusal != nil {
			out = append(out, fleetErrorXML{LaunchTemplateAndOverrides: o.echo, Lifecycle: capacityType, ErrorCode: o.refusal.Code, ErrorMessage: o.refusal.Message})
		}
	}
	return out
}

// shortfall explains, per override that could launch, why no more capacityType instances did.
func (s *Sim) shortfall(req fleetRequest, capacityType string) []fleetErrorXML {
	var out []fleetErrorXML
	for _, o := range req.overrides {
		if o.refusal != nil {
			continue // already reported by refusals
		}
		instanceType := o.instanceType
		e := fleetErrorXML{LaunchTemplateAndOverrides: o.echo, Lifecycle: capacityType, ErrorCode: CodeInsufficientInstanceCapacity}
		if capacityType == CapacitySpot && !s.types[instanceType].SupportsSpot() {
			e.ErrorCode = CodeUnsupported
			e.ErrorMessage = "The instance type " + instanceType + " is not offered as spot."
		} else {
			var zones []string
			for _, pl := range o.placements {
				zones = append(zones, pl.zone)
			}
			e.ErrorMessage = "We currently do not have sufficient " + instanceType + " capacity in the Availability Zone you requested (" + strings.Join(zones, ", ") + ")."
		}
		out = append(out, e)
	}
	return out
}

// fleetGroups files instances under their override, zone and lifecycle, as fleetInstanceSet does.
type fleetGroups struct {
	items []fleetInstanceXML
	index map[fleetGroupKey]int
}

type fleetGroupKey struct {
	override           int
	zone, capacityType string
}

func (g *fleetGroups) add(override int, echo launchTemplateAndOverridesXML, r *record) {
	key := fleetGroupKey{override, r.Zone, r.CapacityType}
	if i, ok := g.index[key]; ok {
		g.items[i].InstanceIDs = append(g.items[i].InstanceIDs, r.ID)
		return
	}
	if g.index == nil {
		g.index = map[fleetGroupKey]int{}
	}
	g.index[key] = len(g.items)
	g.items = append(g.items, fleetInstanceXML{
		LaunchTemplateAndOverrides: echo,
		Lifecycle:                  r.CapacityType,
		InstanceIDs:                []string{r.ID},
		InstanceType:               r.Type,
		AvailabilityZone:           r.Zone,
		SubnetID:                   r.SubnetID,
	})
}
