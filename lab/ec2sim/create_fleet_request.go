package ec2sim

import (
	"maps"
	"slices"
	"strconv"
)

// fleetRequest is a parsed CreateFleet call. Parsing reads only the request; the templates it
// names are resolved later, under the lock (resolveTemplates).
type fleetRequest struct {
	clientToken  string
	fingerprint  string         // the parameters minus ClientToken, for idempotency checks
	counts       map[string]int // instances wanted per capacity type
	configs      []fleetConfig
	overrides    []fleetOverride
	tags         map[string]map[string]string // TagSpecification: resource type → tags
	instanceTags map[string]string            // tags["instance"], never nil

	templates []*launchTemplate // one per config, set by resolveTemplates
}

// fleetConfig is one LaunchTemplateConfigs.N: the template it names, by id or by name.
type fleetConfig struct {
	templateID, templateName string
	version                  string // as given: "", "$Latest", "$Default" or a number
}

// fleetOverride is one LaunchTemplateConfigs.N.Overrides.M entry: echo is what the response
// repeats back, placements are the zone/subnet pairs it may launch into. The fields after
// config are settled by resolveTemplates.
type fleetOverride struct {
	echo       launchTemplateAndOverridesXML
	placements []placement
	config     int // index into fleetRequest.configs
	// blockDevices are the override's BlockDeviceMapping.N, applied over the template's.
	blockDevices []blockDevice

	instanceType string // the override's, else the template's
	settings     instanceSettings
	refusal      *apiError // why this override cannot launch, reported in errorSet; nil if it can
}

type placement struct{ zone, subnetID string }

func (s *Sim) parseFleetRequest(p params) (fleetRequest, *apiError) {
	req := fleetRequest{
		clientToken: p.str("ClientToken"),
		fingerprint: p.fingerprint("ClientToken"),
		tags:        fleetTags(p),
	}
	req.instanceTags = req.tags["instance"]
	if req.instanceTags == nil {
		req.instanceTags = map[string]string{}
	}
	if t := p.str("Type"); t != "instant" {
		return req, invalidParameterValue("Type: the simulator supports only instant fleets, got %q", t)
	}
	counts, err := parseTargetCapacity(p)
	if err != nil {
		return req, err
	}
	req.counts = counts
	configs := p.members("LaunchTemplateConfigs")
	if len(configs) == 0 {
		return req, missingParameter("LaunchTemplateConfigs")
	}
	for i, config := range configs {
		c, err := parseFleetConfig(p, config)
		if err != nil {
			return req, err
		}
		req.configs = append(req.configs, c)
		overrides, err := s.parseOverrides(p, config, i)
		if err != nil {
			return req, err
		}
		req.overrides = append(req.overrides, overrides...)
	}
	return req, nil
}

// parseFleetConfig reads the template a config names: by id or by name, never both, as EC2 asks.
func parseFleetConfig(p params, config string) (fleetConfig, *apiError) {
	spec := config + ".LaunchTemplateSpecification."
	c := fleetConfig{
		templateID:   p.str(spec + "LaunchTemplateId"),
		templateName: p.str(spec + "LaunchTemplateName"),
		version:      p.str(spec + "Version"),
	}
	switch {
	case c.templateID == "" && c.templateName == "":
		return c, missingParameter(spec + "LaunchTemplateId or " + spec + "LaunchTemplateName")
	case c.templateID != "" && c.templateName != "":
		return c, newAPIError(CodeInvalidParameterCombination, "%sLaunchTemplateId and %sLaunchTemplateName cannot both be given", spec, spec)
	}
	return c, nil
}

// parseTargetCapacity splits TotalTargetCapacity into spot and on-demand counts: explicit
// Spot/OnDemandTargetCapacity first, the rest as DefaultTargetCapacityType.
func parseTargetCapacity(p params) (map[string]int, *apiError) {
	const prefix = "TargetCapacitySpecification."
	total, present, err := p.integer(prefix + "TotalTargetCapacity")
	if err != nil {
		return nil, err
	}
	if !present || total < 1 {
		return nil, invalidParameterValue("%sTotalTargetCapacity must be at least 1", prefix)
	}
	spot, _, err := p.integer(prefix + "SpotTargetCapacity")
	if err != nil {
		return nil, err
	}
	onDemand, _, err := p.integer(prefix + "OnDemandTargetCapacity")
	if err != nil {
		return nil, err
	}
	if spot < 0 || onDemand < 0 || spot+onDemand > total {
		return nil, invalidParameterValue("%sSpotTargetCapacity plus OnDemandTargetCapacity exceed TotalTargetCapacity", prefix)
	}
	defaultType := p.str(prefix + "DefaultTargetCapacityType")
	switch defaultType {
	case "":
		defaultType = CapacityOnDemand
	case CapacitySpot, CapacityOnDemand:
	default:
		return nil, invalidParameterValue("%sDefaultTargetCapacityType: %q is not spot or on-demand", prefix, defaultType)
	}
	counts := map[string]int{CapacitySpot: spot, CapacityOnDemand: onDemand}
	counts[defaultType] += total - spot - onDemand
	return counts, nil
}

// parseOverrides reads one launch template config's overrides. The simulator needs at least
// one: it launches only what an override places.
func (s *Sim) parseOverrides(p params, config string, index int) ([]fleetOverride, *apiError) {
	members := p.members(config + ".Overrides")
	if len(members) == 0 {
		return nil, missingParameter(config + ".Overrides (the simulator needs overrides naming instance types)")
	}
	var out []fleetOverride
	for _, m := range members {
		o, err := s.parseOverride(p, m)
		if err != nil {
			return nil, err
		}
		o.config = index
		out = append(out, o)
	}
	return out, nil
}

// parseOverride reads one override. Its InstanceType may be left to the template; one given
// must be a type the region has.
func (s *Sim) parseOverride(p params, m string) (fleetOverride, *apiError) {
	echo := overridesXML{
		InstanceType:     p.str(m + ".InstanceType"),
		SubnetID:         p.str(m + ".SubnetId"),
		AvailabilityZone: p.str(m + ".AvailabilityZone"),
		ImageID:          p.str(m + ".ImageId"),
	}
	if _, ok := s.types[echo.InstanceType]; !ok && echo.InstanceType != "" {
		return fleetOverride{}, invalidParameterValue("%s.InstanceType: %q is not a valid instance type", m, echo.InstanceType)
	}
	if raw := p.str(m + ".Priority"); raw != "" {
		priority, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fleetOverride{}, invalidParameterValue("%s.Priority: %q is not a number", m, raw)
		}
		echo.Priority = &priority
	}
	placements, err := s.placementsOf(m, echo.SubnetID, echo.AvailabilityZone)
	if err != nil {
		return fleetOverride{}, err
	}
	blockDevices, err := parseBlockDevices(p, m+".BlockDeviceMapping")
	if err != nil {
		return fleetOverride{}, err
	}
	return fleetOverride{echo: launchTemplateAndOverridesXML{Overrides: &echo}, placements: placements, blockDevices: blockDevices}, nil
}

// placementsOf resolves an override's subnet or zone; with neither, any zone will do.
func (s *Sim) placementsOf(m, subnetID, zone string) ([]placement, *apiError) {
	switch {
	case subnetID != "":
		subnetZone, ok := s.zoneOfSubnet(subnetID)
		if !ok {
			return nil, newAPIError(CodeInvalidSubnetIDNotFound, "The subnet ID '%s' does not exist", subnetID)
		}
		if zone != "" && zone != subnetZone {
			return nil, newAPIError(CodeInvalidParameterCombination, "%s: subnet %s is in %s, not %s", m, subnetID, subnetZone, zone)
		}
		return []placement{{subnetZone, subnetID}}, nil
	case zone != "":
		if !slices.Contains(s.zones, zone) {
			return nil, invalidParameterValue("%s.AvailabilityZone: %q is not a zone of this region", m, zone)
		}
		if in := s.placementsIn(zone); len(in) > 0 {
			return in, nil
		}
		return nil, invalidParameterValue("%s.AvailabilityZone: no subnet of the VPC is in %s; name a SubnetId", m, zone)
	}
	var all []placement
	for _, z := range s.zones {
		all = append(all, s.placementsIn(z)...)
	}
	return all, nil
}

// fleetTags collects the tags of every TagSpecification by ResourceType. Instances keep theirs;
// the others (fleet, volume, ...) are kept only to authorise the request, since the simulator
// keeps no fleets, volumes or interfaces.
func fleetTags(p params) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, spec := range p.members("TagSpecification") {
		resourceType := p.str(spec + ".ResourceType")
		if out[resourceType] == nil {
			out[resourceType] = map[string]string{}
		}
		maps.Copy(out[resourceType], p.tags(spec))
	}
	return out
}
