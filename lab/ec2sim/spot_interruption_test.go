package ec2sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

// mailbox stands in for the interruption queue, keeping every published body.
type mailbox struct{ bodies []string }

func (m *mailbox) publish(body string) error {
	m.bodies = append(m.bodies, body)
	return nil
}

func launchSpot(t *testing.T, client *ec2.Client) string {
	t.Helper()
	return launchOne(t, client, fleet(types.DefaultTargetCapacityTypeSpot, []types.FleetLaunchTemplateOverridesRequest{override("m5.large", inZone("us-east-1b"))}))
}

func TestASpotInterruptionWarnsAndThenReclaimsTheInstance(t *testing.T) {
	timers := &manualTimers{}
	sim := newSim(t, func(o *ec2sim.Options) { o.AfterFunc = timers.afterFunc })
	client := launchClient(t, sim)
	id := launchSpot(t, client)
	events, cancel := sim.Watch()
	defer cancel()
	queue := &mailbox{}

	if err := sim.InterruptSpot(id, ec2sim.SpotNotice, queue.publish); err != nil {
		t.Fatalf("interrupt %s: %v", id, err)
	}

	if len(queue.bodies) != 1 {
		t.Fatalf("published %d messages, want the one warning", len(queue.bodies))
	}
	var warning struct {
		Version    string   `json:"version"`
		ID         string   `json:"id"`
		DetailType string   `json:"detail-type"`
		Source     string   `json:"source"`
		Account    string   `json:"account"`
		Time       string   `json:"time"`
		Region     string   `json:"region"`
		Resources  []string `json:"resources"`
		Detail     struct {
			InstanceID     string `json:"instance-id"`
			InstanceAction string `json:"instance-action"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(queue.bodies[0]), &warning); err != nil {
		t.Fatalf("warning %s is not JSON: %v", queue.bodies[0], err)
	}
	if warning.Version != "0" || len(warning.ID) != 36 || warning.DetailType != "EC2 Spot Instance Interruption Warning" ||
		warning.Source != "aws.ec2" || warning.Account != "123456789012" || warning.Region != "us-east-1" {
		t.Errorf("warning header is %+v, want version 0, a UUID id, the spot detail-type from aws.ec2 in 123456789012/us-east-1", warning)
	}
	if warning.Time != "2026-03-04T05:06:07Z" {
		t.Errorf("warning time is %q, want the sim clock to the second", warning.Time)
	}
	if len(warning.Resources) != 1 || warning.Resources[0] != "arn:aws:ec2:us-east-1b:instance/"+id {
		t.Errorf("warning resources are %v, want the instance ARN in its zone", warning.Resources)
	}
	if warning.Detail.InstanceID != id || warning.Detail.InstanceAction != "terminate" {
		t.Errorf("warning detail is %+v, want instance %s and action terminate", warning.Detail, id)
	}
	if inst := describeOne(t, client, id); inst.State.Name != types.InstanceStateNameRunning {
		t.Errorf("instance is %s during the notice, want running", inst.State.Name)
	}

	timers.fire(false)

	if e := nextEvent(t, events); e.Kind != ec2sim.InstanceTerminated || e.Instance.ID != id {
		t.Errorf("watch delivered %s for %s, want InstanceTerminated for %s", e.Kind, e.Instance.ID, id)
	}
	if inst := describeOne(t, client, id); inst.State.Name != types.InstanceStateNameTerminated {
		t.Errorf("instance is %s after the notice, want terminated", inst.State.Name)
	}
	if !sim.Reclaimed(id) {
		t.Errorf("Reclaimed(%s) is false after EC2 took the instance back", id)
	}
}

func TestTerminatingDuringTheNoticeIsNotAReclaim(t *testing.T) {
	timers := &manualTimers{}
	sim := newSim(t, func(o *ec2sim.Options) { o.AfterFunc = timers.afterFunc })
	client := launchClient(t, sim)
	interrupted, other := launchSpot(t, client), launchSpot(t, client)
	if err := sim.InterruptSpot(interrupted, ec2sim.SpotNotice, (&mailbox{}).publish); err != nil {
		t.Fatalf("interrupt %s: %v", interrupted, err)
	}
	events, cancel := sim.Watch()
	defer cancel()

	if _, err := client.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{interrupted}}); err != nil {
		t.Fatalf("terminate %s: %v", interrupted, err)
	}
	timers.fire(false)
	if _, err := client.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{other}}); err != nil {
		t.Fatalf("terminate %s: %v", other, err)
	}

	// Events arrive in order, so a second termination of the interrupted instance would come first.
	for _, want := range []string{interrupted, other} {
		if e := nextEvent(t, events); e.Kind != ec2sim.InstanceTerminated || e.Instance.ID != want {
			t.Errorf("watch delivered %s for %s, want InstanceTerminated for %s", e.Kind, e.Instance.ID, want)
		}
	}
	if sim.Reclaimed(interrupted) {
		t.Errorf("Reclaimed(%s) is true though it was terminated before the notice ran out", interrupted)
	}
}

func TestOnlyARunningSpotInstanceCanBeInterruptedOnce(t *testing.T) {
	tests := []struct {
		name   string
		launch func(t *testing.T, sim *ec2sim.Sim, client *ec2.Client) string
	}{
		{"an on-demand instance", func(t *testing.T, _ *ec2sim.Sim, client *ec2.Client) string {
			return launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("m5.large")}))
		}},
		{"a terminated spot instance", func(t *testing.T, _ *ec2sim.Sim, client *ec2.Client) string {
			id := launchSpot(t, client)
			if _, err := client.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
				t.Fatalf("terminate %s: %v", id, err)
			}
			return id
		}},
		{"a spot instance already under notice", func(t *testing.T, sim *ec2sim.Sim, client *ec2.Client) string {
			id := launchSpot(t, client)
			if err := sim.InterruptSpot(id, ec2sim.SpotNotice, (&mailbox{}).publish); err != nil {
				t.Fatalf("first interruption of %s: %v", id, err)
			}
			return id
		}},
		{"an instance that never existed", func(*testing.T, *ec2sim.Sim, *ec2.Client) string { return "i-0123456789abcdef0" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := newSim(t, func(o *ec2sim.Options) { o.AfterFunc = (&manualTimers{}).afterFunc })
			id := tc.launch(t, sim, launchClient(t, sim))
			queue := &mailbox{}
			if err := sim.InterruptSpot(id, ec2sim.SpotNotice, queue.publish); err == nil {
				t.Errorf("interrupting %s succeeded", id)
			}
			if len(queue.bodies) != 0 {
				t.Errorf("a refused interruption published %d messages", len(queue.bodies))
			}
		})
	}
}

func TestAPendingSpotInstanceCannotBeInterrupted(t *testing.T) {
	sim := newSim(t, func(o *ec2sim.Options) { o.BootDelay = time.Minute; o.AfterFunc = (&manualTimers{}).afterFunc })
	id := launchSpot(t, launchClient(t, sim))
	if err := sim.InterruptSpot(id, ec2sim.SpotNotice, (&mailbox{}).publish); err == nil {
		t.Errorf("interrupting pending %s succeeded", id)
	}
}

func TestAFailedPublishLeavesTheInstanceRunningAndInterruptible(t *testing.T) {
	timers := &manualTimers{}
	sim := newSim(t, func(o *ec2sim.Options) { o.AfterFunc = timers.afterFunc })
	client := launchClient(t, sim)
	id := launchSpot(t, client)
	queueDown := errors.New("queue unavailable")

	err := sim.InterruptSpot(id, ec2sim.SpotNotice, func(string) error { return queueDown })
	if !errors.Is(err, queueDown) {
		t.Fatalf("interrupt returned %v, want the publish error", err)
	}
	timers.fire(false)
	if inst := describeOne(t, client, id); inst.State.Name != types.InstanceStateNameRunning {
		t.Fatalf("instance is %s after a failed publish, want running", inst.State.Name)
	}
	if err := sim.InterruptSpot(id, ec2sim.SpotNotice, (&mailbox{}).publish); err != nil {
		t.Errorf("interrupting again after the failed publish: %v", err)
	}
}

func TestClosingTheSimCancelsPendingReclaims(t *testing.T) {
	timers := &manualTimers{}
	sim := newSim(t, func(o *ec2sim.Options) { o.AfterFunc = timers.afterFunc })
	id := launchSpot(t, launchClient(t, sim))
	if err := sim.InterruptSpot(id, ec2sim.SpotNotice, (&mailbox{}).publish); err != nil {
		t.Fatalf("interrupt %s: %v", id, err)
	}
	sim.Close()
	timers.fire(true) // even a timer that slipped past Stop must not reclaim after Close
	if inst, _ := sim.Instance(id); inst.State != ec2sim.StateRunning || sim.Reclaimed(id) {
		t.Errorf("instance is %s (reclaimed %v) after Close, want running", inst.State, sim.Reclaimed(id))
	}
}
