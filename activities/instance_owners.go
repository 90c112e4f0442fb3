package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// InstanceOwner is what EC2 says of an instance Nodewright may have launched.
type InstanceOwner struct {
	ID string `json:"id"`
	// Found is false when EC2 no longer knows the instance.
	Found bool `json:"found"`
	// WorkflowID is the node workflow that launched it for this cluster; "" for an instance
	// that is not Nodewright's in this cluster (a Karpenter's, say).
	WorkflowID string `json:"workflowId,omitempty"`
	// State is its EC2 state name (running, shutting-down, terminated, ...).
	State string `json:"state,omitempty"`
}

// InstanceOwners is EC2 as the NodeClaim deletion watcher sees it, outside any workflow: who
// launched an instance, and a termination that does not wait. It is not an activity.
type InstanceOwners struct{ EC2 *EC2 }

// WorkflowOf reads which node workflow launched the instance, from the tags Nodewright puts on
// every instance it launches for this cluster.
func (o InstanceOwners) WorkflowOf(ctx context.Context, instanceID string) (InstanceOwner, error) {
	return o.EC2.owner(ctx, instanceID)
}

// LaunchedBy lists the instances, not yet terminated, that the workflow launched for this
// cluster: for a claim whose instance id was never recorded.
func (o InstanceOwners) LaunchedBy(ctx context.Context, workflowID string) ([]InstanceOwner, error) {
	return o.EC2.launchedBy(ctx, workflowID)
}

// Terminate asks EC2 to terminate the instance, without waiting for it to finish.
func (o InstanceOwners) Terminate(ctx context.Context, instanceID string) error {
	_, err := o.EC2.startTerminating(ctx, instanceID)
	return err
}

// owner reads an instance's state and the node workflow that launched it for this cluster.
// Found is false only when EC2 answers NotFound; an answer without the instance is an error.
func (e *EC2) owner(ctx context.Context, instanceID string) (InstanceOwner, error) {
	i, err := e.describeOne(ctx, instanceID)
	switch {
	case err != nil:
		return InstanceOwner{}, err
	case i == nil:
		return InstanceOwner{ID: instanceID}, nil
	}
	return e.ownerOf(*i), nil
}

// describeOne describes the instance; nil when EC2 answers NotFound.
func (e *EC2) describeOne(ctx context.Context, instanceID string) (_ *ec2types.Instance, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodGet, time.Now(), &err)
	out, err := e.API.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if isInstanceNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, classifyAPIError("describe "+instanceID, err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if aws.ToString(i.InstanceId) == instanceID {
				return &i, nil
			}
		}
	}
	return nil, fmt.Errorf("describe %s: EC2's answer leaves the instance out", instanceID)
}

// ownerOf reads who launched a described instance: the workflow tag counts only beside this
// cluster's tag.
func (e *EC2) ownerOf(i ec2types.Instance) InstanceOwner {
	owner := InstanceOwner{ID: aws.ToString(i.InstanceId), Found: true}
	if i.State != nil {
		owner.State = string(i.State.Name)
	}
	if tags := e.ownerTagsOf(i); tags.cluster {
		owner.WorkflowID = tags.workflowID
	}
	return owner
}

// ownerTagsOf reads the tags by which an instance says whose it is.
func (e *EC2) ownerTagsOf(i ec2types.Instance) ownerTags {
	var tags ownerTags
	for _, t := range i.Tags {
		switch aws.ToString(t.Key) {
		case ClusterTagKey(e.ClusterName):
			tags.cluster = true
		case TagNodeClaim:
			tags.nodeClaim = aws.ToString(t.Value)
		case TagWorkflowID:
			tags.workflowID = aws.ToString(t.Value)
		}
	}
	return tags
}

// launchedBy asks EC2 for the workflow's instances by tag, and checks each answer's tags
// itself: the watcher terminates what this returns.
func (e *EC2) launchedBy(ctx context.Context, workflowID string) (_ []InstanceOwner, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodGet, time.Now(), &err)
	in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + TagWorkflowID), Values: []string{workflowID}},
		{Name: aws.String("tag-key"), Values: []string{ClusterTagKey(e.ClusterName)}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped", "shutting-down"}},
	}}
	var out []InstanceOwner
	pages := ec2.NewDescribeInstancesPaginator(e.API, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classifyAPIError("describe the instances of "+workflowID, err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				if owner := e.ownerOf(i); owner.WorkflowID == workflowID {
					out = append(out, owner)
				}
			}
		}
	}
	return out, nil
}
