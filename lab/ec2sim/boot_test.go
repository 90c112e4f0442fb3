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

func TestBootDelayKeepsInstancesPendingUntilTheyBoot(t *testing.T) {
	timers := &manualTimers{}
	sim := newSim(t, func(o *ec2sim.Options) { o.BootDelay = time.Minute; o.AfterFunc = timers.afterFunc })
	client := launchClient(t, sim)
	events, cancel := sim.Watch()
	defer cancel()

	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}))
	if inst := describeOne(t, client, id); inst.State.Name != types.InstanceStateNamePending || aws.ToInt32(inst.State.Code) != 0 {
		t.Errorf("new instance is %s (%d), want pending (0) before its boot delay", inst.State.Name, aws.ToInt32(inst.State.Code))
	}

	timers.fire(false)

	e := nextEvent(t, events)
	if e.Kind != ec2sim.InstanceRunning || e.Instance.ID != id || e.Instance.State != ec2sim.StateRunning {
		t.Errorf("watch delivered %s for %s (%s), want InstanceRunning for %s", e.Kind, e.Instance.ID, e.Instance.State, id)
	}
	if inst := describeOne(t, client, id); inst.State.Name != types.InstanceStateNameRunning {
		t.Errorf("booted instance describes as %s, want running", inst.State.Name)
	}
}

func TestTerminatingABootingInstanceCancelsItsBoot(t *testing.T) {
	timers := &manualTimers{}
	sim := newSim(t, func(o *ec2sim.Options) { o.BootDelay = time.Minute; o.AfterFunc = timers.afterFunc })
	client := launchClient(t, sim)
	ctx := context.Background()
	booting := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}))
	other := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("m5.large")}))
	events, cancel := sim.Watch()
	defer cancel()

	if _, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{booting}}); err != nil {
		t.Fatalf("terminate %s: %v", booting, err)
	}
	timers.fire(true) // even a boot timer that slipped past Stop must not revive it
	if _, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{other}}); err != nil {
		t.Fatalf("terminate %s: %v", other, err)
	}

	// Events arrive in order, so a revived boot would show up before the second termination.
	want := []struct {
		kind ec2sim.EventKind
		id   string
	}{{ec2sim.InstanceTerminated, booting}, {ec2sim.InstanceRunning, other}, {ec2sim.InstanceTerminated, other}}
	for _, w := range want {
		if e := nextEvent(t, events); e.Kind != w.kind || e.Instance.ID != w.id {
			t.Errorf("watch delivered %s for %s, want %s for %s", e.Kind, e.Instance.ID, w.kind, w.id)
		}
	}
	if inst, _ := sim.Instance(booting); inst.State != ec2sim.StateTerminated {
		t.Errorf("%s is %s after its boot timer fired, want terminated", booting, inst.State)
	}
}

func TestBootsCompleteOnTheRealClock(t *testing.T) {
	sim := newSim(t, func(o *ec2sim.Options) { o.BootDelay = time.Millisecond })
	client := launchClient(t, sim)
	events, cancel := sim.Watch()
	defer cancel()

	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}))

	if e := nextEvent(t, events); e.Kind != ec2sim.InstanceRunning || e.Instance.ID != id {
		t.Errorf("watch delivered %s for %s, want InstanceRunning for %s", e.Kind, e.Instance.ID, id)
	}
}

func TestCloseEndsWatches(t *testing.T) {
	sim := ec2sim.New(ec2sim.Options{Types: smallCatalog()})
	events, cancel := sim.Watch()
	defer cancel()

	sim.Close()

	select {
	case _, open := <-events:
		if open {
			t.Error("watch delivered an event after Close, want the channel closed")
		}
	case <-time.After(30 * time.Second):
		t.Error("watch channel still open after Close")
	}
}

func TestServeAnswersTheSDKUntilTheContextEnds(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sim := newSim(t)
	endpoint, err := sim.Serve(ctx, "")
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	client := clientFor(endpoint, 1)
	out, err := client.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{})
	if err != nil {
		t.Fatalf("describe instance types via %s: %v", endpoint, err)
	}
	if len(out.InstanceTypes) != len(smallCatalog()) {
		t.Errorf("served %d types, want %d", len(out.InstanceTypes), len(smallCatalog()))
	}
}
