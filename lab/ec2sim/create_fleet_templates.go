package ec2sim

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// resolveTemplates settles what each override launches: the template its config names, the
// instance type (the override's, else the template's) and the image (likewise). What EC2
// refuses for the whole request fails the call; an image whose architecture does not suit an
// override's instance type fails only that override, as EC2 reports it in errorSet. It must be
// called with s.mu held.
func (s *Sim) resolveTemplates(req *fleetRequest) *apiError {
	templates := make([]*launchTemplate, len(req.configs))
	for i, c := range req.configs {
		t, err := s.templates.find(c.templateID, c.templateName)
		if err != nil {
			return err
		}
		if err := t.checkVersion(c.version); err != nil {
			return err
		}
		templates[i] = t
	}
	req.templates = templates
	for i := range req.overrides {
		o := &req.overrides[i]
		c := req.configs[o.config]
		if err := s.settle(o, templates[o.config], c.version, req.instanceTags); err != nil {
			return err
		}
	}
	return nil
}

// settle fills one override's instance type, launch settings and any refusal.
func (s *Sim) settle(o *fleetOverride, t *launchTemplate, version string, fleetTags map[string]string) *apiError {
	o.echo.LaunchTemplateSpecification = &launchTemplateSpecXML{ID: t.id, Name: t.name, Version: version}
	o.instanceType = cmp.Or(o.echo.Overrides.InstanceType, t.data.instanceType)
	if o.instanceType == "" {
		return missingParameter("InstanceType")
	}
	instanceType, ok := s.types[o.instanceType]
	if !ok {
		return invalidParameterValue("launch template %s: InstanceType %q is not a valid instance type", t.id, o.instanceType)
	}
	imageID := cmp.Or(o.echo.Overrides.ImageID, t.data.imageID)
	if imageID == "" {
		return missingParameter("ImageId")
	}
	refusal, err := s.checkImage(imageID, instanceType)
	if err != nil {
		return err
	}
	o.refusal = cmp.Or(refusal, s.checkOffered(o))
	// A launch without an instance profile is EC2's to allow (its node will not join the
	// cluster, which the lab's kubelet checks); one naming a profile IAM does not have is not.
	if profile := t.data.profile.given(); profile != "" && s.profileExists != nil && !s.profileExists(profile) {
		return invalidParameterValue("Value (%s) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", profile)
	}
	tags := maps.Clone(t.data.tagsByResource["instance"])
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, fleetTags) // the fleet's own instance tags win, as in EC2
	// Without a registry the image is unknown: its root device is /dev/xvda, its volumes none.
	image, _ := s.imageByID(imageID)
	o.settings = instanceSettings{
		imageID:          imageID,
		userData:         t.data.decodedUserData(),
		securityGroupIDs: t.data.instanceGroups(),
		instanceProfile:  t.data.profile.given(),
		templateID:       t.id,
		templateName:     t.name,
		templateVersion:  "1", // the only version a simulated template has
		metadata:         t.data.metadata,
		tags:             tags,
		rootDeviceName:   image.rootDevice(),
		volumes:          launchVolumes(image.Volumes, t.data.blockDevices, o.blockDevices),
	}
	return nil
}

// checkImage applies the image registry: with none, any image will do. An unknown image fails
// the call; an architecture mismatch fails only the override (the returned refusal).
func (s *Sim) checkImage(imageID string, t catalog.Type) (refusal, err *apiError) {
	if len(s.images) == 0 {
		return nil, nil
	}
	image, ok := s.imageByID(imageID)
	if !ok {
		return nil, imageNotFound(imageID)
	}
	if len(t.Architectures) == 0 || slices.Contains(t.Architectures, image.Architecture) {
		return nil, nil
	}
	return invalidParameterValue("The architecture '%s' of the specified instance type does not match the architecture '%s' of the specified AMI. "+
		"Specify an instance type and an AMI that have matching architectures, and try again.", t.Architectures[0], image.Architecture), nil
}

// checkOffered refuses an override none of whose zones offers its instance type, with EC2's
// words, and keeps one that may launch in several zones to those that offer it. A refused
// override keeps its placements, so the request is authorised as it was made.
func (s *Sim) checkOffered(o *fleetOverride) *apiError {
	if len(o.placements) == 0 {
		return nil // nowhere to launch: shortfall reports it
	}
	var offered []placement
	var asked []string
	for _, pl := range o.placements {
		if s.market.Offered(o.instanceType, pl.zone) {
			offered = append(offered, pl)
		}
		if !slices.Contains(asked, pl.zone) {
			asked = append(asked, pl.zone)
		}
	}
	if len(offered) == 0 {
		return newAPIError(CodeUnsupported, "Your requested instance type (%s) is not supported in your requested Availability Zone (%s). "+
			"Please retry your request by not specifying an Availability Zone or choosing %s.",
			o.instanceType, strings.Join(asked, ", "), strings.Join(s.market.Zones(o.instanceType), ", "))
	}
	o.placements = offered
	return nil
}
