package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
)

func TestLaunchBuildsTheFleetRequest(t *testing.T) {
	tests := []struct {
		name  string
		claim Claim
		check func(t *testing.T, in *ec2.CreateFleetInput)
	}{
		{
			name:  "a claim that allows spot asks for spot with price-capacity-optimized",
			claim: claim(withCapacityTypes("on-demand", "spot")),
			check: func(t *testing.T, in *ec2.CreateFleetInput) {
				if got := in.TargetCapacitySpecification.DefaultTargetCapacityType; got != ec2types.DefaultTargetCapacityTypeSpot {
					t.Errorf("capacity type = %s, want spot", got)
				}
				if in.SpotOptions == nil || in.SpotOptions.AllocationStrategy != ec2types.SpotAllocationStrategyPriceCapacityOptimized {
					t.Errorf("spot options = %+v, want price-capacity-optimized", in.SpotOptions)
				}
			},
		},
		{
			name:  "an on-demand-only claim asks for on-demand at the lowest price",
			claim: claim(withCapacityTypes("on-demand")),
			check: func(t *testing.T, in *ec2.CreateFleetInput) {
				if got := in.TargetCapacitySpecification.DefaultTargetCapacityType; got != ec2types.DefaultTargetCapacityTypeOnDemand {
					t.Errorf("capacity type = %s, want on-demand", got)
				}
				if in.OnDemandOptions == nil || in.OnDemandOptions.AllocationStrategy != ec2types.FleetOnDemandAllocationStrategyLowestPrice {
					t.Errorf("on-demand options = %+v, want lowest-price", in.OnDemandOptions)
				}
				if in.SpotOptions != nil {
					t.Errorf("spot options set on an on-demand fleet: %+v", in.SpotOptions)
				}
			},
		},
		{
			name:  "the fleet is instant, for one instance, idempotent by the client token, from the pool's launch template",
			claim: claim(),
			check: func(t *testing.T, in *ec2.CreateFleetInput) {
				if in.Type != ec2types.FleetTypeInstant || aws.ToInt32(in.TargetCapacitySpecification.TotalTargetCapacity) != 1 {
					t.Errorf("fleet type %s capacity %d, want instant 1", in.Type, aws.ToInt32(in.TargetCapacitySpecification.TotalTargetCapacity))
				}
				if aws.ToString(in.ClientToken) != "token-1" {
					t.Errorf("client token = %q, want the request's token-1", aws.ToString(in.ClientToken))
				}
				if got := aws.ToString(in.LaunchTemplateConfigs[0].LaunchTemplateSpecification.LaunchTemplateName); !strings.HasPrefix(got, LaunchTemplatePrefix) {
					t.Errorf("launch template = %q, want one named %s<hash>", got, LaunchTemplatePrefix)
				}
			},
		},
		{
			name:  "overrides cover every instance type in each zone's subnet with the most free addresses; zones without a subnet are left out",
			claim: claim(withZones("us-east-1b", "us-east-1a", "us-east-1c")),
			check: func(t *testing.T, in *ec2.CreateFleetInput) {
				var got []string
				for _, o := range in.LaunchTemplateConfigs[0].Overrides {
					got = append(got, fmt.Sprintf("%s@%s/%s", o.InstanceType, aws.ToString(o.AvailabilityZone), aws.ToString(o.SubnetId)))
				}
				want := []string{
					"m5.large@us-east-1a/subnet-custom-a", "m5.large@us-east-1b/subnet-0b",
					"m5.xlarge@us-east-1a/subnet-custom-a", "m5.xlarge@us-east-1b/subnet-0b",
				}
				if !slices.Equal(got, want) {
					t.Errorf("overrides = %v, want %v", got, want)
				}
			},
		},
		{
			name:  "no more than 60 instance types go to the fleet",
			claim: claim(withInstanceTypes(75), withZones("us-east-1a")),
			check: func(t *testing.T, in *ec2.CreateFleetInput) {
				if n := len(in.LaunchTemplateConfigs[0].Overrides); n != 60 {
					t.Errorf("%d overrides, want 60", n)
				}
			},
		},
		{
			name:  "the instance, its volumes and the fleet carry the ownership tags, and never Karpenter's claim on an instance",
			claim: claim(),
			check: func(t *testing.T, in *ec2.CreateFleetInput) {
				var kinds []ec2types.ResourceType
				for _, spec := range in.TagSpecifications {
					kinds = append(kinds, spec.ResourceType)
				}
				if want := []ec2types.ResourceType{"instance", "volume", "fleet"}; !slices.Equal(kinds, want) {
					t.Errorf("tags go on %v, want %v", kinds, want)
				}
				want := map[string]string{
					"karpenter.sh/nodepool":     "default",
					"karpenter.sh/nodeclaim":    "default-abcde",
					"kubernetes.io/cluster/lab": "owned",
					"eks:eks-cluster-name":      "lab",
					"nodewright.io/workflow-id": "node/default-abcde",
					"Name":                      "default-abcde",
					"team":                      "platform",
				}
				got := tagsOf(in)
				for k, v := range want {
					if got[k] != v {
						t.Errorf("tag %s = %q, want %q", k, got[k], v)
					}
				}
				if _, ok := got["karpenter.k8s.aws/ec2nodeclass"]; ok {
					t.Errorf("the instance carries karpenter.k8s.aws/ec2nodeclass: a Karpenter beside us would take it for its own")
				}
			},
		},
		{
			name:  "arm64 and amd64 types go to two launch templates, each with its architecture's AMI",
			claim: claim(withZones("us-east-1a"), func(c *Claim) { c.InstanceTypes = []string{"m6g.large", "m5.large", "c6g.large"} }),
			check: func(t *testing.T, in *ec2.CreateFleetInput) {
				if len(in.LaunchTemplateConfigs) != 2 {
					t.Fatalf("%d launch template configs, want 2", len(in.LaunchTemplateConfigs))
				}
				var got []string
				for _, c := range in.LaunchTemplateConfigs {
					for _, o := range c.Overrides {
						got = append(got, string(o.InstanceType))
					}
					got = append(got, "|")
				}
				if want := []string{"m6g.large", "c6g.large", "|", "m5.large", "|"}; !slices.Equal(got, want) {
					t.Errorf("types by template = %v, want %v", got, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeEC2{fleetOut: launched("i-1", "m5.large", "us-east-1a", ec2types.InstanceLifecycleSpot)}
			e := testEC2(api)
			if _, err := e.Launch(context.Background(), launchRequest(tt.claim)); err != nil {
				t.Fatalf("launch: %v", err)
			}
			if len(api.fleetCalls) != 1 {
				t.Fatalf("%d CreateFleet calls, want 1", len(api.fleetCalls))
			}
			tt.check(t, api.fleetCalls[0])
		})
	}
}

func TestLaunchReportsTheInstanceTheFleetMade(t *testing.T) {
	tests := []struct {
		name string
		out  *ec2.CreateFleetOutput
		want Instance
	}{
		{
			name: "a spot instance with its zone",
			out:  launched("i-1", "m5.large", "us-east-1b", ec2types.InstanceLifecycleSpot),
			want: Instance{ID: "i-1", Type: "m5.large", Zone: "us-east-1b", ZoneID: "use1-az6", CapacityType: "spot", ImageID: "ami-amd"},
		},
		{
			name: "the zone comes from the override when the fleet does not name it",
			out: &ec2.CreateFleetOutput{Instances: []ec2types.CreateFleetInstance{{
				InstanceIds: []string{"i-2"}, InstanceType: "m5.xlarge", SubnetId: aws.String("subnet-0b"),
				LaunchTemplateAndOverrides: &ec2types.LaunchTemplateAndOverridesResponse{
					Overrides: &ec2types.FleetLaunchTemplateOverrides{AvailabilityZone: aws.String("us-east-1b")},
				},
			}}},
			want: Instance{ID: "i-2", Type: "m5.xlarge", Zone: "us-east-1b", ZoneID: "use1-az6", CapacityType: "spot", ImageID: "ami-amd"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEC2(&fakeEC2{fleetOut: tt.out})
			got, err := e.Launch(context.Background(), launchRequest(claim()))
			if err != nil {
				t.Fatalf("launch: %v", err)
			}
			if got != tt.want {
				t.Errorf("instance = %+v, want %+v", got, tt.want)
			}
			if got.ProviderID() != "aws:///"+tt.want.Zone+"/"+tt.want.ID {
				t.Errorf("provider id = %s", got.ProviderID())
			}
		})
	}
}

// pricesOf is a Price hook answering from prices keyed type/zone/capacity type; it records
// every offering asked about in asked.
func pricesOf(prices map[string]float64, asked *[]string) func(string, string, string) (float64, bool) {
	return func(typ, zone, capacityType string) (float64, bool) {
		key := typ + "/" + zone + "/" + capacityType
		*asked = append(*asked, key)
		p, ok := prices[key]
		return p, ok
	}
}

func TestLaunchPricesTheInstanceItLaunched(t *testing.T) {
	market := map[string]float64{
		"m5.large/us-east-1a/spot": 0.0423, "m5.large/us-east-1b/spot": 0.0389,
		"m5.large/us-east-1a/on-demand": 0.096, "m5.large/us-east-1b/on-demand": 0.096,
	}
	placed := &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{{
		InstanceId: aws.String("i-3"), InstanceType: "m5.large", InstanceLifecycle: ec2types.InstanceLifecycleTypeSpot,
		Placement: &ec2types.Placement{AvailabilityZone: aws.String("us-east-1a")},
	}}}}}
	tests := []struct {
		name     string
		claim    Claim
		out      *ec2.CreateFleetOutput
		describe *ec2.DescribeInstancesOutput
		prices   map[string]float64 // nil: no Price hook
		want     float64
	}{
		{name: "a spot instance costs the spot price of the zone it landed in", claim: claim(),
			out: launched("i-1", "m5.large", "us-east-1b", ec2types.InstanceLifecycleSpot), prices: market, want: 0.0389},
		{name: "an on-demand instance costs the on-demand price", claim: claim(withCapacityTypes("on-demand")),
			out: launched("i-2", "m5.large", "us-east-1a", ""), prices: market, want: 0.096},
		{name: "an instance whose placement EC2 had to be asked for is priced where it is", claim: claim(),
			out:      &ec2.CreateFleetOutput{Instances: []ec2types.CreateFleetInstance{{InstanceIds: []string{"i-3"}}}},
			describe: placed, prices: market, want: 0.0423},
		{name: "an offering the market has no price for leaves the instance unpriced", claim: claim(),
			out: launched("i-4", "m5.xlarge", "us-east-1b", ec2types.InstanceLifecycleSpot), prices: market},
		{name: "without a market the instance is unpriced", claim: claim(),
			out: launched("i-5", "m5.large", "us-east-1b", ec2types.InstanceLifecycleSpot)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEC2(&fakeEC2{fleetOut: tt.out, describeOut: tt.describe})
			var asked []string
			if tt.prices != nil {
				e.Price = pricesOf(tt.prices, &asked)
			}
			got, err := e.Launch(context.Background(), launchRequest(tt.claim))
			if err != nil {
				t.Fatalf("launch: %v", err)
			}
			if got.PricePerHour != tt.want {
				t.Errorf("instance %s %s %s costs %v/h, want %v (market asked about %v)", got.Type, got.Zone, got.CapacityType, got.PricePerHour, tt.want, asked)
			}
		})
	}
}

func fleetErrors(code string, overrides ...string) *ec2.CreateFleetOutput {
	out := &ec2.CreateFleetOutput{}
	for _, o := range overrides {
		typ, zone, _ := strings.Cut(o, "@")
		out.Errors = append(out.Errors, ec2types.CreateFleetError{
			ErrorCode: aws.String(code), ErrorMessage: aws.String("no " + o), Lifecycle: ec2types.InstanceLifecycleSpot,
			LaunchTemplateAndOverrides: &ec2types.LaunchTemplateAndOverridesResponse{
				Overrides: &ec2types.FleetLaunchTemplateOverrides{InstanceType: ec2types.InstanceType(typ), AvailabilityZone: aws.String(zone)},
			},
		})
	}
	return out
}

func TestLaunchFailuresAreClassified(t *testing.T) {
	tests := []struct {
		name            string
		out             *ec2.CreateFleetOutput
		err             error
		wantType        string
		wantRetryable   bool
		wantUnavailable []Offering
	}{
		{
			name:          "insufficient capacity in every override is final and names the offerings",
			out:           fleetErrors("InsufficientInstanceCapacity", "m5.large@us-east-1a", "m5.large@us-east-1b"),
			wantType:      ErrTypeInsufficientCapacity,
			wantRetryable: false,
			wantUnavailable: []Offering{
				{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot"},
				{InstanceType: "m5.large", Zone: "us-east-1b", CapacityType: "spot"},
			},
		},
		{
			name:          "a spot quota error counts as no capacity",
			out:           fleetErrors("MaxSpotInstanceCountExceeded", "m5.large@us-east-1a"),
			wantType:      ErrTypeInsufficientCapacity,
			wantRetryable: false,
			wantUnavailable: []Offering{
				{InstanceType: "m5.large", Zone: "us-east-1a", CapacityType: "spot"},
			},
		},
		{
			name:          "throttling in the error set is retried",
			out:           fleetErrors("RequestLimitExceeded", "m5.large@us-east-1a"),
			wantType:      "Throttled",
			wantRetryable: true,
		},
		{
			name:          "an unknown fleet error is retried",
			out:           fleetErrors("InternalError", "m5.large@us-east-1a"),
			wantRetryable: true,
		},
		{
			name:          "a throttled API call is retried",
			err:           &smithy.GenericAPIError{Code: "RequestLimitExceeded", Message: "slow down"},
			wantType:      "Throttled",
			wantRetryable: true,
		},
		{
			name:          "an API call refused for capacity is final",
			err:           &smithy.GenericAPIError{Code: "InsufficientInstanceCapacity", Message: "none left"},
			wantType:      ErrTypeInsufficientCapacity,
			wantRetryable: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEC2(&fakeEC2{fleetOut: tt.out, fleetErr: tt.err})
			_, err := e.Launch(context.Background(), launchRequest(claim()))
			if err == nil {
				t.Fatal("launch succeeded; want an error")
			}
			var appErr *temporal.ApplicationError
			isApp := errors.As(err, &appErr)
			if tt.wantType != "" && (!isApp || appErr.Type() != tt.wantType) {
				t.Fatalf("error %v: want application error type %s", err, tt.wantType)
			}
			if retryable := !isApp || !appErr.NonRetryable(); retryable != tt.wantRetryable {
				t.Errorf("error %v retryable = %v, want %v", err, retryable, tt.wantRetryable)
			}
			if tt.wantUnavailable != nil {
				var got []Offering
				if err := appErr.Details(&got); err != nil {
					t.Fatalf("read unavailable offerings from error details: %v", err)
				}
				if !slices.Equal(got, tt.wantUnavailable) {
					t.Errorf("unavailable offerings = %+v, want %+v", got, tt.wantUnavailable)
				}
			}
		})
	}
}

func TestLaunchRefusesWhatCannotLaunch(t *testing.T) {
	tests := []struct {
		name    string
		claim   Claim
		classes staticClasses
		want    string
		// offered replaces every zone offering every type; wantType replaces InvalidLaunch.
		offered  func(string, string) bool
		wantType string
	}{
		{name: "a claim in zones where the class has no subnet is planned again without them", claim: claim(withZones("us-east-1c")),
			want: "EC2NodeClass default has subnets in [us-east-1a us-east-1b]", wantType: ErrTypeInsufficientCapacity},
		{name: "a claim whose zones no longer offer its types is planned again without them", claim: claim(withZones("us-east-1a")),
			offered: func(string, string) bool { return false }, want: "no offering left", wantType: ErrTypeInsufficientCapacity},
		{name: "a claim no AMI suits", claim: claim(func(c *Claim) { c.InstanceTypes = []string{"m5.large"} }), classes: staticClasses{"default": func() *awsv1.EC2NodeClass {
			c := labClass()
			c.Status.AMIs = c.Status.AMIs[:1] // arm64 only
			return c
		}()}, want: "none of EC2NodeClass default's 1 AMIs suits"},
		{name: "a claim whose name is too long for a tag", claim: claim(func(c *Claim) { c.Name = strings.Repeat("x", 300) }), want: "over EC2's limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeEC2{fleetOut: launched("i-1", "m5.large", "us-east-1a", "")}
			e := testEC2(api)
			if tt.classes != nil {
				e.Classes = tt.classes
			}
			e.Offered = tt.offered
			wantType := cmp.Or(tt.wantType, ErrTypeInvalidLaunch)
			_, err := e.Launch(context.Background(), launchRequest(tt.claim))
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != wantType || !appErr.NonRetryable() {
				t.Fatalf("error = %v, want a non-retryable %s", err, wantType)
			}
			if wantType == ErrTypeInsufficientCapacity {
				var avoid []Offering
				if err := appErr.Details(&avoid); err != nil || len(avoid) != len(tt.claim.InstanceTypes)*len(tt.claim.Zones) {
					t.Errorf("details = %v, %v; want every offering of the claim to avoid", avoid, err)
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if len(api.fleetCalls) != 0 {
				t.Errorf("CreateFleet was called %d times for a launch that cannot be made", len(api.fleetCalls))
			}
		})
	}
}

func TestLaunchMakesItsLaunchTemplatesOnceAndAgainWhenDeleted(t *testing.T) {
	api := &fakeEC2{fleetOut: launched("i-1", "m5.large", "us-east-1a", "")}
	e := testEC2(api)
	ctx := context.Background()
	for range 2 {
		if _, err := e.Launch(ctx, launchRequest(claim())); err != nil {
			t.Fatalf("launch: %v", err)
		}
	}
	if len(api.templateCalls) != 1 {
		t.Fatalf("%d CreateLaunchTemplate calls for two launches of one shape, want 1", len(api.templateCalls))
	}
	lt := api.templateCalls[0]
	if got := lt.TagSpecifications[0].ResourceType; got != ec2types.ResourceTypeLaunchTemplate {
		t.Errorf("template tags go on %s", got)
	}
	data := lt.LaunchTemplateData
	if aws.ToString(data.ImageId) != "ami-amd" || !slices.Equal(data.SecurityGroupIds, []string{"sg-1", "sg-2"}) ||
		aws.ToString(data.IamInstanceProfile.Name) != "lab_profile" {
		t.Errorf("template data: image %s groups %v profile %+v", aws.ToString(data.ImageId), data.SecurityGroupIds, data.IamInstanceProfile)
	}
	if data.MetadataOptions.HttpTokens != ec2types.LaunchTemplateHttpTokensStateRequired || aws.ToInt32(data.MetadataOptions.HttpPutResponseHopLimit) != 1 {
		t.Errorf("metadata options = %+v, want IMDSv2 required with a hop limit of 1", data.MetadataOptions)
	}

	// Missing from a fleet's error set rather than refused outright: made again too.
	api.fleetMissingTemplate = false
	missing := fleetErrors("InvalidLaunchTemplateName.NotFoundException", "m5.large@us-east-1a")
	launchedOut := api.fleetOut
	api.fleetSeq = []*ec2.CreateFleetOutput{missing}
	api.templates = nil
	if _, err := e.Launch(ctx, launchRequest(claim())); err != nil {
		t.Fatalf("launch after the fleet reported the template missing: %v", err)
	}
	if len(api.templateCalls) != 2 || api.fleetOut != launchedOut {
		t.Errorf("%d CreateLaunchTemplate calls, want the template made again", len(api.templateCalls))
	}

	// Deleted behind our back: the next CreateFleet answers NotFound; the template is made
	// again and the launch goes through.
	api.templates = nil
	api.fleetMissingTemplate = true
	if _, err := e.Launch(ctx, launchRequest(claim())); err != nil {
		t.Fatalf("launch after the template was deleted: %v", err)
	}
	if len(api.templateCalls) != 3 {
		t.Errorf("%d CreateLaunchTemplate calls, want the template made again", len(api.templateCalls))
	}
}

func TestUnusedLaunchTemplatesAreCollected(t *testing.T) {
	api := &fakeEC2{fleetOut: launched("i-1", "m5.large", "us-east-1a", "")}
	e := testEC2(api)
	ctx := context.Background()
	if _, err := e.Launch(ctx, launchRequest(claim())); err != nil {
		t.Fatal(err)
	}
	used := aws.ToString(api.templateCalls[0].LaunchTemplateName)
	ours := []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: ec2Tags(map[string]string{
		"kubernetes.io/cluster/lab": "owned", TagNodeClass: "default"})}}
	api.templates["nodewright/left-by-a-restart"] = &ec2.CreateLaunchTemplateInput{TagSpecifications: ours}
	api.templates["karpenter.k8s.aws/123"] = &ec2.CreateLaunchTemplateInput{TagSpecifications: ours}
	other := []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: ec2Tags(map[string]string{
		"kubernetes.io/cluster/other": "owned", TagNodeClass: "default"})}}
	api.templates["nodewright/another-clusters"] = &ec2.CreateLaunchTemplateInput{TagSpecifications: other}

	if deleted, err := e.CollectLaunchTemplates(ctx); err != nil || len(deleted) != 0 {
		t.Fatalf("first collection deleted %v (%v): a template in use, or first seen, stays", deleted, err)
	}
	e.templates["nodewright/left-by-a-restart"] = templateSeen{used: time.Now().Add(-2 * templateUnusedFor)}
	deleted, err := e.CollectLaunchTemplates(ctx)
	if err != nil || !slices.Equal(deleted, []string{"nodewright/left-by-a-restart"}) {
		t.Fatalf("deleted %v (%v), want only the template unused for long", deleted, err)
	}
	for _, keep := range []string{used, "karpenter.k8s.aws/123", "nodewright/another-clusters"} {
		if _, ok := api.templates[keep]; !ok {
			t.Errorf("template %s was deleted", keep)
		}
	}

	if err := e.DeleteLaunchTemplates(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	if _, ok := api.templates[used]; ok {
		t.Errorf("the class's template %s outlived the class", used)
	}
	if _, ok := api.templates["karpenter.k8s.aws/123"]; !ok {
		t.Error("a Karpenter's template was deleted with our class")
	}
}

// A claim whose class is not resolved yet (a worker just started) is tried again.
func TestLaunchForAClassNotReadyIsRetried(t *testing.T) {
	api := &fakeEC2{fleetOut: launched("i-1", "m5.large", "us-east-1a", "")}
	e := testEC2(api)
	e.Classes = staticClasses{}
	_, err := e.Launch(context.Background(), launchRequest(claim()))
	var appErr *temporal.ApplicationError
	if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) || !strings.Contains(err.Error(), "EC2NodeClass default is not ready") {
		t.Fatalf("error %v, want a retryable one saying the class is not ready", err)
	}
	if len(api.fleetCalls) != 0 {
		t.Errorf("CreateFleet was called for a class not ready")
	}
}

// An attempt after one that launched and lost the answer adopts that instance, and
// terminates a second one should two have been launched.
func TestALaterAttemptAdoptsTheInstanceAnEarlierOneLaunched(t *testing.T) {
	owned := func(id string, state ec2types.InstanceStateName) ec2types.Instance {
		return ec2types.Instance{InstanceId: aws.String(id), InstanceType: "m5.large", ImageId: aws.String("ami-amd"),
			State: &ec2types.InstanceState{Name: state}, Placement: &ec2types.Placement{AvailabilityZone: aws.String("us-east-1b")},
			Tags: []ec2types.Tag{{Key: aws.String("kubernetes.io/cluster/lab"), Value: aws.String("owned")},
				{Key: aws.String(TagWorkflowID), Value: aws.String("node/default-abcde")}}}
	}
	api := &fakeEC2{describeOut: &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{
		owned("i-2", ec2types.InstanceStateNameRunning), owned("i-1", ec2types.InstanceStateNamePending), owned("i-0", ec2types.InstanceStateNameTerminated),
	}}}}}
	e := testEC2(api)
	var asked []string
	e.Price = pricesOf(map[string]float64{"m5.large/us-east-1b/on-demand": 0.096}, &asked)
	inst, ok, err := e.adopt(context.Background(), launchRequest(claim()))
	if err != nil || !ok {
		t.Fatalf("adopt: %v, %v", ok, err)
	}
	if inst.ID != "i-1" || inst.ZoneID != "use1-az6" || inst.ImageID != "ami-amd" || inst.PricePerHour != 0.096 {
		t.Errorf("adopted %+v, want i-1 in use1-az6 running ami-amd at its on-demand price 0.096/h", inst)
	}
	if len(api.terminateCalls) != 1 || !slices.Equal(api.terminateCalls[0], []string{"i-2"}) {
		t.Errorf("terminated %v, want the second instance i-2", api.terminateCalls)
	}
	if len(api.fleetCalls) != 0 {
		t.Error("adopting launched again")
	}
}

func TestLaunchTokens(t *testing.T) {
	if got := launchTokens("t", 1); !slices.Equal(got, []string{"t"}) {
		t.Errorf("attempt 1 tries %v, want the claim's token alone", got)
	}
	if got := launchTokens("t", 3); !slices.Equal(got, []string{"t", "t-3"}) {
		t.Errorf("attempt 3 tries %v, want the claim's token, then its own", got)
	}
}

// A later attempt asks with the claim's token first; when EC2 says the request changed since,
// or replays an answer that launched nothing, it asks again with its own.
func TestALaterAttemptFallsBackOnItsOwnToken(t *testing.T) {
	tests := []struct {
		name  string
		first func(*fakeEC2)
	}{
		{"the request changed since", func(f *fakeEC2) {
			f.fleetErrSeq = []error{&smithy.GenericAPIError{Code: "IdempotentParameterMismatch"}}
		}},
		{"the first answer launched nothing", func(f *fakeEC2) {
			f.fleetSeq = []*ec2.CreateFleetOutput{fleetErrors("InsufficientInstanceCapacity", "m5.large@us-east-1a")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeEC2{fleetOut: launched("i-1", "m5.large", "us-east-1a", "")}
			tt.first(api)
			e := testEC2(api)
			in, templates, _, err := e.fleetInput(launchRequest(claim()), e.Cluster)
			if err != nil {
				t.Fatal(err)
			}
			out, err := e.createFleet(context.Background(), in, templates, launchTokens("t", 2))
			if err != nil || launchedNothing(out) {
				t.Fatalf("launched nothing (%v)", err)
			}
			var tokens []string
			for _, c := range api.fleetCalls {
				tokens = append(tokens, aws.ToString(c.ClientToken))
			}
			if !slices.Equal(tokens, []string{"t", "t-2"}) {
				t.Errorf("tokens sent %v, want the claim's, then the attempt's", tokens)
			}
		})
	}
}

func TestOverridesNameOnlyZonesThatOfferTheType(t *testing.T) {
	api := &fakeEC2{fleetOut: launched("i-1", "m5.large", "us-east-1b", "")}
	e := testEC2(api)
	e.Offered = func(instanceType, zone string) bool { return instanceType != "m5.large" || zone == "us-east-1b" }
	c := claim(withZones("us-east-1a", "us-east-1b"))
	if _, err := e.Launch(context.Background(), LaunchRequest{ClientToken: "token-1", WorkflowID: "node/" + c.Name, Claim: c}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range api.fleetCalls[0].LaunchTemplateConfigs[0].Overrides {
		got = append(got, fmt.Sprintf("%s@%s", o.InstanceType, aws.ToString(o.AvailabilityZone)))
	}
	want := []string{"m5.large@us-east-1b", "m5.xlarge@us-east-1a", "m5.xlarge@us-east-1b"}
	if !slices.Equal(got, want) {
		t.Errorf("overrides = %v, want %v: us-east-1a does not offer m5.large", got, want)
	}
}
