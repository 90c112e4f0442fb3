package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/nodewright/nodewright/activities/bootstrap"
	"github.com/nodewright/nodewright/activities/market"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
)

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
	case errors.Is(err, errNoOfferingLeft):
		if e.OnCapacityError != nil {
			e.OnCapacityError()
		}
		return Instance{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("launch claim %s: %v", req.Claim.Name, err), ErrTypeInsufficientCapacity, err, claimOfferings(req.Claim))
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
	return e.priced(inst), true, nil
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
		return e.priced(out), nil
	}
	described, err := e.DescribeInstance(ctx, out.ID)
	if err != nil {
		return Instance{}, fmt.Errorf("launched %s but could not read its placement: %w", out.ID, err)
	}
	return e.priced(described), nil
}

// priced adds what the instance costs per hour, as the market has it now, so that the node
// shows its own offering's price rather than the plan's cheapest.
func (e *EC2) priced(inst Instance) Instance {
	if e.Price == nil {
		return inst
	}
	if price, ok := e.Price(inst.Type, inst.Zone, inst.CapacityType); ok && market.ValidPrice(price) {
		inst.PricePerHour = price
	}
	return inst
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
		if e.OnCapacityError != nil {
			e.OnCapacityError()
		}
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
