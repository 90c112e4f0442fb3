package ec2sim_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

func TestDescribeInstancesFilters(t *testing.T) {
	sim := newSim(t)
	client := launchClient(t, sim)
	ctx := context.Background()
	general := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand,
		[]types.FleetLaunchTemplateOverridesRequest{override("c5.large", inZone("us-east-1a"))}, withTags(map[string]string{"nodepool": "general"})))
	gpu := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeSpot,
		[]types.FleetLaunchTemplateOverridesRequest{override("m5.xlarge", inZone("us-east-1b"))}, withTags(map[string]string{"nodepool": "gpu", "team": "ml"})))
	gone := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand,
		[]types.FleetLaunchTemplateOverridesRequest{override("c5.large", inZone("us-east-1b"))}, withTags(map[string]string{"nodepool": "general"})))
	if _, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{gone}}); err != nil {
		t.Fatalf("terminate %s: %v", gone, err)
	}

	filter := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{name: "a tag value picks its nodepool, terminated included", filters: []types.Filter{filter("tag:nodepool", "general")}, want: []string{general, gone}},
		{name: "tag values take wildcards", filters: []types.Filter{filter("tag:nodepool", "g*u")}, want: []string{gpu}},
		{name: "tag-key finds any instance carrying the key", filters: []types.Filter{filter("tag-key", "team")}, want: []string{gpu}},
		{name: "filters are ANDed", filters: []types.Filter{filter("tag:nodepool", "general"), filter("instance-state-name", "pending", "running")}, want: []string{general}},
		{name: "terminated instances stay visible by state", filters: []types.Filter{filter("instance-state-name", "terminated")}, want: []string{gone}},
		{name: "values of one filter are ORed", filters: []types.Filter{filter("instance-id", general, gpu)}, want: []string{general, gpu}},
		{name: "instance type", filters: []types.Filter{filter("instance-type", "m5.xlarge")}, want: []string{gpu}},
		{name: "availability zone", filters: []types.Filter{filter("availability-zone", "us-east-1b")}, want: []string{gpu, gone}},
		{name: "a tag nobody has matches nothing", filters: []types.Filter{filter("tag:nodepool", "batch")}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: tc.filters})
			if err != nil {
				t.Fatalf("describe instances: %v", err)
			}
			var got []string
			for _, inst := range instancesOf(out) {
				got = append(got, aws.ToString(inst.InstanceId))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("filters matched %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDescribeInstancesByIDShowsEC2Fields(t *testing.T) {
	sim := newSim(t)
	client := launchClient(t, sim)
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeSpot, []types.FleetLaunchTemplateOverridesRequest{override("m7g.large", inZone("us-east-1c"))}))

	inst := describeOne(t, client, id)
	if aws.ToString(inst.InstanceId) != id || inst.InstanceType != "m7g.large" {
		t.Errorf("described %s %s, want %s m7g.large", aws.ToString(inst.InstanceId), inst.InstanceType, id)
	}
	if inst.State == nil || aws.ToInt32(inst.State.Code) != 16 || inst.State.Name != types.InstanceStateNameRunning {
		t.Errorf("state is %+v, want running (16)", inst.State)
	}
	if inst.Architecture != types.ArchitectureValuesArm64 {
		t.Errorf("architecture is %q, want arm64", inst.Architecture)
	}
	if inst.InstanceLifecycle != types.InstanceLifecycleTypeSpot || aws.ToString(inst.SpotInstanceRequestId) == "" {
		t.Errorf("lifecycle %q with spot request %q, want a spot instance with a request id", inst.InstanceLifecycle, aws.ToString(inst.SpotInstanceRequestId))
	}
	if !aws.ToTime(inst.LaunchTime).Equal(launchedAt) {
		t.Errorf("launch time is %v, want %v", aws.ToTime(inst.LaunchTime), launchedAt)
	}
}

func TestDescribeInstancesRefusesBadIDs(t *testing.T) {
	tests := []struct {
		name     string
		ids      []string
		wantCode string
	}{
		{name: "an id that never existed is not found", ids: []string{"i-0123456789abcdef0"}, wantCode: ec2sim.CodeInvalidInstanceIDNotFound},
		{name: "a garbled id is malformed", ids: []string{"node-1"}, wantCode: ec2sim.CodeInvalidInstanceIDMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := newClient(t, newSim(t), 1)
			_, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: tc.ids})
			if code := errorCode(t, err); code != tc.wantCode {
				t.Errorf("error code is %s, want %s", code, tc.wantCode)
			}
		})
	}
}

func TestDescribeInstancesPaginatesInLaunchOrder(t *testing.T) {
	sim := newSim(t)
	client := launchClient(t, sim)
	out, err := client.CreateFleet(context.Background(), fleet(types.DefaultTargetCapacityTypeOnDemand,
		[]types.FleetLaunchTemplateOverridesRequest{override("c5.large")}, withCount(7)))
	if err != nil {
		t.Fatalf("create fleet: %v", err)
	}
	launched := fleetInstanceIDs(out)

	pages := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	var seen []string
	pageCount := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("page %d: %v", pageCount+1, err)
		}
		pageCount++
		for _, inst := range instancesOf(page) {
			seen = append(seen, aws.ToString(inst.InstanceId))
		}
	}
	if pageCount != 2 {
		t.Errorf("7 instances came in %d pages of 5, want 2", pageCount)
	}
	if !slices.Equal(seen, launched) {
		t.Errorf("pages listed %v, want the fleet's %v in order", seen, launched)
	}
	var recorded []string
	for _, inst := range sim.Instances() {
		recorded = append(recorded, inst.ID)
	}
	if !slices.Equal(recorded, launched) {
		t.Errorf("sim lists %v, want launch order %v", recorded, launched)
	}
}
