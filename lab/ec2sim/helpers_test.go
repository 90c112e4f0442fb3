package ec2sim_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// launchedAt is the simulated clock's fixed reading, so launch times can be compared exactly.
var launchedAt = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// smallCatalog has round prices so "the cheapest" is obvious from reading the test.
func smallCatalog() []catalog.Type {
	pct := func(p float64) *float64 { return &p }
	both := []string{"on-demand", "spot"}
	return []catalog.Type{
		{Name: "c5.large", VCPU: 2, MemoryMiB: 4096, Architectures: []string{"x86_64"}, UsageClasses: both, OnDemandPrice: 0.085, SpotSavingsPct: pct(50)},
		{Name: "m5.large", VCPU: 2, MemoryMiB: 8192, Architectures: []string{"x86_64"}, UsageClasses: both, OnDemandPrice: 0.096, SpotSavingsPct: pct(70)},
		{Name: "m5.xlarge", VCPU: 4, MemoryMiB: 16384, Architectures: []string{"x86_64"}, UsageClasses: both, OnDemandPrice: 0.192, SpotSavingsPct: pct(70)},
		{Name: "m7g.large", VCPU: 2, MemoryMiB: 8192, Architectures: []string{"arm64"}, UsageClasses: both, OnDemandPrice: 0.0816, SpotSavingsPct: pct(10)},
		{Name: "u9.onlyondemand", VCPU: 2, MemoryMiB: 4096, Architectures: []string{"x86_64"}, UsageClasses: []string{"on-demand"}, OnDemandPrice: 0.001},
	}
}

// newSim builds a sim over the small catalog with instant boots and a fixed clock.
func newSim(t *testing.T, tweak ...func(*ec2sim.Options)) *ec2sim.Sim {
	t.Helper()
	o := ec2sim.Options{Types: smallCatalog(), Clock: func() time.Time { return launchedAt }}
	for _, f := range tweak {
		f(&o)
	}
	sim := ec2sim.New(o)
	t.Cleanup(sim.Close)
	return sim
}

// newClient is the real SDK client aimed at sim, retrying up to attempts times without delay.
func newClient(t *testing.T, sim *ec2sim.Sim, attempts int) *ec2.Client {
	t.Helper()
	server := httptest.NewServer(sim)
	t.Cleanup(server.Close)
	return clientFor(server.URL, attempts)
}

func clientFor(url string, attempts int) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEC2SIM", "secret", ""),
		HTTPClient:   ec2sim.HTTPClient(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		}),
	})
}

type overrideOption func(*types.FleetLaunchTemplateOverridesRequest)

func override(instanceType string, opts ...overrideOption) types.FleetLaunchTemplateOverridesRequest {
	o := types.FleetLaunchTemplateOverridesRequest{InstanceType: types.InstanceType(instanceType)}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func inZone(zone string) overrideOption {
	return func(o *types.FleetLaunchTemplateOverridesRequest) { o.AvailabilityZone = aws.String(zone) }
}

func inSubnet(subnet string) overrideOption {
	return func(o *types.FleetLaunchTemplateOverridesRequest) { o.SubnetId = aws.String(subnet) }
}

func withPriority(p float64) overrideOption {
	return func(o *types.FleetLaunchTemplateOverridesRequest) { o.Priority = aws.Float64(p) }
}

type fleetOption func(*ec2.CreateFleetInput)

// fleet is an instant fleet for one instance of the given capacity type, tagged pool=default.
func fleet(capacityType types.DefaultTargetCapacityType, overrides []types.FleetLaunchTemplateOverridesRequest, opts ...fleetOption) *ec2.CreateFleetInput {
	in := &ec2.CreateFleetInput{
		Type: types.FleetTypeInstant,
		TargetCapacitySpecification: &types.TargetCapacitySpecificationRequest{
			TotalTargetCapacity:       aws.Int32(1),
			DefaultTargetCapacityType: capacityType,
		},
		LaunchTemplateConfigs: []types.FleetLaunchTemplateConfigRequest{{
			LaunchTemplateSpecification: &types.FleetLaunchTemplateSpecificationRequest{
				LaunchTemplateName: aws.String("nodewright-default"), Version: aws.String("$Latest"),
			},
			Overrides: overrides,
		}},
		SpotOptions:     &types.SpotOptionsRequest{AllocationStrategy: types.SpotAllocationStrategyPriceCapacityOptimized},
		OnDemandOptions: &types.OnDemandOptionsRequest{AllocationStrategy: types.FleetOnDemandAllocationStrategyLowestPrice},
	}
	withTags(map[string]string{"pool": "default"})(in)
	for _, opt := range opts {
		opt(in)
	}
	return in
}

func withToken(token string) fleetOption {
	return func(in *ec2.CreateFleetInput) { in.ClientToken = aws.String(token) }
}

func withCount(n int32) fleetOption {
	return func(in *ec2.CreateFleetInput) { in.TargetCapacitySpecification.TotalTargetCapacity = aws.Int32(n) }
}

// withTags replaces the instance tags, keeping a fleet tag spec alongside to show it is ignored.
func withTags(tags map[string]string) fleetOption {
	return func(in *ec2.CreateFleetInput) {
		spec := types.TagSpecification{ResourceType: types.ResourceTypeInstance}
		for k, v := range tags {
			spec.Tags = append(spec.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		in.TagSpecifications = []types.TagSpecification{
			{ResourceType: types.ResourceTypeFleet, Tags: []types.Tag{{Key: aws.String("fleet-only"), Value: aws.String("yes")}}},
			spec,
		}
	}
}

// launchOne creates a one-instance fleet and returns the instance id, failing if none launched.
func launchOne(t *testing.T, client *ec2.Client, in *ec2.CreateFleetInput) string {
	t.Helper()
	out, err := client.CreateFleet(context.Background(), in)
	if err != nil {
		t.Fatalf("create fleet: %v", err)
	}
	ids := fleetInstanceIDs(out)
	if len(ids) != 1 {
		t.Fatalf("fleet launched %d instances (errors %+v), want 1", len(ids), out.Errors)
	}
	return ids[0]
}

func fleetInstanceIDs(out *ec2.CreateFleetOutput) []string {
	var ids []string
	for _, inst := range out.Instances {
		ids = append(ids, inst.InstanceIds...)
	}
	return ids
}

// describeOne fetches one instance through DescribeInstances.
func describeOne(t *testing.T, client *ec2.Client, id string) types.Instance {
	t.Helper()
	out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("describe instance %s: %v", id, err)
	}
	found := instancesOf(out)
	if len(found) != 1 {
		t.Fatalf("describe instance %s returned %d instances", id, len(found))
	}
	return found[0]
}

func instancesOf(out *ec2.DescribeInstancesOutput) []types.Instance {
	var all []types.Instance
	for _, r := range out.Reservations {
		all = append(all, r.Instances...)
	}
	return all
}

func tagsOf(inst types.Instance) map[string]string {
	tags := map[string]string{}
	for _, tag := range inst.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags
}

// errorCode is the EC2 error code the SDK surfaced, failing if err is not an API error.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an EC2 API error, got %v", err)
	}
	return apiErr.ErrorCode()
}

// nextEvent waits for the next sim event; the deadline only stops a broken sim hanging the test.
func nextEvent(t *testing.T, events <-chan ec2sim.Event) ec2sim.Event {
	t.Helper()
	select {
	case e, ok := <-events:
		if !ok {
			t.Fatal("watch channel closed before the expected event")
		}
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no instance event arrived")
	}
	return ec2sim.Event{}
}

// manualTimers stands in for time.AfterFunc so tests finish boots when they choose.
type manualTimers struct {
	mu      sync.Mutex
	pending []*manualTimer
}

type manualTimer struct {
	f       func()
	stopped bool
}

func (m *manualTimers) afterFunc(_ time.Duration, f func()) func() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	timer := &manualTimer{f: f}
	m.pending = append(m.pending, timer)
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		wasPending := !timer.stopped
		timer.stopped = true
		return wasPending
	}
}

// fire runs every scheduled callback; includeStopped also runs stopped ones, as a timer that fired
// while being stopped would.
func (m *manualTimers) fire(includeStopped bool) {
	m.mu.Lock()
	var due []func()
	for _, timer := range m.pending {
		if includeStopped || !timer.stopped {
			due = append(due, timer.f)
		}
	}
	m.pending = nil
	m.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// everyPage follows an SDK paginator to its end, failing the test at the first error.
func everyPage[T any](t *testing.T, hasMore func() bool, next func(context.Context, ...func(*ec2.Options)) (T, error)) []T {
	t.Helper()
	var pages []T
	for hasMore() {
		page, err := next(context.Background())
		if err != nil {
			t.Fatalf("page %d: %v", len(pages)+1, err)
		}
		pages = append(pages, page)
	}
	return pages
}
