package activities

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/activities/bootstrap"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// fleetInput builds the CreateFleet request as Karpenter sends it: per AMI of the claim's
// EC2NodeClass a launch template, with one override per (instance type the AMI suits, zone's
// chosen subnet); spot when the claim allows it.
func (e *EC2) fleetInput(req LaunchRequest, cluster bootstrap.Cluster) (*ec2.CreateFleetInput, []launchTemplate, *awsv1.EC2NodeClass, error) {
	c := req.Claim
	if len(c.InstanceTypes) == 0 || len(c.Zones) == 0 {
		return nil, nil, nil, fmt.Errorf("claim has %d instance types and %d zones; need at least one of each",
			len(c.InstanceTypes), len(c.Zones))
	}
	class, err := e.nodeClassOf(c)
	if err != nil {
		return nil, nil, nil, err
	}
	subnets := subnetsByZone(class)
	capacityType := launchCapacityType(c)
	byAMI, order, err := e.typesByAMI(class, c.InstanceTypes[:min(len(c.InstanceTypes), maxOverrideTypes)])
	if err != nil {
		return nil, nil, nil, err
	}
	in := &ec2.CreateFleetInput{
		Type:        ec2types.FleetTypeInstant,
		ClientToken: aws.String(req.ClientToken),
		TargetCapacitySpecification: &ec2types.TargetCapacitySpecificationRequest{
			TotalTargetCapacity: aws.Int32(1),
		},
	}
	var templates []launchTemplate
	for _, ami := range order {
		lt, err := e.newLaunchTemplate(cluster, templateInput{
			class: class, ami: ami, family: class.Family(),
			labels: nodeLabels(c, capacityType), taints: registerTaints(c), pool: c.NodePool, capacityType: capacityType,
		})
		if err != nil {
			return nil, nil, nil, err
		}
		overrides := e.overrides(c, byAMI[ami.ID], subnets, capacityType)
		if len(overrides) == 0 {
			continue
		}
		templates = append(templates, lt)
		in.LaunchTemplateConfigs = append(in.LaunchTemplateConfigs, ec2types.FleetLaunchTemplateConfigRequest{
			LaunchTemplateSpecification: &ec2types.FleetLaunchTemplateSpecificationRequest{
				LaunchTemplateName: aws.String(lt.name), Version: aws.String("$Latest"),
			},
			Overrides: overrides,
		})
	}
	if len(in.LaunchTemplateConfigs) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: instance types %v in zones %v, %s; EC2NodeClass %s has subnets in %v",
			errNoOfferingLeft, c.InstanceTypes, c.Zones, capacityType, class.Name, slices.Sorted(maps.Keys(subnets)))
	}
	in.TagSpecifications, err = e.launchTags(req, class)
	if err != nil {
		return nil, nil, nil, err
	}
	if capacityType == v1.CapacityTypeSpot {
		in.TargetCapacitySpecification.DefaultTargetCapacityType = ec2types.DefaultTargetCapacityTypeSpot
		in.SpotOptions = &ec2types.SpotOptionsRequest{AllocationStrategy: ec2types.SpotAllocationStrategyPriceCapacityOptimized}
	} else {
		in.TargetCapacitySpecification.DefaultTargetCapacityType = ec2types.DefaultTargetCapacityTypeOnDemand
		in.OnDemandOptions = &ec2types.OnDemandOptionsRequest{AllocationStrategy: ec2types.FleetOnDemandAllocationStrategyLowestPrice}
	}
	return in, templates, class, nil
}

// errNoOfferingLeft: every offering of the claim is known unavailable, not offered in its zone
// (the market may have changed since the plan, or another replica planned it), or in a zone
// without a subnet. The claim is planned again without them.
var errNoOfferingLeft = errors.New("no offering left to launch")

// claimOfferings are every offering a claim could launch.
func claimOfferings(c Claim) []Offering {
	capacityType := launchCapacityType(c)
	var out []Offering
	for _, t := range c.InstanceTypes {
		for _, z := range c.Zones {
			out = append(out, Offering{InstanceType: t, Zone: z, CapacityType: capacityType})
		}
	}
	return out
}

// errClassNotReady is a claim whose class is not resolved, or no longer Ready: worth another
// attempt, since a worker just started resolves its classes in a moment.
var errClassNotReady = errors.New("is not ready")

// nodeClassOf is the claim's resolved EC2NodeClass.
func (e *EC2) nodeClassOf(c Claim) (*awsv1.EC2NodeClass, error) {
	if c.NodeClassRef == nil || c.NodeClassRef.Name == "" {
		return nil, fmt.Errorf("claim names no EC2NodeClass (its NodePool's spec.template.spec.nodeClassRef)")
	}
	if e.Classes == nil {
		return nil, fmt.Errorf("EC2NodeClass %s: this worker resolves no node classes", c.NodeClassRef.Name)
	}
	class, ok := e.Classes.NodeClass(c.NodeClassRef.Name)
	if !ok {
		return nil, fmt.Errorf("EC2NodeClass %s %w; kubectl describe ec2nodeclass %s says why", c.NodeClassRef.Name, errClassNotReady, c.NodeClassRef.Name)
	}
	return class, nil
}

// subnetsByZone picks each zone's subnet: the class's subnets are resolved most free
// addresses first, so the first one seen in a zone.
func subnetsByZone(class *awsv1.EC2NodeClass) map[string]string {
	out := map[string]string{}
	for _, s := range class.Status.Subnets {
		if _, seen := out[s.Zone]; !seen {
			out[s.Zone] = s.ID
		}
	}
	return out
}

// typesByAMI gives each instance type the first of the class's AMIs (newest first) whose
// requirements its labels meet, and returns the AMIs used in the order first used. Types no
// AMI suits are left out; if none is left, the launch cannot be made.
func (e *EC2) typesByAMI(class *awsv1.EC2NodeClass, types []string) (map[string][]string, []awsv1.AMI, error) {
	byAMI := map[string][]string{}
	var order []awsv1.AMI
	for _, t := range types {
		var labels map[string]string
		if e.InstanceTypeLabels != nil {
			labels = e.InstanceTypeLabels(t)
		}
		for _, ami := range class.Status.AMIs {
			if !amiSuits(ami, labels) {
				continue
			}
			if _, seen := byAMI[ami.ID]; !seen {
				order = append(order, ami)
			}
			byAMI[ami.ID] = append(byAMI[ami.ID], t)
			break
		}
	}
	if len(order) == 0 {
		return nil, nil, fmt.Errorf("none of EC2NodeClass %s's %d AMIs suits instance types %v (architecture or GPU)",
			class.Name, len(class.Status.AMIs), types)
	}
	return byAMI, order, nil
}

// amiSuits matches an AMI's requirements against an instance type's labels, with the
// scheduler engine's requirement algebra (Gt and Lt included). A requirement that cannot be
// read suits no type.
func amiSuits(ami awsv1.AMI, typeLabels map[string]string) bool {
	for _, r := range ami.Requirements {
		req, err := scheduling.NewRequirement(r.Key, r.Operator, r.Values...)
		if err != nil {
			return false
		}
		v, ok := typeLabels[r.Key]
		if !req.MatchesLabel(v, ok) {
			return false
		}
	}
	return true
}

// nodeLabels are the labels a node registers with: the claim's, its pool's and its
// capacity type, as Karpenter writes them into user data.
func nodeLabels(c Claim, capacityType string) map[string]string {
	labels := maps.Clone(c.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1.LabelNodePool] = c.NodePool
	labels[v1.LabelCapacityType] = capacityType
	return labels
}

// registerTaints are the taints a node registers with: the pool's taints and startup taints,
// and the unregistered taint the controller takes off once it has synced the node.
func registerTaints(c Claim) []corev1.Taint {
	var taints []corev1.Taint
	for _, t := range slices.Concat(c.Taints, c.StartupTaints, []corev1.Taint{bootstrap.UnregisteredTaint()}) {
		// The API server refuses a Node with one key and effect twice.
		if !slices.ContainsFunc(taints, func(have corev1.Taint) bool { return have.MatchTaint(&t) }) {
			taints = append(taints, t)
		}
	}
	return taints
}

// launchCapacityType is spot whenever the claim allows it, as Karpenter prefers.
func launchCapacityType(c Claim) string {
	if slices.Contains(c.CapacityTypes, v1.CapacityTypeSpot) {
		return v1.CapacityTypeSpot
	}
	return v1.CapacityTypeOnDemand
}

// overrides are the types × the claim's zones that have a subnet and offer the type, less the
// offerings known to be unavailable (recently out of capacity or interrupted).
func (e *EC2) overrides(c Claim, types []string, subnets map[string]string, capacityType string) []ec2types.FleetLaunchTemplateOverridesRequest {
	zones := slices.Sorted(slices.Values(c.Zones))
	var out []ec2types.FleetLaunchTemplateOverridesRequest
	for _, t := range types {
		for _, z := range zones {
			subnet, ok := subnets[z]
			if !ok || slices.Contains(c.Unavailable, Offering{InstanceType: t, Zone: z, CapacityType: capacityType}) {
				continue
			}
			if e.Offered != nil && !e.Offered(t, z) {
				continue
			}
			out = append(out, ec2types.FleetLaunchTemplateOverridesRequest{
				InstanceType:     ec2types.InstanceType(t),
				SubnetId:         aws.String(subnet),
				AvailabilityZone: aws.String(z),
			})
		}
	}
	return out
}

// launchTags tag the instance, its volumes and the fleet request. They leave out the pair
// by which a Karpenter in the same cluster claims an instance as its own
// (karpenter.k8s.aws/ec2nodeclass beside karpenter.sh/nodepool).
func (e *EC2) launchTags(req LaunchRequest, class *awsv1.EC2NodeClass) ([]ec2types.TagSpecification, error) {
	c := req.Claim
	tags := e.ownedTags(class)
	delete(tags, TagNodeClass) // the launch template's, not the instance's
	tags[TagNodePool] = c.NodePool
	tags[TagNodeClaim] = c.Name
	tags[TagWorkflowID] = req.WorkflowID
	tags["Name"] = c.Name
	for k, v := range tags {
		if len(v) > maxTagValueLen {
			return nil, fmt.Errorf("tag %s would be %d characters, over EC2's limit of %d", k, len(v), maxTagValueLen)
		}
	}
	list := ec2Tags(tags)
	return []ec2types.TagSpecification{
		{ResourceType: ec2types.ResourceTypeInstance, Tags: list},
		{ResourceType: ec2types.ResourceTypeVolume, Tags: list},
		{ResourceType: ec2types.ResourceTypeFleet, Tags: list},
	}, nil
}
