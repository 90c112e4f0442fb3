package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/activities/bootstrap"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Tags every launched instance carries. The node's labels and taints are not among them:
// they travel in its user data, which its kubelet reads.
const (
	TagNodePool   = v1.LabelNodePool
	TagNodeClaim  = v1.LabelNodeClaim
	TagWorkflowID = "nodewright.io/workflow-id"
)

// ClusterTagKey is the tag that marks an instance as owned by the cluster.
func ClusterTagKey(cluster string) string { return "kubernetes.io/cluster/" + cluster }

const (
	// maxOverrideTypes is how many instance types one CreateFleet gets, as Karpenter sends.
	maxOverrideTypes = 60
	// maxTagValueLen is EC2's limit on a tag value.
	maxTagValueLen = 256
)

// isCapacityError reports whether an EC2 error code means "no capacity for this offering":
// another offering may work, retrying the same one will not (Karpenter's list).
func isCapacityError(code string) bool {
	switch code {
	case "InsufficientInstanceCapacity", "MaxSpotInstanceCountExceeded", "VcpuLimitExceeded",
		"UnfulfillableCapacity", "Unsupported", "InsufficientFreeAddressesInSubnet":
		return true
	}
	return false
}

// isThrottleError reports whether an EC2 error code asks the caller to slow down.
func isThrottleError(code string) bool {
	switch code {
	case "RequestLimitExceeded", "Throttling", "ThrottlingException":
		return true
	}
	return false
}

// EC2API is the part of *ec2.Client the activities use.
type EC2API interface {
	CreateFleet(ctx context.Context, in *ec2.CreateFleetInput, opts ...func(*ec2.Options)) (*ec2.CreateFleetOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, opts ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	DescribeInstanceTypes(ctx context.Context, in *ec2.DescribeInstanceTypesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error)
	CreateLaunchTemplate(ctx context.Context, in *ec2.CreateLaunchTemplateInput, opts ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error)
	DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
	DeleteLaunchTemplate(ctx context.Context, in *ec2.DeleteLaunchTemplateInput, opts ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateOutput, error)
}

var _ EC2API = (*ec2.Client)(nil)

// NodeClassSource gives the EC2NodeClasses with what they last resolved to (subnets,
// security groups, AMIs, instance profile); ok is false for a class not resolved or not
// Ready, which launches nothing.
type NodeClassSource interface {
	NodeClass(name string) (class *awsv1.EC2NodeClass, ok bool)
}

// EC2 launches and terminates instances.
type EC2 struct {
	API         EC2API
	ClusterName string
	// Cluster is what nodes need to join: it goes into their user data. When its endpoint is
	// empty, ClusterFrom is asked at each launch until it answers (EKS may be down when the
	// worker starts; draining and terminating must not wait for it).
	Cluster     bootstrap.Cluster
	ClusterFrom func(ctx context.Context) (bootstrap.Cluster, error)
	// Classes are the resolved EC2NodeClasses a claim's nodeClassRef names.
	Classes NodeClassSource
	// InstanceTypeLabels gives an instance type's well-known labels (architecture, GPUs),
	// against which an AMI's requirements are matched.
	InstanceTypeLabels func(instanceType string) map[string]string
	// Metrics records each call's duration and errors; nil records nothing.
	Metrics *Metrics

	terminatePoll time.Duration // replaces firstTerminatePoll in tests

	templatesMu sync.Mutex
	templates   map[string]templateSeen // by launch template name
}

// Launch creates one instance for the claim with an instant EC2 Fleet, from launch templates
// made for its EC2NodeClass. The client token makes a retried call return the instance the
// first call made. A launch template deleted behind Nodewright's back is made again.
func (e *EC2) Launch(ctx context.Context, req LaunchRequest) (_ Instance, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodCreate, time.Now(), &err)
	attempt := activityAttempt(ctx)
	if attempt > 1 {
		// An earlier attempt may have launched and lost its answer (its worker died): that
		// instance is the claim's, whatever this attempt would ask for now.
		if inst, ok, err := e.adopt(ctx, req); err != nil || ok {
			return inst, err
		}
	}
	cluster, err := e.cluster(ctx)
	if err != nil {
		return Instance{}, fmt.Errorf("launch claim %s: %w", req.Claim.Name, err)
	}
	in, templates, class, err := e.fleetInput(req, cluster)
	switch {
	case errors.Is(err, errClassNotReady):
		return Instance{}, fmt.Errorf("launch claim %s: %w", req.Claim.Name, err) // it may be in a moment
	case err != nil:
		return Instance{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("launch claim %s: %v", req.Claim.Name, err), ErrTypeInvalidLaunch, err)
	}
	out, err := e.createFleet(ctx, in, templates, launchTokens(req.ClientToken, attempt))
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return Instance{}, appErr // its type and retryability as they are: the SDK reads only the outer error
	}
	if err != nil {
		return Instance{}, classifyAPIError(fmt.Sprintf("launch claim %s: create fleet", req.Claim.Name), err)
	}
	for _, inst := range out.Instances {
		if len(inst.InstanceIds) == 0 {
			continue
		}
		launched, err := e.launchedInstance(ctx, inst, capacityTypeOf(in))
		if err != nil {
			return Instance{}, err
		}
		return withPlacement(launched, inst, templates, class), nil
	}
	return Instance{}, e.fleetError(req.Claim.Name, out.Errors, capacityTypeOf(in))
}

// cluster is what nodes need to join, as given or as ClusterFrom answers.
func (e *EC2) cluster(ctx context.Context) (bootstrap.Cluster, error) {
	if e.Cluster.Endpoint != "" || e.ClusterFrom == nil {
		return e.Cluster, nil
	}
	c, err := e.ClusterFrom(ctx)
	if err != nil {
		return bootstrap.Cluster{}, fmt.Errorf("nodes cannot be told how to join the cluster yet: %w", err)
	}
	return c, nil
}

// launchTokens are the client tokens an attempt tries in turn. The first is the claim's own:
// should an earlier attempt have launched with it and lost the answer (its worker died), EC2
// answers with that instance again. A later attempt falls back on one of its own when EC2
// says the request changed since (IdempotentParameterMismatch) or replays an answer that
// launched nothing: no instance came of the claim's token, so a fresh one launches none twice.
func launchTokens(base string, attempt int32) []string {
	if attempt <= 1 {
		return []string{base}
	}
	return []string{base, fmt.Sprintf("%s-%d", base, attempt)}
}

// createFleet sends the fleet request with each token in turn until one launches or the last
// is used, making the launch templates first and again once if EC2 says one is missing.
func (e *EC2) createFleet(ctx context.Context, in *ec2.CreateFleetInput, templates []launchTemplate, tokens []string) (*ec2.CreateFleetOutput, error) {
	var out *ec2.CreateFleetOutput
	var err error
	for i, token := range tokens {
		in.ClientToken = aws.String(token)
		out, err = e.createFleetWithTemplates(ctx, in, templates)
		if i == len(tokens)-1 {
			break
		}
		var apiErr smithy.APIError
		mismatch := errors.As(err, &apiErr) && apiErr.ErrorCode() == "IdempotentParameterMismatch"
		if !mismatch && (err != nil || !launchedNothing(out)) {
			break
		}
	}
	return out, err
}

// createFleetWithTemplates makes sure the templates exist and sends the request; a template
// EC2 says is missing is made again and the request sent once more, under its own token,
// since an answer naming the missing template may be kept for the first.
func (e *EC2) createFleetWithTemplates(ctx context.Context, in *ec2.CreateFleetInput, templates []launchTemplate) (*ec2.CreateFleetOutput, error) {
	for retry := 0; ; retry++ {
		if err := e.ensureTemplates(ctx, templates); err != nil {
			return nil, err
		}
		out, err := e.API.CreateFleet(ctx, in)
		if retry == 0 && (isLaunchTemplateNotFound(err) || (err == nil && fleetMissedTemplate(out))) {
			e.forgetTemplates(templateNames(templates))
			in.ClientToken = aws.String(aws.ToString(in.ClientToken) + "-t")
			continue
		}
		return out, err
	}
}

// launchedNothing is a fleet answer without an instance.
func launchedNothing(out *ec2.CreateFleetOutput) bool {
	for _, inst := range out.Instances {
		if len(inst.InstanceIds) > 0 {
			return false
		}
	}
	return true
}

// activityAttempt is the attempt number of the running activity; 1 outside one (tests).
func activityAttempt(ctx context.Context) int32 {
	if !activity.IsActivity(ctx) {
		return 1
	}
	return activity.GetInfo(ctx).Attempt
}

// adopt finds an instance an earlier attempt launched for the workflow and returns it; ok is
// false when there is none. Should two have been launched, the others are terminated.
func (e *EC2) adopt(ctx context.Context, req LaunchRequest) (_ Instance, ok bool, err error) {
	owned, err := e.launchedBy(ctx, req.WorkflowID)
	if err != nil {
		return Instance{}, false, fmt.Errorf("launch claim %s: look for an instance an earlier attempt launched: %w", req.Claim.Name, err)
	}
	var live []string
	for _, o := range owned {
		if o.State == string(ec2types.InstanceStateNamePending) || o.State == string(ec2types.InstanceStateNameRunning) {
			live = append(live, o.ID)
		}
	}
	if len(live) == 0 {
		return Instance{}, false, nil
	}
	slices.Sort(live)
	for _, extra := range live[1:] {
		if _, err := e.startTerminating(ctx, extra); err != nil {
			return Instance{}, false, fmt.Errorf("launch claim %s: terminate %s, a second instance launched for it: %w", req.Claim.Name, extra, err)
		}
	}
	inst, err := e.DescribeInstance(ctx, live[0])
	if err != nil {
		return Instance{}, false, err
	}
	if class, err := e.nodeClassOf(req.Claim); err == nil {
		inst = withZoneID(inst, class)
	}
	return inst, true, nil
}

// withPlacement adds what the launch itself decided: the zone's id, from the class's subnets,
// and the AMI of the template the instance came from.
func withPlacement(inst Instance, fleet ec2types.CreateFleetInstance, templates []launchTemplate, class *awsv1.EC2NodeClass) Instance {
	if lt := fleet.LaunchTemplateAndOverrides; lt != nil && lt.LaunchTemplateSpecification != nil {
		name := aws.ToString(lt.LaunchTemplateSpecification.LaunchTemplateName)
		for _, t := range templates {
			if t.name == name {
				inst.ImageID = t.ami
			}
		}
	}
	if inst.ImageID == "" && len(templates) == 1 {
		inst.ImageID = templates[0].ami
	}
	return withZoneID(inst, class)
}

// withZoneID names the instance's zone by id, from the class's subnets.
func withZoneID(inst Instance, class *awsv1.EC2NodeClass) Instance {
	for _, s := range class.Status.Subnets {
		if s.Zone == inst.Zone && s.ZoneID != "" {
			inst.ZoneID = s.ZoneID
		}
	}
	return inst
}

func (e *EC2) ensureTemplates(ctx context.Context, templates []launchTemplate) error {
	for _, lt := range templates {
		if err := e.ensureTemplate(ctx, lt); err != nil {
			return err
		}
	}
	return nil
}

func templateNames(templates []launchTemplate) []string {
	names := make([]string, len(templates))
	for i, lt := range templates {
		names[i] = lt.name
	}
	return names
}

// fleetMissedTemplate reports a fleet that launched nothing because a template was missing.
func fleetMissedTemplate(out *ec2.CreateFleetOutput) bool {
	if out == nil || len(out.Instances) > 0 {
		return false
	}
	for _, fe := range out.Errors {
		if isLaunchTemplateNotFoundCode(aws.ToString(fe.ErrorCode)) {
			return true
		}
	}
	return false
}

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
		return nil, nil, nil, fmt.Errorf("no offering of instance types %v in zones %v is left: EC2NodeClass %s has subnets in %v",
			c.InstanceTypes, c.Zones, class.Name, slices.Sorted(maps.Keys(subnets)))
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

// amiSuits matches an AMI's requirements against an instance type's labels.
func amiSuits(ami awsv1.AMI, typeLabels map[string]string) bool {
	for _, r := range ami.Requirements {
		value, has := typeLabels[r.Key]
		switch r.Operator {
		case corev1.NodeSelectorOpIn:
			if !has || !slices.Contains(r.Values, value) {
				return false
			}
		case corev1.NodeSelectorOpNotIn:
			if has && slices.Contains(r.Values, value) {
				return false
			}
		case corev1.NodeSelectorOpExists:
			if !has {
				return false
			}
		case corev1.NodeSelectorOpDoesNotExist:
			if has {
				return false
			}
		default:
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

// overrides are the types × the claim's zones that have a subnet, less the offerings known
// to be unavailable (recently out of capacity or interrupted).
func (e *EC2) overrides(c Claim, types []string, subnets map[string]string, capacityType string) []ec2types.FleetLaunchTemplateOverridesRequest {
	zones := slices.Sorted(slices.Values(c.Zones))
	var out []ec2types.FleetLaunchTemplateOverridesRequest
	for _, t := range types {
		for _, z := range zones {
			subnet, ok := subnets[z]
			if !ok || slices.Contains(c.Unavailable, Offering{InstanceType: t, Zone: z, CapacityType: capacityType}) {
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

// launchedInstance reads the fleet's answer; if it does not say the zone, it asks EC2.
func (e *EC2) launchedInstance(ctx context.Context, inst ec2types.CreateFleetInstance, requested string) (Instance, error) {
	out := Instance{ID: inst.InstanceIds[0], Type: string(inst.InstanceType), CapacityType: requested}
	if inst.Lifecycle != "" {
		out.CapacityType = capacityTypeOfLifecycle(inst.Lifecycle)
	}
	switch {
	case aws.ToString(inst.AvailabilityZone) != "":
		out.Zone = aws.ToString(inst.AvailabilityZone)
	case inst.LaunchTemplateAndOverrides != nil && inst.LaunchTemplateAndOverrides.Overrides != nil &&
		aws.ToString(inst.LaunchTemplateAndOverrides.Overrides.AvailabilityZone) != "":
		out.Zone = aws.ToString(inst.LaunchTemplateAndOverrides.Overrides.AvailabilityZone)
	}
	if out.Zone != "" && out.Type != "" {
		return out, nil
	}
	described, err := e.DescribeInstance(ctx, out.ID)
	if err != nil {
		return Instance{}, fmt.Errorf("launched %s but could not read its placement: %w", out.ID, err)
	}
	return described, nil
}

// fleetError turns a fleet that launched nothing into an error the workflow can act on.
func (e *EC2) fleetError(claim string, errs []ec2types.CreateFleetError, capacityType string) error {
	var unavailable []Offering
	var codes []string
	throttled := false
	for _, fe := range errs {
		code := aws.ToString(fe.ErrorCode)
		codes = append(codes, code+": "+aws.ToString(fe.ErrorMessage))
		switch {
		case isCapacityError(code):
			unavailable = append(unavailable, e.offeringOf(fe, capacityType))
		case isThrottleError(code):
			throttled = true
		}
	}
	slices.Sort(codes)
	codes = slices.Compact(codes)
	if len(errs) == 0 {
		return fmt.Errorf("launch claim %s: fleet launched no instance and reported no error", claim)
	}
	msg := fmt.Sprintf("launch claim %s: fleet launched no instance: %s", claim, strings.Join(codes, "; "))
	switch {
	case throttled:
		return temporal.NewApplicationError(msg, "Throttled")
	case len(unavailable) > 0:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeInsufficientCapacity, nil, unavailable)
	default:
		return errors.New(msg)
	}
}

func (e *EC2) offeringOf(fe ec2types.CreateFleetError, capacityType string) Offering {
	o := Offering{CapacityType: capacityType}
	if fe.Lifecycle != "" {
		o.CapacityType = capacityTypeOfLifecycle(fe.Lifecycle)
	}
	if fe.LaunchTemplateAndOverrides != nil && fe.LaunchTemplateAndOverrides.Overrides != nil {
		ov := fe.LaunchTemplateAndOverrides.Overrides
		o.InstanceType = string(ov.InstanceType)
		o.Zone = aws.ToString(ov.AvailabilityZone) // every override Launch sends names its zone
	}
	return o
}

// Terminate terminates the instance and returns once EC2 says it is terminated, as Karpenter
// waits before it releases a NodeClaim: a Node deleted while its instance still shuts down
// could be registered again by its kubelet. Only EC2's NotFound means gone; an answer that
// leaves the instance or its state out, or a describe that fails, means keep looking, and each
// look's outcome is the heartbeat, which the Temporal UI shows on the pending activity.
func (e *EC2) Terminate(ctx context.Context, instanceID string) error {
	state, err := e.startTerminating(ctx, instanceID)
	if err != nil {
		return err
	}
	wait := cmp.Or(e.terminatePoll, firstTerminatePoll)
	status := "is " + state
	for state != stateGone && state != string(ec2types.InstanceStateNameTerminated) {
		activity.RecordHeartbeat(ctx, "instance "+instanceID+" "+status)
		if err := sleep(ctx, jittered(wait)); err != nil {
			return fmt.Errorf("wait for %s to terminate (last seen: %s): %w", instanceID, status, err)
		}
		wait = min(2*wait, lastTerminatePoll)
		inst, err := e.ownerWithin(ctx, instanceID, describeTimeout)
		switch {
		case err != nil:
			status = "could not be described: " + err.Error()
		case !inst.Found:
			state = stateGone
		case inst.State == "":
			status = "is described without a state"
		default:
			state, status = inst.State, "is "+inst.State
		}
	}
	return nil
}

// ownerWithin is owner bounded by d, so one hung call cannot outlast the heartbeat timeout.
func (e *EC2) ownerWithin(ctx context.Context, instanceID string, d time.Duration) (InstanceOwner, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return e.owner(ctx, instanceID)
}

// describeTimeout bounds each look while Terminate waits: well under its heartbeat timeout.
const describeTimeout = 20 * time.Second

// stateGone stands for an instance EC2 answers NotFound for: terminated so long ago that it
// no longer lists it, or never launched.
const stateGone = ""

// Terminate looks whether a shutting-down instance is terminated after firstTerminatePoll,
// then ever less often: EC2 takes from seconds to minutes, and many nodes may be going at
// once under one account's DescribeInstances rate.
const (
	firstTerminatePoll = time.Second
	lastTerminatePoll  = 15 * time.Second
)

// jittered spreads d over ±20% so that nodes terminated together do not describe in step.
func jittered(d time.Duration) time.Duration {
	spread := int64(d) * 2 / 5
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread/2) + time.Duration(rand.Int64N(spread))
}

// startTerminating asks EC2 to terminate the instance and returns its state after the call,
// stateGone for an instance EC2 no longer knows.
func (e *EC2) startTerminating(ctx context.Context, instanceID string) (state string, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodDelete, time.Now(), &err)
	out, err := e.API.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{instanceID}})
	switch {
	case isInstanceNotFound(err):
		return stateGone, nil
	case err != nil:
		// Retryable whatever the code: the workflow keeps trying until the instance is gone.
		return "", fmt.Errorf("terminate %s: %w", instanceID, err)
	}
	for _, c := range out.TerminatingInstances {
		if aws.ToString(c.InstanceId) == instanceID && c.CurrentState != nil {
			return string(c.CurrentState.Name), nil
		}
	}
	return string(ec2types.InstanceStateNameShuttingDown), nil // to be confirmed by a describe
}

// DescribeInstance reads the instance's type, zone, capacity type and state.
func (e *EC2) DescribeInstance(ctx context.Context, instanceID string) (_ Instance, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodGet, time.Now(), &err)
	out, err := e.API.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		if isInstanceNotFound(err) {
			return Instance{}, temporal.NewNonRetryableApplicationError("describe "+instanceID+": not found", ErrTypeInstanceNotFound, err)
		}
		return Instance{}, classifyAPIError("describe "+instanceID, err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if aws.ToString(i.InstanceId) != instanceID {
				continue
			}
			inst := Instance{ID: instanceID, Type: string(i.InstanceType), CapacityType: v1.CapacityTypeOnDemand}
			if i.InstanceLifecycle == ec2types.InstanceLifecycleTypeSpot {
				inst.CapacityType = v1.CapacityTypeSpot
			}
			if i.Placement != nil {
				inst.Zone = aws.ToString(i.Placement.AvailabilityZone)
			}
			if i.State != nil {
				inst.State = string(i.State.Name)
			}
			inst.ImageID = aws.ToString(i.ImageId)
			return inst, nil
		}
	}
	return Instance{}, temporal.NewNonRetryableApplicationError("describe "+instanceID+": not found", ErrTypeInstanceNotFound, nil)
}

// InstanceOwner is what EC2 says of an instance Nodewright may have launched.
type InstanceOwner struct {
	ID string `json:"id"`
	// Found is false when EC2 no longer knows the instance.
	Found bool `json:"found"`
	// WorkflowID is the node workflow that launched it for this cluster; "" for an instance
	// that is not Nodewright's in this cluster (a Karpenter's, say).
	WorkflowID string `json:"workflowId,omitempty"`
	// State is its EC2 state name (running, shutting-down, terminated, ...).
	State string `json:"state,omitempty"`
}

// InstanceOwners is EC2 as the NodeClaim deletion watcher sees it, outside any workflow: who
// launched an instance, and a termination that does not wait. It is not an activity.
type InstanceOwners struct{ EC2 *EC2 }

// WorkflowOf reads which node workflow launched the instance, from the tags Nodewright puts on
// every instance it launches for this cluster.
func (o InstanceOwners) WorkflowOf(ctx context.Context, instanceID string) (InstanceOwner, error) {
	return o.EC2.owner(ctx, instanceID)
}

// LaunchedBy lists the instances, not yet terminated, that the workflow launched for this
// cluster: for a claim whose instance id was never recorded.
func (o InstanceOwners) LaunchedBy(ctx context.Context, workflowID string) ([]InstanceOwner, error) {
	return o.EC2.launchedBy(ctx, workflowID)
}

// Terminate asks EC2 to terminate the instance, without waiting for it to finish.
func (o InstanceOwners) Terminate(ctx context.Context, instanceID string) error {
	_, err := o.EC2.startTerminating(ctx, instanceID)
	return err
}

// owner reads an instance's state and the node workflow that launched it for this cluster.
// Found is false only when EC2 answers NotFound; an answer without the instance is an error.
func (e *EC2) owner(ctx context.Context, instanceID string) (_ InstanceOwner, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodGet, time.Now(), &err)
	out, err := e.API.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if isInstanceNotFound(err) {
		return InstanceOwner{ID: instanceID}, nil
	}
	if err != nil {
		return InstanceOwner{}, classifyAPIError("describe "+instanceID, err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if aws.ToString(i.InstanceId) == instanceID {
				return e.ownerOf(i), nil
			}
		}
	}
	return InstanceOwner{}, fmt.Errorf("describe %s: EC2's answer leaves the instance out", instanceID)
}

// ownerOf reads who launched a described instance: the workflow tag counts only beside this
// cluster's tag.
func (e *EC2) ownerOf(i ec2types.Instance) InstanceOwner {
	owner := InstanceOwner{ID: aws.ToString(i.InstanceId), Found: true}
	if i.State != nil {
		owner.State = string(i.State.Name)
	}
	var workflowID string
	ours := false
	for _, t := range i.Tags {
		switch aws.ToString(t.Key) {
		case ClusterTagKey(e.ClusterName):
			ours = true
		case TagWorkflowID:
			workflowID = aws.ToString(t.Value)
		}
	}
	if ours {
		owner.WorkflowID = workflowID
	}
	return owner
}

// launchedBy asks EC2 for the workflow's instances by tag, and checks each answer's tags
// itself: the watcher terminates what this returns.
func (e *EC2) launchedBy(ctx context.Context, workflowID string) (_ []InstanceOwner, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodGet, time.Now(), &err)
	in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + TagWorkflowID), Values: []string{workflowID}},
		{Name: aws.String("tag-key"), Values: []string{ClusterTagKey(e.ClusterName)}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped", "shutting-down"}},
	}}
	var out []InstanceOwner
	pages := ec2.NewDescribeInstancesPaginator(e.API, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classifyAPIError("describe the instances of "+workflowID, err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				if owner := e.ownerOf(i); owner.WorkflowID == workflowID {
					out = append(out, owner)
				}
			}
		}
	}
	return out, nil
}

// ListInstanceTypes lists every instance type the region offers.
func (e *EC2) ListInstanceTypes(ctx context.Context) (_ []InstanceTypeInfo, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodGetInstanceTypes, time.Now(), &err)
	var out []InstanceTypeInfo
	pages := ec2.NewDescribeInstanceTypesPaginator(e.API, &ec2.DescribeInstanceTypesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classifyAPIError("describe instance types", err)
		}
		for _, t := range page.InstanceTypes {
			info := InstanceTypeInfo{Name: string(t.InstanceType)}
			if t.VCpuInfo != nil {
				info.VCPUs = aws.ToInt32(t.VCpuInfo.DefaultVCpus)
			}
			if t.MemoryInfo != nil {
				info.MemoryMiB = aws.ToInt64(t.MemoryInfo.SizeInMiB)
			}
			if t.ProcessorInfo != nil {
				for _, a := range t.ProcessorInfo.SupportedArchitectures {
					info.Architectures = append(info.Architectures, string(a))
				}
			}
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b InstanceTypeInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// classifyAPIError wraps an EC2 API error: capacity codes become non-retryable
// InsufficientCapacity, everything else stays retryable (bounded by the retry policy).
func classifyAPIError(what string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		switch {
		case isCapacityError(code):
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", what, err), ErrTypeInsufficientCapacity, err)
		case isThrottleError(code):
			return temporal.NewApplicationErrorWithCause(fmt.Sprintf("%s: throttled: %v", what, err), "Throttled", err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isInstanceNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidInstanceID.NotFound"
}

func capacityTypeOf(in *ec2.CreateFleetInput) string {
	if in.TargetCapacitySpecification.DefaultTargetCapacityType == ec2types.DefaultTargetCapacityTypeSpot {
		return v1.CapacityTypeSpot
	}
	return v1.CapacityTypeOnDemand
}

func capacityTypeOfLifecycle(l ec2types.InstanceLifecycle) string {
	if l == ec2types.InstanceLifecycleSpot {
		return v1.CapacityTypeSpot
	}
	return v1.CapacityTypeOnDemand
}
