package ec2sim

import (
	"maps"
	"slices"
	"strings"
)

// What EC2 authorises for each action the simulator serves, when Options.Policy is set:
//
//   - Describe*: the action on "*", since they name no resource.
//   - CreateLaunchTemplate: ec2:CreateLaunchTemplate on launch-template/* with the tags asked
//     for as aws:RequestTag/<key> and aws:TagKeys; when there are tags, also ec2:CreateTags
//     with ec2:CreateAction=CreateLaunchTemplate, as EC2 authorises tagging on creation.
//   - DeleteLaunchTemplate: ec2:DeleteLaunchTemplate on launch-template/<id> with the
//     template's tags as aws:ResourceTag/<key>.
//   - TerminateInstances: ec2:TerminateInstances on each instance/<id> with its tags.
//   - CreateFleet: see fleetAccesses.
//
// Every access also carries aws:RequestedRegion, the region the request was signed for.

func describeAccess(action string) access {
	return access{action: "ec2:" + action, resource: "*"}
}

func (s *Sim) createTemplateAccesses(tags map[string]string) []access {
	lt := s.arn("launch-template", "*")
	out := []access{{action: "ec2:CreateLaunchTemplate", resource: lt, context: requestTags(tags)}}
	if len(tags) > 0 {
		out = append(out, access{action: "ec2:CreateTags", resource: lt, context: withKey(requestTags(tags), "ec2:CreateAction", "CreateLaunchTemplate")})
	}
	return out
}

func (s *Sim) deleteTemplateAccess(t *launchTemplate) access {
	return access{action: "ec2:DeleteLaunchTemplate", resource: s.arn("launch-template", t.id), context: resourceTags(t.tags)}
}

// terminateAccesses must be called with s.mu held, for ids that are all known.
func (s *Sim) terminateAccesses(ids []string) []access {
	out := make([]access, 0, len(ids))
	for _, id := range ids {
		out = append(out, access{action: "ec2:TerminateInstances", resource: s.arn("instance", id), context: resourceTags(s.records[id].Tags)})
	}
	return out
}

// fleetAccesses lists what EC2 authorises for an instant fleet whose templates are resolved.
// EC2 checks ec2:CreateFleet and, since the fleet launches through RunInstances,
// ec2:RunInstances too, each on every resource the call would create or use:
//
//   - created (createdByFleet): the fleet, and per instance its instance, root volume and
//     primary network interface, and a spot-instances-request when spot capacity is asked
//     for. Each carries the tags it would be created with as aws:RequestTag/<key> and
//     aws:TagKeys; a resource type nobody tags carries none. Where there are tags, EC2 also
//     authorises ec2:CreateTags on the resource with ec2:CreateAction=CreateFleet.
//   - used (usedByFleet): each launch template, image, subnet and security group, with its
//     tags as aws:ResourceTag/<key>. Like EC2 (as Karpenter's maintainers found), the request's
//     tags are not passed with the launch template.
//
// Left out: iam:PassRole for the template's instance profile, which IAM authorises and the EC2
// simulator does not model; snapshots behind the images, key pairs and placement groups,
// which the simulator has none of. It must be called with s.mu held.
func (s *Sim) fleetAccesses(req fleetRequest) []access {
	var list accessList
	created := createdByFleet(req)
	used := s.usedByFleet(req)
	for _, action := range []string{"ec2:CreateFleet", "ec2:RunInstances"} {
		for _, r := range created {
			if r.kind == "fleet" && action == "ec2:RunInstances" {
				continue // RunInstances makes instances, not fleets
			}
			list.add(access{action: action, resource: s.arn(r.kind, "*"), context: requestTags(r.tags)})
		}
		for _, u := range used {
			list.add(access{action: action, resource: u.arn, context: resourceTags(u.tags)})
		}
	}
	for _, r := range created {
		if len(r.tags) > 0 {
			list.add(access{action: "ec2:CreateTags", resource: s.arn(r.kind, "*"), context: withKey(requestTags(r.tags), "ec2:CreateAction", "CreateFleet")})
		}
	}
	return list.items
}

// createdResource is a kind of resource a request creates, with the tags it is created with.
type createdResource struct {
	kind string
	tags map[string]string
}

// createdByFleet lists what an instant fleet creates. An instance's resources get the tags of
// the fleet's TagSpecification for their type over those of the launch template's own
// (LaunchTemplateData.TagSpecification), as instances already do; so each template the fleet
// names may give them different tags. A network interface or spot request can be tagged only
// through the template: CreateFleet's TagSpecification is for the fleet, its instances and
// volumes.
func createdByFleet(req fleetRequest) []createdResource {
	kinds := []string{"instance", "volume", "network-interface"}
	if req.counts[CapacitySpot] > 0 {
		kinds = append(kinds, "spot-instances-request")
	}
	out := []createdResource{{kind: "fleet", tags: req.tags["fleet"]}}
	for _, t := range req.templates {
		for _, kind := range kinds {
			tags := maps.Clone(t.data.tagsByResource[kind])
			if tags == nil {
				tags = map[string]string{}
			}
			maps.Copy(tags, req.tags[kind])
			out = append(out, createdResource{kind: kind, tags: tags})
		}
	}
	return out
}

// usedResource is an existing resource a request uses, with its tags.
type usedResource struct {
	arn  string
	tags map[string]string
}

// usedByFleet lists the templates, images, subnets and security groups a fleet's overrides
// would launch with, each once, in the order the request names them. It must be called with
// s.mu held; the images, subnets and groups are fixed at New.
func (s *Sim) usedByFleet(req fleetRequest) []usedResource {
	var out []usedResource
	seen := map[string]bool{}
	use := func(arn string, tags map[string]string) {
		if !seen[arn] {
			seen[arn] = true
			out = append(out, usedResource{arn: arn, tags: tags})
		}
	}
	for _, o := range req.overrides {
		t := req.templates[o.config]
		use(s.arn("launch-template", t.id), t.tags)
		image, _ := s.imageByID(o.settings.imageID) // with no registry, an image has no tags
		use(s.imageARN(o.settings.imageID), image.Tags)
		for _, pl := range o.placements {
			subnet, _ := s.subnetByID(pl.subnetID)
			use(s.arn("subnet", pl.subnetID), subnet.Tags)
		}
		for _, id := range o.settings.securityGroupIDs {
			group, _ := s.groupByID(id)
			use(s.arn("security-group", id), group.Tags)
		}
	}
	return out
}

// accessList collects accesses, each once: a fleet naming several templates with the same
// tags needs its created resources authorised only once.
type accessList struct {
	items []access
	seen  map[string]bool
}

func (l *accessList) add(a access) {
	var key strings.Builder
	key.WriteString(a.action + " " + a.resource)
	for _, k := range slices.Sorted(maps.Keys(a.context)) {
		key.WriteString(" " + k + "=" + strings.Join(a.context[k], ","))
	}
	if l.seen[key.String()] {
		return
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[key.String()] = true
	l.items = append(l.items, a)
}
