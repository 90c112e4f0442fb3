package ec2sim_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

func TestChaosThrottlesTheConfiguredFractionOfCalls(t *testing.T) {
	const calls = 1000
	tests := []struct {
		name          string
		throttle      map[string]float64
		action        string
		wantThrottled float64
	}{
		{"an action's own rate", map[string]float64{"DescribeInstances": 0.2}, "DescribeInstances", 0.2},
		{"every action's rate for an action without its own", map[string]float64{ec2sim.AllActions: 0.5}, "DescribeInstanceTypes", 0.5},
		{"an action's own rate over every action's", map[string]float64{ec2sim.AllActions: 0.5, "DescribeInstances": 0}, "DescribeInstances", 0},
		{"no rate for the action", map[string]float64{"CreateFleet": 1}, "DescribeInstances", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := newSim(t)
			if err := sim.SetChaos(ec2sim.Chaos{Seed: 1, Throttle: tc.throttle}); err != nil {
				t.Fatal(err)
			}
			throttled := throttledCalls(t, newClient(t, sim, 1), tc.action, calls)
			if got := float64(len(throttled)) / calls; math.Abs(got-tc.wantThrottled) > 0.05 {
				t.Errorf("%d of %d %s calls throttled (%.2f), want about %.2f", len(throttled), calls, tc.action, got, tc.wantThrottled)
			}
		})
	}
}

func TestChaosWithTheSameSeedThrottlesTheSameCalls(t *testing.T) {
	throttledWith := func(seed uint64) string {
		sim := newSim(t)
		if err := sim.SetChaos(ec2sim.Chaos{Seed: seed, Throttle: map[string]float64{ec2sim.AllActions: 0.3}}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(throttledCalls(t, newClient(t, sim, 1), "DescribeInstances", 100))
	}
	if a, b := throttledWith(7), throttledWith(7); a != b {
		t.Errorf("seed 7 throttled calls %s, then %s", a, b)
	}
	if a, b := throttledWith(7), throttledWith(8); a == b {
		t.Errorf("seeds 7 and 8 both throttled calls %s", a)
	}
}

// throttledCalls makes n calls of a read-only action and returns the numbers of those throttled.
func throttledCalls(t *testing.T, client *ec2.Client, action string, n int) []int {
	t.Helper()
	var throttled []int
	for i := range n {
		var err error
		switch action {
		case "DescribeInstances":
			_, err = client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
		case "DescribeInstanceTypes":
			_, err = client.DescribeInstanceTypes(context.Background(), &ec2.DescribeInstanceTypesInput{})
		default:
			t.Fatalf("throttledCalls cannot call %s", action)
		}
		if err == nil {
			continue
		}
		if code := errorCode(t, err); code != ec2sim.CodeRequestLimitExceeded {
			t.Fatalf("call %d failed with %s, want %s", i, code, ec2sim.CodeRequestLimitExceeded)
		}
		throttled = append(throttled, i)
	}
	return throttled
}

// An offering short of capacity stays short, like a real shortage, and only those are refused.
func TestChaosInsufficientCapacityIsStablePerOffering(t *testing.T) {
	sim := newSim(t)
	if err := sim.SetChaos(ec2sim.Chaos{Seed: 3, InsufficientCapacity: 0.5}); err != nil {
		t.Fatal(err)
	}
	client := launchClient(t, sim)
	short := 0
	offerings := 0
	for _, name := range []string{"c5.large", "m5.large", "m5.xlarge"} {
		for _, zone := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
			offerings++
			first := launchOutcome(t, client, name, zone)
			for range 3 {
				if again := launchOutcome(t, client, name, zone); again != first {
					t.Fatalf("%s in %s answered %s, then %s", name, zone, first, again)
				}
			}
			if first == ec2sim.CodeInsufficientInstanceCapacity {
				short++
			}
		}
	}
	if short == 0 || short == offerings {
		t.Errorf("%d of %d offerings short of capacity at a fraction of 0.5, want some but not all", short, offerings)
	}
}

// launchOutcome launches one on-demand instance of the type in the zone and returns
// "launched" or the error code the fleet listed.
func launchOutcome(t *testing.T, client *ec2.Client, instanceType, zone string) string {
	t.Helper()
	out, err := client.CreateFleet(context.Background(), fleet(types.DefaultTargetCapacityTypeOnDemand,
		[]types.FleetLaunchTemplateOverridesRequest{override(instanceType, inZone(zone))}))
	if err != nil {
		t.Fatalf("create fleet of %s in %s: %v", instanceType, zone, err)
	}
	if len(fleetInstanceIDs(out)) == 1 {
		return "launched"
	}
	if len(out.Errors) == 0 {
		t.Fatalf("fleet of %s in %s launched nothing and listed no error", instanceType, zone)
	}
	return *out.Errors[0].ErrorCode
}

// A CreateFleet whose response is lost is retried by the SDK with the same client token, and
// EC2 answers the retry with the instance the first call launched: one instance per call.
func TestChaosDroppedFleetResponsesLaunchExactlyOnce(t *testing.T) {
	const calls = 40
	sim := newSim(t)
	client := newClient(t, sim, 1)
	createTemplate(t, client, template(defaultTemplate))
	if err := sim.SetChaos(ec2sim.Chaos{Seed: 5, DropResponses: 0.5}); err != nil {
		t.Fatal(err)
	}
	retrying := newClient(t, sim, 20)
	seen := map[string]bool{}
	for i := range calls {
		id := launchOne(t, retrying, fleet(types.DefaultTargetCapacityTypeOnDemand,
			[]types.FleetLaunchTemplateOverridesRequest{override("c5.large")}, withToken(fmt.Sprintf("call-%d", i))))
		if seen[id] {
			t.Fatalf("call %d answered instance %s, already another call's", i, id)
		}
		seen[id] = true
	}
	if n := len(sim.Instances()); n != calls {
		t.Errorf("sim holds %d instances after %d calls, want one each", n, calls)
	}
	if n := sim.Calls("CreateFleet"); n < calls+calls/4 {
		t.Errorf("sim served %d CreateFleet requests for %d calls, want retries after about half the responses were lost", n, calls)
	}
}

func TestChaosDroppedResponseSparesReadOnlyCalls(t *testing.T) {
	sim := newSim(t)
	if err := sim.SetChaos(ec2sim.Chaos{DropResponses: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, sim, 1).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("DescribeInstances lost its response: %v", err)
	}
}

func TestChaosRefusesAProbabilityOutOfRange(t *testing.T) {
	tests := []struct {
		name  string
		chaos ec2sim.Chaos
		field string
	}{
		{"a throttle rate over one", ec2sim.Chaos{Throttle: map[string]float64{"CreateFleet": 1.5}}, "Throttle[CreateFleet]"},
		{"a negative capacity fraction", ec2sim.Chaos{InsufficientCapacity: -0.1}, "InsufficientCapacity"},
		{"a drop rate that is not a number", ec2sim.Chaos{DropResponses: math.NaN()}, "DropResponses"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := newSim(t).SetChaos(tc.chaos)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("SetChaos(%+v) = %v, want an error naming %s", tc.chaos, err, tc.field)
			}
		})
	}
}

func TestParseRates(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "", want: "map[]"},
		{in: "0.2", want: "map[*:0.2]"},
		{in: "CreateFleet=0.5, *=0.1", want: "map[*:0.1 CreateFleet:0.5]"},
		{in: "CreateFleet", wantErr: true},
		{in: "=0.5", wantErr: true},
		{in: "CreateFleet=lots", wantErr: true},
	}
	for _, tc := range tests {
		got, err := ec2sim.ParseRates(tc.in)
		if (err != nil) != tc.wantErr || err == nil && fmt.Sprint(got) != tc.want {
			t.Errorf("ParseRates(%q) = %v, %v; want %s (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
