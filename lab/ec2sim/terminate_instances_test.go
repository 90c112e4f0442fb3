package ec2sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

func TestTerminateInstancesEndsTheInstanceAndTellsWatchers(t *testing.T) {
	sim := newSim(t)
	client := launchClient(t, sim)
	ctx := context.Background()
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}))
	events, cancel := sim.Watch()
	defer cancel()

	out, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("terminate %s: %v", id, err)
	}
	if len(out.TerminatingInstances) != 1 {
		t.Fatalf("terminate reported %d instances, want 1", len(out.TerminatingInstances))
	}
	change := out.TerminatingInstances[0]
	if change.PreviousState.Name != types.InstanceStateNameRunning || change.CurrentState.Name != types.InstanceStateNameTerminated {
		t.Errorf("terminate moved %s to %s, want running to terminated", change.PreviousState.Name, change.CurrentState.Name)
	}

	inst := describeOne(t, client, id)
	if inst.State.Name != types.InstanceStateNameTerminated || aws.ToInt32(inst.State.Code) != 48 {
		t.Errorf("terminated instance describes as %s (%d), want terminated (48)", inst.State.Name, aws.ToInt32(inst.State.Code))
	}
	e := nextEvent(t, events)
	if e.Kind != ec2sim.InstanceTerminated || e.Instance.ID != id || e.Instance.State != ec2sim.StateTerminated {
		t.Errorf("watch delivered %s for %s (%s), want InstanceTerminated for %s", e.Kind, e.Instance.ID, e.Instance.State, id)
	}

	again, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("terminating twice should succeed: %v", err)
	}
	if prev := again.TerminatingInstances[0].PreviousState.Name; prev != types.InstanceStateNameTerminated {
		t.Errorf("second terminate saw previous state %s, want terminated", prev)
	}
}

func TestTerminateInstancesRefusesUnknownIDsWithoutTerminatingOthers(t *testing.T) {
	sim := newSim(t)
	client := launchClient(t, sim)
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}))

	_, err := client.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id, "i-0fedcba9876543210"}})
	if code := errorCode(t, err); code != ec2sim.CodeInvalidInstanceIDNotFound {
		t.Errorf("error code is %s, want %s", code, ec2sim.CodeInvalidInstanceIDNotFound)
	}
	if inst, _ := sim.Instance(id); inst.State != ec2sim.StateRunning {
		t.Errorf("a refused terminate left %s %s, want running", id, inst.State)
	}
}

func TestShutdownDelayKeepsInstancesShuttingDownUntilItEnds(t *testing.T) {
	timers := &manualTimers{}
	sim := newSim(t, func(o *ec2sim.Options) { o.ShutdownDelay = time.Minute; o.AfterFunc = timers.afterFunc })
	client := launchClient(t, sim)
	ctx := context.Background()
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}))
	events, cancel := sim.Watch()
	defer cancel()

	for attempt := range 2 { // a second terminate while shutting down changes nothing
		out, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			t.Fatalf("terminate %s (attempt %d): %v", id, attempt+1, err)
		}
		if now := out.TerminatingInstances[0].CurrentState; now.Name != types.InstanceStateNameShuttingDown || aws.ToInt32(now.Code) != 32 {
			t.Errorf("terminate (attempt %d) left %s in %s (%d), want shutting-down (32)", attempt+1, id, now.Name, aws.ToInt32(now.Code))
		}
	}
	if inst := describeOne(t, client, id); inst.State.Name != types.InstanceStateNameShuttingDown {
		t.Errorf("instance describes as %s before its shutdown delay, want shutting-down", inst.State.Name)
	}
	if e := nextEvent(t, events); e.Kind != ec2sim.InstanceShuttingDown || e.Instance.ID != id {
		t.Errorf("watch delivered %s for %s, want InstanceShuttingDown for %s", e.Kind, e.Instance.ID, id)
	}

	timers.fire(false)

	if e := nextEvent(t, events); e.Kind != ec2sim.InstanceTerminated || e.Instance.ID != id {
		t.Errorf("watch delivered %s for %s, want InstanceTerminated for %s", e.Kind, e.Instance.ID, id)
	}
	if inst := describeOne(t, client, id); inst.State.Name != types.InstanceStateNameTerminated {
		t.Errorf("instance describes as %s after its shutdown delay, want terminated", inst.State.Name)
	}
}

func TestCloseLeavesShuttingDownInstancesSo(t *testing.T) {
	timers := &manualTimers{}
	sim := newSim(t, func(o *ec2sim.Options) { o.ShutdownDelay = time.Minute; o.AfterFunc = timers.afterFunc })
	client := launchClient(t, sim)
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}))
	if _, err := client.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("terminate %s: %v", id, err)
	}

	sim.Close()
	timers.fire(true) // a shutdown timer that slipped past Stop must not finish it either

	if inst, _ := sim.Instance(id); inst.State != ec2sim.StateShuttingDown {
		t.Errorf("%s is %s after Close, want still shutting-down", id, inst.State)
	}
}
