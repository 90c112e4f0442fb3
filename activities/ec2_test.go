package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodewright/nodewright/activities/bootstrap"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// fakeEC2 answers with canned responses and records every request.
type fakeEC2 struct {
	fleetOut *ec2.CreateFleetOutput
	fleetErr error
	// fleetErrSeq, then fleetSeq, answer CreateFleet in turn before fleetOut takes over.
	fleetErrSeq  []error
	fleetSeq     []*ec2.CreateFleetOutput
	terminateErr error
	describeOut  *ec2.DescribeInstancesOutput
	// describeSeq answers DescribeInstances in turn before describeOut takes over; a nil
	// output stands for describeErr.
	describeSeq  []*ec2.DescribeInstancesOutput
	describeErr  error
	terminateOut *ec2.TerminateInstancesOutput
	typePages    [][]string
	// typeInfos are what DescribeInstanceTypes says of a type, by name; a type without one
	// is listed by name only.
	typeInfos map[string]ec2types.InstanceTypeInfo
	// spotPrices are the spot prices EC2 lists, by type@zone; nil lists none.
	spotPrices map[string]float64

	fleetCalls     []*ec2.CreateFleetInput
	terminateCalls [][]string
	describeCalls  [][]string
	describeFilter [][]ec2types.Filter
	typeCalls      []*ec2.DescribeInstanceTypesInput

	// templates are the launch templates that exist, by name; fleetMissingTemplate makes
	// the next CreateFleet answer NotFound as EC2 does for a template deleted under it.
	templates            map[string]*ec2.CreateLaunchTemplateInput
	templateCalls        []*ec2.CreateLaunchTemplateInput
	fleetMissingTemplate bool
}

func (f *fakeEC2) CreateLaunchTemplate(_ context.Context, in *ec2.CreateLaunchTemplateInput, _ ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error) {
	f.templateCalls = append(f.templateCalls, in)
	if f.templates == nil {
		f.templates = map[string]*ec2.CreateLaunchTemplateInput{}
	}
	if _, ok := f.templates[aws.ToString(in.LaunchTemplateName)]; ok {
		return nil, &smithy.GenericAPIError{Code: "InvalidLaunchTemplateName.AlreadyExistsException"}
	}
	f.templates[aws.ToString(in.LaunchTemplateName)] = in
	return &ec2.CreateLaunchTemplateOutput{}, nil
}

// DescribeLaunchTemplates finds templates by name, or lists those whose tags match every
// tag:<key> filter (tag-key filters are taken as met).
func (f *fakeEC2) DescribeLaunchTemplates(_ context.Context, in *ec2.DescribeLaunchTemplatesInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error) {
	out := &ec2.DescribeLaunchTemplatesOutput{}
	if len(in.LaunchTemplateNames) == 0 {
		for _, name := range slices.Sorted(maps.Keys(f.templates)) {
			tags := map[string]string{}
			for _, spec := range f.templates[name].TagSpecifications {
				for _, t := range spec.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
			match := true
			for _, flt := range in.Filters {
				if key, ok := strings.CutPrefix(aws.ToString(flt.Name), "tag:"); ok && !slices.Contains(flt.Values, tags[key]) {
					match = false
				}
			}
			if match {
				out.LaunchTemplates = append(out.LaunchTemplates, ec2types.LaunchTemplate{LaunchTemplateName: aws.String(name)})
			}
		}
		return out, nil
	}
	for _, name := range in.LaunchTemplateNames {
		if _, ok := f.templates[name]; !ok {
			return nil, &smithy.GenericAPIError{Code: "InvalidLaunchTemplateName.NotFoundException"}
		}
		out.LaunchTemplates = append(out.LaunchTemplates, ec2types.LaunchTemplate{LaunchTemplateName: aws.String(name)})
	}
	return out, nil
}

func (f *fakeEC2) DeleteLaunchTemplate(_ context.Context, in *ec2.DeleteLaunchTemplateInput, _ ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateOutput, error) {
	delete(f.templates, aws.ToString(in.LaunchTemplateName))
	return &ec2.DeleteLaunchTemplateOutput{}, nil
}

var _ EC2API = (*fakeEC2)(nil)

func (f *fakeEC2) CreateFleet(_ context.Context, in *ec2.CreateFleetInput, _ ...func(*ec2.Options)) (*ec2.CreateFleetOutput, error) {
	sent := *in // Launch reuses its request with another token
	f.fleetCalls = append(f.fleetCalls, &sent)
	if len(f.fleetErrSeq) > 0 {
		err := f.fleetErrSeq[0]
		f.fleetErrSeq = f.fleetErrSeq[1:]
		return nil, err
	}
	if len(f.fleetSeq) > 0 {
		out := f.fleetSeq[0]
		f.fleetSeq = f.fleetSeq[1:]
		return out, nil
	}
	for _, c := range in.LaunchTemplateConfigs {
		name := aws.ToString(c.LaunchTemplateSpecification.LaunchTemplateName)
		if _, ok := f.templates[name]; !ok || f.fleetMissingTemplate {
			f.fleetMissingTemplate = false
			return nil, &smithy.GenericAPIError{Code: "InvalidLaunchTemplateName.NotFoundException", Message: name}
		}
	}
	if f.fleetErr != nil {
		return nil, f.fleetErr
	}
	return f.fleetOut, nil
}

func (f *fakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.describeCalls = append(f.describeCalls, in.InstanceIds)
	f.describeFilter = append(f.describeFilter, in.Filters)
	if len(f.describeSeq) > 0 {
		out := f.describeSeq[0]
		f.describeSeq = f.describeSeq[1:]
		if out == nil {
			return nil, f.describeErr
		}
		return out, nil
	}
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	if f.describeOut == nil {
		return &ec2.DescribeInstancesOutput{}, nil
	}
	return f.describeOut, nil
}

func (f *fakeEC2) TerminateInstances(_ context.Context, in *ec2.TerminateInstancesInput, _ ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	f.terminateCalls = append(f.terminateCalls, in.InstanceIds)
	if f.terminateErr != nil {
		return nil, f.terminateErr
	}
	if f.terminateOut != nil {
		return f.terminateOut, nil
	}
	return &ec2.TerminateInstancesOutput{}, nil
}

// DescribeInstanceTypes serves typePages one page per call, chained by page-number tokens.
func (f *fakeEC2) DescribeInstanceTypes(_ context.Context, in *ec2.DescribeInstanceTypesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error) {
	f.typeCalls = append(f.typeCalls, in)
	page := 0
	if in.NextToken != nil {
		fmt.Sscanf(*in.NextToken, "page-%d", &page)
	}
	out := &ec2.DescribeInstanceTypesOutput{}
	for _, name := range f.typePages[page] {
		info, ok := f.typeInfos[name]
		if !ok {
			info = ec2types.InstanceTypeInfo{InstanceType: ec2types.InstanceType(name)}
		}
		out.InstanceTypes = append(out.InstanceTypes, info)
	}
	if page+1 < len(f.typePages) {
		out.NextToken = aws.String(fmt.Sprintf("page-%d", page+1))
	}
	return out, nil
}

// DescribeInstanceTypeOfferings is not served: the market falls back to every zone.
func (f *fakeEC2) DescribeInstanceTypeOfferings(context.Context, *ec2.DescribeInstanceTypeOfferingsInput, ...func(*ec2.Options)) (*ec2.DescribeInstanceTypeOfferingsOutput, error) {
	return nil, errors.New("fakeEC2 serves no offerings")
}

// DescribeSpotPriceHistory serves spotPrices, in one page stamped now; without them it fails
// and the market models spot prices from on-demand.
func (f *fakeEC2) DescribeSpotPriceHistory(context.Context, *ec2.DescribeSpotPriceHistoryInput, ...func(*ec2.Options)) (*ec2.DescribeSpotPriceHistoryOutput, error) {
	if f.spotPrices == nil {
		return nil, errors.New("fakeEC2 serves no spot prices")
	}
	out := &ec2.DescribeSpotPriceHistoryOutput{}
	for _, offering := range slices.Sorted(maps.Keys(f.spotPrices)) {
		typ, zone, _ := strings.Cut(offering, "@")
		out.SpotPriceHistory = append(out.SpotPriceHistory, ec2types.SpotPrice{
			InstanceType: ec2types.InstanceType(typ), AvailabilityZone: aws.String(zone), Timestamp: aws.Time(time.Now()),
			SpotPrice: aws.String(strconv.FormatFloat(f.spotPrices[offering], 'f', -1, 64)), ProductDescription: "Linux/UNIX",
		})
	}
	return out, nil
}

func launched(id, instanceType, zone string, lifecycle ec2types.InstanceLifecycle) *ec2.CreateFleetOutput {
	return &ec2.CreateFleetOutput{Instances: []ec2types.CreateFleetInstance{{
		InstanceIds: []string{id}, InstanceType: ec2types.InstanceType(instanceType),
		Lifecycle: lifecycle, AvailabilityZone: aws.String(zone),
	}}}
}

type claimOption func(*Claim)

func claim(opts ...claimOption) Claim {
	c := Claim{
		Name: "default-abcde", NodePool: "default", Pods: []string{"ns/web-1"},
		InstanceTypes: []string{"m5.large", "m5.xlarge"}, Zones: []string{"us-east-1b", "us-east-1a"},
		CapacityTypes: []string{"on-demand", "spot"},
		NodeClassRef:  &v1.NodeClassReference{Group: awsv1.Group, Kind: awsv1.KindEC2NodeClass, Name: "default"},
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func withCapacityTypes(ct ...string) claimOption { return func(c *Claim) { c.CapacityTypes = ct } }
func withInstanceTypes(n int) claimOption {
	return func(c *Claim) {
		c.InstanceTypes = nil
		for i := range n {
			c.InstanceTypes = append(c.InstanceTypes, fmt.Sprintf("t%d.large", i))
		}
	}
}
func withLabels(l map[string]string) claimOption { return func(c *Claim) { c.Labels = l } }
func withTaints(t ...corev1.Taint) claimOption   { return func(c *Claim) { c.Taints = t } }
func withZones(zones ...string) claimOption      { return func(c *Claim) { c.Zones = zones } }

// staticClasses are resolved classes by name.
type staticClasses map[string]*awsv1.EC2NodeClass

func (s staticClasses) NodeClass(name string) (*awsv1.EC2NodeClass, bool) {
	c, ok := s[name]
	return c, ok
}

// labClass is a resolved AL2023 class with two subnets in us-east-1a (the first has the more
// free addresses), one in us-east-1b, and an AMI for each architecture.
func labClass() *awsv1.EC2NodeClass {
	return &awsv1.EC2NodeClass{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: awsv1.EC2NodeClassSpec{
			AMISelectorTerms: []awsv1.AMISelectorTerm{{Alias: "al2023@latest"}},
			Role:             "KarpenterNodeRole-lab",
			Tags:             map[string]string{"team": "platform"},
		},
		Status: awsv1.EC2NodeClassStatus{
			Subnets: []awsv1.Subnet{
				{ID: "subnet-custom-a", Zone: "us-east-1a", ZoneID: "use1-az4"}, {ID: "subnet-small-a", Zone: "us-east-1a", ZoneID: "use1-az4"},
				{ID: "subnet-0b", Zone: "us-east-1b", ZoneID: "use1-az6"},
			},
			SecurityGroups: []awsv1.SecurityGroup{{ID: "sg-2"}, {ID: "sg-1"}},
			AMIs: []awsv1.AMI{
				{ID: "ami-arm", Requirements: []corev1.NodeSelectorRequirement{{Key: v1.LabelArch, Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}}}},
				{ID: "ami-amd", Requirements: []corev1.NodeSelectorRequirement{{Key: v1.LabelArch, Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}}},
			},
			InstanceProfile: "lab_profile",
		},
	}
}

// testEC2 launches for the lab class; types whose name has a "g" after the digit are arm64.
func testEC2(api *fakeEC2) *EC2 {
	return &EC2{
		API: api, ClusterName: "lab",
		Cluster: bootstrap.Cluster{Name: "lab", Endpoint: "https://lab.example", CABundle: "Y2E=", ServiceCIDR: "10.96.0.0/16"},
		Classes: staticClasses{"default": labClass()},
		InstanceTypeLabels: func(t string) map[string]string {
			family, _, _ := strings.Cut(t, ".")
			if strings.HasSuffix(family, "g") || strings.HasSuffix(family, "gd") {
				return map[string]string{v1.LabelArch: "arm64"}
			}
			return map[string]string{v1.LabelArch: "amd64"}
		},
	}
}

func launchRequest(c Claim) LaunchRequest {
	return LaunchRequest{ClientToken: "token-1", WorkflowID: "node/" + c.Name, Claim: c}
}

func tagsOf(in *ec2.CreateFleetInput) map[string]string {
	out := map[string]string{}
	for _, spec := range in.TagSpecifications {
		for _, t := range spec.Tags {
			out[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return out
}

// instanceIn is a DescribeInstances answer holding one instance in the given state.
func instanceIn(id string, state ec2types.InstanceStateName) *ec2.DescribeInstancesOutput {
	return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{{
		InstanceId: aws.String(id), State: &ec2types.InstanceState{Name: state},
	}}}}}
}

func TestTerminateWaitsUntilEC2SaysTerminated(t *testing.T) {
	notFound := &smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound"}
	throttled := &smithy.GenericAPIError{Code: "RequestLimitExceeded"}
	terminating := func(state ec2types.InstanceStateName) *ec2.TerminateInstancesOutput {
		return &ec2.TerminateInstancesOutput{TerminatingInstances: []ec2types.InstanceStateChange{{
			InstanceId: aws.String("i-9"), CurrentState: &ec2types.InstanceState{Name: state},
		}}}
	}
	tests := []struct {
		name          string
		api           *fakeEC2
		wantErr       bool
		wantDescribes int
	}{
		{name: "an instance already terminated needs no wait",
			api: &fakeEC2{terminateOut: terminating(ec2types.InstanceStateNameTerminated)}},
		{name: "a shutting-down instance is watched until terminated",
			api: &fakeEC2{terminateOut: terminating(ec2types.InstanceStateNameShuttingDown), describeSeq: []*ec2.DescribeInstancesOutput{
				instanceIn("i-9", ec2types.InstanceStateNameShuttingDown), instanceIn("i-9", ec2types.InstanceStateNameTerminated)}},
			wantDescribes: 2},
		{name: "a terminate answer without the instance is confirmed by a describe",
			api:           &fakeEC2{describeSeq: []*ec2.DescribeInstancesOutput{instanceIn("i-9", ec2types.InstanceStateNameTerminated)}},
			wantDescribes: 1},
		{name: "an instance EC2 stops knowing while it shuts down counts as terminated",
			api:           &fakeEC2{terminateOut: terminating(ec2types.InstanceStateNameShuttingDown), describeErr: notFound},
			wantDescribes: 1},
		{name: "a describe that fails, leaves the instance out or has no state is not an answer",
			api: &fakeEC2{terminateOut: terminating(ec2types.InstanceStateNameShuttingDown), describeErr: throttled,
				describeSeq: []*ec2.DescribeInstancesOutput{nil, {}, {Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{{InstanceId: aws.String("i-9")}}}}},
					instanceIn("i-other", ec2types.InstanceStateNameTerminated), instanceIn("i-9", ec2types.InstanceStateNameTerminated)}},
			wantDescribes: 5},
		{name: "an instance EC2 no longer knows counts as terminated",
			api: &fakeEC2{terminateErr: notFound}},
		{name: "other failures are reported",
			api: &fakeEC2{terminateErr: &smithy.GenericAPIError{Code: "UnauthorizedOperation"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The first describe is Terminate's look at the tags.
			tt.api.describeSeq = append([]*ec2.DescribeInstancesOutput{ownedRunning("i-9")}, tt.api.describeSeq...)
			e := &EC2{API: tt.api, ClusterName: "lab", terminatePoll: time.Millisecond}
			_, err := runActivity(t, e.Terminate, TerminateRequest{InstanceID: "i-9", WorkflowID: "node/c", NodeClaim: "c"})
			if (err != nil) != tt.wantErr {
				t.Errorf("terminate error = %v, want error: %v", err, tt.wantErr)
			}
			if len(tt.api.terminateCalls) != 1 || !slices.Equal(tt.api.terminateCalls[0], []string{"i-9"}) {
				t.Errorf("TerminateInstances calls = %v, want one for i-9", tt.api.terminateCalls)
			}
			if len(tt.api.describeCalls) != 1+tt.wantDescribes {
				t.Errorf("%d DescribeInstances calls, want %d", len(tt.api.describeCalls), 1+tt.wantDescribes)
			}
		})
	}
}

// ownedRunning is a running instance that workflow node/c launched for claim c in cluster lab.
func ownedRunning(id string) *ec2.DescribeInstancesOutput {
	return taggedInstance(id, ec2types.InstanceStateNameRunning,
		ClusterTagKey("lab"), "owned", TagWorkflowID, "node/c", TagNodeClaim, "c")
}

func TestTerminateActsOnlyOnAnInstanceItsTagsSayIsTheClaims(t *testing.T) {
	running := ec2types.InstanceStateNameRunning
	claimC := TerminateRequest{InstanceID: "i-9", WorkflowID: "node/c", NodeClaim: "c"}
	tests := []struct {
		name          string
		req           TerminateRequest
		described     *ec2.DescribeInstancesOutput
		describeErr   error
		wantTerminate bool
		wantRefusal   string // in the NotOwned error; "" for success
	}{
		{name: "the claim's instance is terminated", req: claimC, described: ownedRunning("i-9"), wantTerminate: true},
		{name: "an instance without this cluster's tag is refused",
			req: claimC, described: taggedInstance("i-9", running, TagWorkflowID, "node/c", TagNodeClaim, "c"),
			wantRefusal: "lacks this cluster's tag kubernetes.io/cluster/lab"},
		{name: "another cluster's instance is refused",
			req: claimC, described: taggedInstance("i-9", running, ClusterTagKey("prod"), "owned", TagWorkflowID, "node/c", TagNodeClaim, "c"),
			wantRefusal: "lacks this cluster's tag"},
		{name: "an instance another workflow launched is refused",
			req: claimC, described: taggedInstance("i-9", running, ClusterTagKey("lab"), "owned", TagWorkflowID, "node/d", TagNodeClaim, "c"),
			wantRefusal: `not launched by workflow node/c: found this cluster's tag, karpenter.sh/nodeclaim="c", nodewright.io/workflow-id="node/d"`},
		{name: "an instance launched for another NodeClaim is refused",
			req: claimC, described: taggedInstance("i-9", running, ClusterTagKey("lab"), "owned", TagWorkflowID, "node/c", TagNodeClaim, "d"),
			wantRefusal: "not launched for NodeClaim c"},
		{name: "a Karpenter's instance in this cluster is refused",
			req: claimC, described: taggedInstance("i-9", running, ClusterTagKey("lab"), "owned", "karpenter.sh/nodepool", "default"),
			wantRefusal: "not launched by workflow node/c"},
		{name: "an older worker's bare id is checked for this cluster's tag",
			req: TerminateRequest{InstanceID: "i-9"}, described: taggedInstance("i-9", running, TagWorkflowID, "node/c"), wantRefusal: "lacks this cluster's tag"},
		{name: "an older worker's bare id terminates an instance of this cluster",
			req: TerminateRequest{InstanceID: "i-9"}, described: ownedRunning("i-9"), wantTerminate: true},
		{name: "an instance EC2 no longer knows is gone",
			req: claimC, describeErr: &smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound"}},
		{name: "an instance already terminated is gone, whoever's it was",
			req: claimC, described: instanceIn("i-9", ec2types.InstanceStateNameTerminated)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeEC2{describeOut: tt.described, describeErr: tt.describeErr,
				terminateOut: &ec2.TerminateInstancesOutput{TerminatingInstances: []ec2types.InstanceStateChange{{
					InstanceId: aws.String("i-9"), CurrentState: &ec2types.InstanceState{Name: ec2types.InstanceStateNameTerminated}}}}}
			e := &EC2{API: api, ClusterName: "lab", terminatePoll: time.Millisecond}
			_, err := runActivity(t, e.Terminate, tt.req)
			if terminated := len(api.terminateCalls) > 0; terminated != tt.wantTerminate {
				t.Errorf("TerminateInstances called: %v, want %v", terminated, tt.wantTerminate)
			}
			assertRefusal(t, err, tt.wantRefusal)
		})
	}
}

// assertRefusal checks that err is a non-retryable NotOwned error saying want, or nil when
// want is empty.
func assertRefusal(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("error = %v, want none", err)
		}
		return
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeNotOwned || !appErr.NonRetryable() {
		t.Fatalf("error = %v, want a non-retryable %s refusal", err, ErrTypeNotOwned)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("refusal = %q, want it to say %q", err.Error(), want)
	}
}

func TestDescribeInstance(t *testing.T) {
	api := &fakeEC2{describeOut: &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{{
		InstanceId: aws.String("i-3"), InstanceType: "c5.large", InstanceLifecycle: ec2types.InstanceLifecycleTypeSpot,
		Placement: &ec2types.Placement{AvailabilityZone: aws.String("us-east-1a")},
		State:     &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
	}}}}}}
	got, err := (&EC2{API: api}).DescribeInstance(context.Background(), "i-3")
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	want := Instance{ID: "i-3", Type: "c5.large", Zone: "us-east-1a", CapacityType: "spot", State: "running"}
	if got != want {
		t.Errorf("instance = %+v, want %+v", got, want)
	}
	_, err = (&EC2{API: &fakeEC2{}}).DescribeInstance(context.Background(), "i-404")
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeInstanceNotFound {
		t.Errorf("describing an unknown instance: error = %v, want %s", err, ErrTypeInstanceNotFound)
	}
}

// taggedInstance is a DescribeInstances answer holding one instance in the given state with
// the tags, given as key, value, key, value...
func taggedInstance(id string, state ec2types.InstanceStateName, tags ...string) *ec2.DescribeInstancesOutput {
	out := instanceIn(id, state)
	i := &out.Reservations[0].Instances[0]
	for k := 0; k < len(tags); k += 2 {
		i.Tags = append(i.Tags, ec2types.Tag{Key: aws.String(tags[k]), Value: aws.String(tags[k+1])})
	}
	return out
}

func TestWorkflowOfReadsTheLaunchTags(t *testing.T) {
	instance := func(tags ...string) *ec2.DescribeInstancesOutput {
		return taggedInstance("i-3", ec2types.InstanceStateNameRunning, tags...)
	}
	tests := []struct {
		name    string
		out     *ec2.DescribeInstancesOutput
		err     error
		want    InstanceOwner
		wantErr bool
	}{
		{name: "launched by a node workflow of this cluster", out: instance(ClusterTagKey("lab"), "owned", TagWorkflowID, "node/default-abcde"),
			want: InstanceOwner{ID: "i-3", Found: true, WorkflowID: "node/default-abcde", State: "running"}},
		{name: "a workflow tag without this cluster's tag is not proof", out: instance(ClusterTagKey("other"), "owned", TagWorkflowID, "node/default-abcde"),
			want: InstanceOwner{ID: "i-3", Found: true, State: "running"}},
		{name: "a Karpenter's instance", out: instance(ClusterTagKey("lab"), "owned", "karpenter.sh/nodepool", "default"),
			want: InstanceOwner{ID: "i-3", Found: true, State: "running"}},
		{name: "an instance EC2 no longer knows", err: &smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound"}, want: InstanceOwner{ID: "i-3"}},
		{name: "an answer that leaves the instance out proves nothing", out: &ec2.DescribeInstancesOutput{}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeEC2{describeOut: tt.out, describeErr: tt.err}
			got, err := InstanceOwners{EC2: &EC2{API: api, ClusterName: "lab"}}.WorkflowOf(context.Background(), "i-3")
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("WorkflowOf = %+v, %v; want %+v, error: %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestLaunchedByAsksForTheWorkflowsLiveInstancesOfThisCluster(t *testing.T) {
	tagged := func(id string, tags ...string) ec2types.Instance {
		i := ec2types.Instance{InstanceId: aws.String(id), State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning}}
		for k := 0; k < len(tags); k += 2 {
			i.Tags = append(i.Tags, ec2types.Tag{Key: aws.String(tags[k]), Value: aws.String(tags[k+1])})
		}
		return i
	}
	api := &fakeEC2{describeOut: &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{
		tagged("i-5", ClusterTagKey("lab"), "owned", TagWorkflowID, "node/default-abcde"),
		// What a filter let through by mistake is checked again: the watcher terminates the answer.
		tagged("i-6", TagWorkflowID, "node/default-abcde"),
		tagged("i-7", ClusterTagKey("lab"), "owned", TagWorkflowID, "node/default-zzzzz"),
	}}}}}
	got, err := InstanceOwners{EC2: &EC2{API: api, ClusterName: "lab"}}.LaunchedBy(context.Background(), "node/default-abcde")
	if err != nil {
		t.Fatalf("LaunchedBy: %v", err)
	}
	want := []InstanceOwner{{ID: "i-5", Found: true, WorkflowID: "node/default-abcde", State: "running"}}
	if !slices.Equal(got, want) {
		t.Errorf("LaunchedBy = %+v, want %+v", got, want)
	}
	if len(api.describeFilter) != 1 {
		t.Fatalf("%d DescribeInstances calls, want 1", len(api.describeFilter))
	}
	filters := map[string][]string{}
	for _, f := range api.describeFilter[0] {
		filters[aws.ToString(f.Name)] = f.Values
	}
	if v := filters["tag:"+TagWorkflowID]; !slices.Equal(v, []string{"node/default-abcde"}) {
		t.Errorf("workflow tag filter = %v, want the workflow id", v)
	}
	if v := filters["tag-key"]; !slices.Equal(v, []string{ClusterTagKey("lab")}) {
		t.Errorf("tag-key filter = %v, want this cluster's tag", v)
	}
	if v := filters["instance-state-name"]; slices.Contains(v, "terminated") || !slices.Contains(v, "shutting-down") {
		t.Errorf("state filter = %v, want every state but terminated", v)
	}
}

// Every struct the worker registers must register: the SDK panics at start on an exported
// method whose signature is not an activity's.
func TestActivityStructsRegister(t *testing.T) {
	for _, acts := range []any{&EC2{}, &Kube{}, &NodeClaims{}, &Planner{}, &Disruption{}, &Nodes{}, &Interruptions{}} {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("registering %T: %v", acts, r)
				}
			}()
			env.RegisterActivity(acts)
		}()
	}
}
