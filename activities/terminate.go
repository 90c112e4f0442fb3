package activities

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// Terminate terminates the instance and returns once EC2 says it is terminated, as Karpenter
// waits before it releases a NodeClaim: a Node deleted while its instance still shuts down
// could be registered again by its kubelet. It first reads the instance's tags and refuses,
// without retrying, one that is not this cluster's or not the request's claim's: an id in a
// workflow's input is not proof enough to terminate an instance. Only EC2's NotFound means
// gone; an answer that leaves the instance or its state out, or a describe that fails, means
// keep looking, and each look's outcome is the heartbeat, which the Temporal UI shows on the
// pending activity.
func (e *EC2) Terminate(ctx context.Context, req TerminateRequest) error {
	if req.InstanceID == "" {
		return temporal.NewNonRetryableApplicationError("terminate: the request names no instanceId", ErrTypeInvalidTerminate, nil)
	}
	dctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	inst, err := e.describeOne(dctx, req.InstanceID)
	if err != nil {
		return fmt.Errorf("read the tags of %s before terminating it: %w", req.InstanceID, err)
	}
	if inst == nil || (inst.State != nil && inst.State.Name == ec2types.InstanceStateNameTerminated) {
		return nil
	}
	if err := InstanceCheck(req).refusal(e.ClusterName, e.ownerTagsOf(*inst)); err != nil {
		return err
	}
	state, err := e.startTerminating(ctx, req.InstanceID)
	if err != nil {
		return err
	}
	return e.waitTerminated(ctx, req.InstanceID, state)
}

// ErrTypeInvalidTerminate: the terminate request can never succeed as given.
const ErrTypeInvalidTerminate = "InvalidTerminateRequest"

// waitTerminated looks again, ever less often, until EC2 says the instance is terminated or
// no longer knows it.
func (e *EC2) waitTerminated(ctx context.Context, instanceID, state string) error {
	wait := cmp.Or(e.terminatePoll, firstTerminatePoll)
	status := "is " + state
	for state != stateGone && state != string(ec2types.InstanceStateNameTerminated) {
		activity.RecordHeartbeat(ctx, "instance "+instanceID+" "+status)
		if err := sleep(ctx, jittered(wait)); err != nil {
			return fmt.Errorf("wait for %s to terminate (last seen: %s): %w", instanceID, status, err)
		}
		wait = min(2*wait, lastTerminatePoll)
		inst, err := e.ownerWithin(ctx, instanceID, describeTimeout)
		switch {
		case err != nil:
			status = "could not be described: " + err.Error()
		case !inst.Found:
			state = stateGone
		case inst.State == "":
			status = "is described without a state"
		default:
			state, status = inst.State, "is "+inst.State
		}
	}
	return nil
}

// ownerWithin is owner bounded by d, so one hung call cannot outlast the heartbeat timeout.
func (e *EC2) ownerWithin(ctx context.Context, instanceID string, d time.Duration) (InstanceOwner, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return e.owner(ctx, instanceID)
}

// describeTimeout bounds each look while Terminate waits: well under its heartbeat timeout.
const describeTimeout = 20 * time.Second

// stateGone stands for an instance EC2 answers NotFound for: terminated so long ago that it
// no longer lists it, or never launched.
const stateGone = ""

// Terminate looks whether a shutting-down instance is terminated after firstTerminatePoll,
// then ever less often: EC2 takes from seconds to minutes, and many nodes may be going at
// once under one account's DescribeInstances rate.
const (
	firstTerminatePoll = time.Second
	lastTerminatePoll  = 15 * time.Second
)

// jittered spreads d over ±20% so that nodes terminated together do not describe in step.
func jittered(d time.Duration) time.Duration {
	spread := int64(d) * 2 / 5
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread/2) + time.Duration(rand.Int64N(spread))
}

// startTerminating asks EC2 to terminate the instance and returns its state after the call,
// stateGone for an instance EC2 no longer knows.
func (e *EC2) startTerminating(ctx context.Context, instanceID string) (state string, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodDelete, time.Now(), &err)
	out, err := e.API.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{instanceID}})
	switch {
	case isInstanceNotFound(err):
		return stateGone, nil
	case err != nil:
		// Retryable whatever the code: the workflow keeps trying until the instance is gone.
		return "", fmt.Errorf("terminate %s: %w", instanceID, err)
	}
	for _, c := range out.TerminatingInstances {
		if aws.ToString(c.InstanceId) == instanceID && c.CurrentState != nil {
			return string(c.CurrentState.Name), nil
		}
	}
	return string(ec2types.InstanceStateNameShuttingDown), nil // to be confirmed by a describe
}
