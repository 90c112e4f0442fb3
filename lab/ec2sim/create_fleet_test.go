package ec2sim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

func TestCreateFleetLaunchesTheCheapestOverrideWithCapacity(t *testing.T) {
	spot, onDemand := types.DefaultTargetCapacityTypeSpot, types.DefaultTargetCapacityTypeOnDemand
	all := []types.FleetLaunchTemplateOverridesRequest{override("m5.xlarge"), override("c5.large"), override("m5.large")}
	tests := []struct {
		name         string
		capacityType types.DefaultTargetCapacityType
		overrides    []types.FleetLaunchTemplateOverridesRequest
		exhaust      []string // types with no capacity left
		wantType     string
		wantZone     string
		wantSpot     bool
	}{
		{name: "on-demand goes to the lowest on-demand price", capacityType: onDemand, overrides: all, wantType: "c5.large", wantZone: "us-east-1a"},
		{name: "spot goes to the lowest spot price, not the lowest on-demand price", capacityType: spot, overrides: all, wantType: "m5.large", wantZone: "us-east-1a", wantSpot: true},
		{name: "an exhausted cheaper type is passed over", capacityType: onDemand, overrides: all, exhaust: []string{"c5.large"}, wantType: "m5.large", wantZone: "us-east-1a"},
		{name: "a type not sold as spot is passed over for spot", capacityType: spot,
			overrides: []types.FleetLaunchTemplateOverridesRequest{override("u9.onlyondemand"), override("m5.xlarge")}, wantType: "m5.xlarge", wantZone: "us-east-1a", wantSpot: true},
		{name: "an override's zone is honoured", capacityType: onDemand,
			overrides: []types.FleetLaunchTemplateOverridesRequest{override("c5.large", inZone("us-east-1c"))}, wantType: "c5.large", wantZone: "us-east-1c"},
		{name: "an override's subnet decides the zone", capacityType: onDemand,
			overrides: []types.FleetLaunchTemplateOverridesRequest{override("m5.xlarge", inSubnet("subnet-us-east-1b")), override("m5.xlarge", inSubnet("subnet-us-east-1c"))}, wantType: "m5.xlarge", wantZone: "us-east-1b"},
		{name: "equal prices fall to the override with the better priority", capacityType: onDemand,
			overrides: []types.FleetLaunchTemplateOverridesRequest{override("c5.large", inZone("us-east-1a"), withPriority(2)), override("c5.large", inZone("us-east-1b"), withPriority(1))}, wantType: "c5.large", wantZone: "us-east-1b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := newSim(t)
			for _, name := range tc.exhaust {
				sim.SetCapacity(name, "", "", 0)
			}
			client := launchClient(t, sim)
			out, err := client.CreateFleet(context.Background(), fleet(tc.capacityType, tc.overrides, withTags(map[string]string{"nodepool": "general"})))
			if err != nil {
				t.Fatalf("create fleet: %v", err)
			}
			if len(out.Instances) != 1 || len(out.Instances[0].InstanceIds) != 1 {
				t.Fatalf("fleet launched %+v (errors %+v), want one instance", out.Instances, out.Errors)
			}
			launched := out.Instances[0]
			if string(launched.InstanceType) != tc.wantType || string(launched.Lifecycle) != string(tc.capacityType) {
				t.Errorf("fleet reports %s %s, want %s %s", launched.Lifecycle, launched.InstanceType, tc.capacityType, tc.wantType)
			}
			if got := string(launched.LaunchTemplateAndOverrides.Overrides.InstanceType); got != tc.wantType {
				t.Errorf("fleet echoes override %s, want %s", got, tc.wantType)
			}

			inst := describeOne(t, client, launched.InstanceIds[0])
			if string(inst.InstanceType) != tc.wantType || aws.ToString(inst.Placement.AvailabilityZone) != tc.wantZone {
				t.Errorf("instance is %s in %s, want %s in %s", inst.InstanceType, aws.ToString(inst.Placement.AvailabilityZone), tc.wantType, tc.wantZone)
			}
			if got := aws.ToString(inst.SubnetId); got != "subnet-"+tc.wantZone {
				t.Errorf("instance subnet is %s, want subnet-%s", got, tc.wantZone)
			}
			if isSpot := inst.InstanceLifecycle == types.InstanceLifecycleTypeSpot; isSpot != tc.wantSpot {
				t.Errorf("instance lifecycle is %q, want spot=%v", inst.InstanceLifecycle, tc.wantSpot)
			}
			if tags := tagsOf(inst); len(tags) != 1 || tags["nodepool"] != "general" {
				t.Errorf("instance tags are %v, want only nodepool=general (fleet tags stay off instances)", tags)
			}
		})
	}
}

func TestCreateFleetRecordsTheInstanceForTheLab(t *testing.T) {
	sim := newSim(t)
	client := launchClient(t, sim)
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeSpot, []types.FleetLaunchTemplateOverridesRequest{override("m5.large")}))

	got, ok := sim.Instance(id)
	if !ok {
		t.Fatalf("sim does not know instance %s", id)
	}
	want := ec2sim.Instance{
		ID: id, Type: "m5.large", Zone: "us-east-1a", SubnetID: "subnet-us-east-1a", CapacityType: ec2sim.CapacitySpot,
		State: ec2sim.StateRunning, LaunchTime: launchedAt, PricePerHour: 0.096 * 0.3,
	}
	if got.ID != want.ID || got.Type != want.Type || got.Zone != want.Zone || got.SubnetID != want.SubnetID ||
		got.CapacityType != want.CapacityType || got.State != want.State || !got.LaunchTime.Equal(want.LaunchTime) {
		t.Errorf("sim records %+v, want %+v", got, want)
	}
	if diff := got.PricePerHour - want.PricePerHour; diff > 1e-9 || diff < -1e-9 {
		t.Errorf("price per hour is %v, want the spot price %v", got.PricePerHour, want.PricePerHour)
	}
	if got.Tags["pool"] != "default" {
		t.Errorf("sim records tags %v, want pool=default", got.Tags)
	}
	inst := describeOne(t, client, id)
	if aws.ToString(inst.PrivateDnsName) != got.PrivateDNSName || aws.ToString(inst.PrivateIpAddress) != got.PrivateIP {
		t.Errorf("API shows %s/%s, sim records %s/%s", aws.ToString(inst.PrivateDnsName), aws.ToString(inst.PrivateIpAddress), got.PrivateDNSName, got.PrivateIP)
	}
	if !strings.HasPrefix(got.PrivateDNSName, "ip-10-0-") || !strings.HasSuffix(got.PrivateDNSName, ".ec2.internal") {
		t.Errorf("private DNS name %q is not EC2-shaped", got.PrivateDNSName)
	}
	if len(id) != len("i-")+17 {
		t.Errorf("instance id %q is not i- plus 17 hex digits", id)
	}
}

func TestCreateFleetClientTokenIsIdempotent(t *testing.T) {
	sim := newSim(t)
	client := launchClient(t, sim)
	in := fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}, withToken("node-a-launch"))

	first := launchOne(t, client, in)
	second := launchOne(t, client, in)

	if first != second {
		t.Errorf("retry with the same client token launched %s after %s, want the same instance", second, first)
	}
	if n := len(sim.Instances()); n != 1 {
		t.Errorf("sim holds %d instances after a repeated token, want 1", n)
	}
	if n := sim.Calls("CreateFleet"); n != 2 {
		t.Errorf("sim counted %d CreateFleet calls, want 2", n)
	}

	changed := fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("m5.large")}, withToken("node-a-launch"))
	_, err := client.CreateFleet(context.Background(), changed)
	if code := errorCode(t, err); code != ec2sim.CodeIdempotentParameterMismatch {
		t.Errorf("reused token with other parameters gave %s, want %s", code, ec2sim.CodeIdempotentParameterMismatch)
	}
	if n := len(sim.Instances()); n != 1 {
		t.Errorf("sim holds %d instances after a mismatched token, want 1", n)
	}
}

func TestCreateFleetWithoutCapacityReportsInsufficientCapacityInErrorSet(t *testing.T) {
	sim := newSim(t)
	sim.SetCapacity("c5.large", "", ec2sim.CapacitySpot, 0)
	sim.SetCapacity("m5.large", "us-east-1a", ec2sim.CapacitySpot, 0)
	client := launchClient(t, sim)

	out, err := client.CreateFleet(context.Background(), fleet(types.DefaultTargetCapacityTypeSpot,
		[]types.FleetLaunchTemplateOverridesRequest{override("c5.large"), override("m5.large", inZone("us-east-1a"))}))
	if err != nil {
		t.Fatalf("an instant fleet without capacity should still succeed, got %v", err)
	}
	if ids := fleetInstanceIDs(out); len(ids) != 0 {
		t.Errorf("fleet launched %v with no capacity", ids)
	}
	if len(out.Errors) != 2 {
		t.Fatalf("fleet reports %d errors, want one per override", len(out.Errors))
	}
	for _, e := range out.Errors {
		if aws.ToString(e.ErrorCode) != ec2sim.CodeInsufficientInstanceCapacity || e.Lifecycle != types.InstanceLifecycleSpot {
			t.Errorf("fleet error is %s (%s), want %s for spot", aws.ToString(e.ErrorCode), e.Lifecycle, ec2sim.CodeInsufficientInstanceCapacity)
		}
	}
	if n := len(sim.Instances()); n != 0 {
		t.Errorf("sim holds %d instances, want none", n)
	}
}

func TestCreateFleetFillsWhatCapacityAllowsAndReportsTheRest(t *testing.T) {
	sim := newSim(t)
	sim.SetCapacity("c5.large", "us-east-1a", ec2sim.CapacityOnDemand, 2)
	client := launchClient(t, sim)

	out, err := client.CreateFleet(context.Background(), fleet(types.DefaultTargetCapacityTypeOnDemand,
		[]types.FleetLaunchTemplateOverridesRequest{override("c5.large", inZone("us-east-1a"))}, withCount(3)))
	if err != nil {
		t.Fatalf("create fleet: %v", err)
	}
	if ids := fleetInstanceIDs(out); len(ids) != 2 {
		t.Errorf("fleet launched %d instances into a pool of 2", len(ids))
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].ErrorCode) != ec2sim.CodeInsufficientInstanceCapacity {
		t.Errorf("fleet errors are %+v, want one %s", out.Errors, ec2sim.CodeInsufficientInstanceCapacity)
	}
}

func TestCreateFleetRejectsRequestsItCannotServe(t *testing.T) {
	onDemand := types.DefaultTargetCapacityTypeOnDemand
	tests := []struct {
		name        string
		in          *ec2.CreateFleetInput
		wantCode    string
		wantMessage string
	}{
		{name: "a maintain fleet is refused naming Type",
			in:       fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}, func(in *ec2.CreateFleetInput) { in.Type = types.FleetTypeMaintain }),
			wantCode: ec2sim.CodeInvalidParameterValue, wantMessage: "Type"},
		{name: "an unknown instance type is refused naming the override",
			in:       fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large"), override("z9.imaginary")}),
			wantCode: ec2sim.CodeInvalidParameterValue, wantMessage: "LaunchTemplateConfigs.1.Overrides.2.InstanceType"},
		{name: "an unknown subnet is not found",
			in:       fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large", inSubnet("subnet-eu-west-1a"))}),
			wantCode: ec2sim.CodeInvalidSubnetIDNotFound, wantMessage: "subnet-eu-west-1a"},
		{name: "a zone outside the region is refused",
			in:       fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large", inZone("us-west-2a"))}),
			wantCode: ec2sim.CodeInvalidParameterValue, wantMessage: "AvailabilityZone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := newSim(t)
			client := launchClient(t, sim)
			_, err := client.CreateFleet(context.Background(), tc.in)
			if code := errorCode(t, err); code != tc.wantCode {
				t.Errorf("error code is %s, want %s", code, tc.wantCode)
			}
			if !strings.Contains(err.Error(), tc.wantMessage) {
				t.Errorf("error %q does not mention %s", err, tc.wantMessage)
			}
			if n := len(sim.Instances()); n != 0 {
				t.Errorf("a refused fleet left %d instances", n)
			}
		})
	}
}
