package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"

	"github.com/nodewright/nodewright/activities/bootstrap"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Tags every launched instance carries. The node's labels and taints are not among them:
// they travel in its user data, which its kubelet reads.
const (
	TagNodePool   = v1.LabelNodePool
	TagNodeClaim  = v1.LabelNodeClaim
	TagWorkflowID = "nodewright.io/workflow-id"
)

// ClusterTagKey is the tag that marks an instance as owned by the cluster.
func ClusterTagKey(cluster string) string { return "kubernetes.io/cluster/" + cluster }

const (
	// maxOverrideTypes is how many instance types one CreateFleet gets, as Karpenter sends.
	maxOverrideTypes = 60
	// maxTagValueLen is EC2's limit on a tag value.
	maxTagValueLen = 256
)

// isCapacityError reports whether an EC2 error code means "no capacity for this offering":
// another offering may work, retrying the same one will not (Karpenter's list).
func isCapacityError(code string) bool {
	switch code {
	case "InsufficientInstanceCapacity", "MaxSpotInstanceCountExceeded", "VcpuLimitExceeded",
		"UnfulfillableCapacity", "Unsupported", "InsufficientFreeAddressesInSubnet":
		return true
	}
	return false
}

// isThrottleError reports whether an EC2 error code asks the caller to slow down.
func isThrottleError(code string) bool {
	switch code {
	case "RequestLimitExceeded", "Throttling", "ThrottlingException":
		return true
	}
	return false
}

// EC2API is the part of *ec2.Client the activities use.
type EC2API interface {
	CreateFleet(ctx context.Context, in *ec2.CreateFleetInput, opts ...func(*ec2.Options)) (*ec2.CreateFleetOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, opts ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	CreateLaunchTemplate(ctx context.Context, in *ec2.CreateLaunchTemplateInput, opts ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error)
	DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
	DeleteLaunchTemplate(ctx context.Context, in *ec2.DeleteLaunchTemplateInput, opts ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateOutput, error)
}

var _ EC2API = (*ec2.Client)(nil)

// NodeClassSource gives the EC2NodeClasses with what they last resolved to (subnets,
// security groups, AMIs, instance profile); ok is false for a class not resolved or not
// Ready, which launches nothing.
type NodeClassSource interface {
	NodeClass(name string) (class *awsv1.EC2NodeClass, ok bool)
}

// EC2 launches and terminates instances.
type EC2 struct {
	API         EC2API
	ClusterName string
	// Cluster is what nodes need to join: it goes into their user data. When its endpoint is
	// empty, ClusterFrom is asked at each launch until it answers (EKS may be down when the
	// worker starts; draining and terminating must not wait for it).
	Cluster     bootstrap.Cluster
	ClusterFrom func(ctx context.Context) (bootstrap.Cluster, error)
	// Classes are the resolved EC2NodeClasses a claim's nodeClassRef names.
	Classes NodeClassSource
	// InstanceTypeLabels gives an instance type's well-known labels (architecture, GPUs),
	// against which an AMI's requirements are matched.
	InstanceTypeLabels func(instanceType string) map[string]string
	// Metrics records each call's duration and errors; nil records nothing.
	Metrics *Metrics
	// Offered, when set, says whether a zone offers an instance type: no override names one
	// that does not, which EC2 would refuse. Nil offers every type everywhere.
	Offered func(instanceType, zone string) bool
	// Price, when set, says what an instance of the type costs per hour in the zone at the
	// capacity type, by the market's figures now; ok is false when it has none. Nil prices
	// no instance.
	Price func(instanceType, zone, capacityType string) (price float64, ok bool)
	// OnCapacityError, when set, hears of every launch an offering's capacity error stopped:
	// the zones' offerings may have changed. It must not block.
	OnCapacityError func()

	terminatePoll time.Duration // replaces firstTerminatePoll in tests

	templatesMu sync.Mutex
	templates   map[string]templateSeen // by launch template name
}

// DescribeInstance reads the instance's type, zone, capacity type and state.
func (e *EC2) DescribeInstance(ctx context.Context, instanceID string) (_ Instance, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodGet, time.Now(), &err)
	out, err := e.API.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		if isInstanceNotFound(err) {
			return Instance{}, temporal.NewNonRetryableApplicationError("describe "+instanceID+": not found", ErrTypeInstanceNotFound, err)
		}
		return Instance{}, classifyAPIError("describe "+instanceID, err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if aws.ToString(i.InstanceId) != instanceID {
				continue
			}
			inst := Instance{ID: instanceID, Type: string(i.InstanceType), CapacityType: v1.CapacityTypeOnDemand}
			if i.InstanceLifecycle == ec2types.InstanceLifecycleTypeSpot {
				inst.CapacityType = v1.CapacityTypeSpot
			}
			if i.Placement != nil {
				inst.Zone = aws.ToString(i.Placement.AvailabilityZone)
			}
			if i.State != nil {
				inst.State = string(i.State.Name)
			}
			inst.ImageID = aws.ToString(i.ImageId)
			return inst, nil
		}
	}
	return Instance{}, temporal.NewNonRetryableApplicationError("describe "+instanceID+": not found", ErrTypeInstanceNotFound, nil)
}

// classifyAPIError wraps an EC2 API error: capacity codes become non-retryable
// InsufficientCapacity, everything else stays retryable (bounded by the retry policy).
func classifyAPIError(what string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		switch {
		case isCapacityError(code):
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", what, err), ErrTypeInsufficientCapacity, err)
		case isThrottleError(code):
			return temporal.NewApplicationErrorWithCause(fmt.Sprintf("%s: throttled: %v", what, err), "Throttled", err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isInstanceNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidInstanceID.NotFound"
}

func capacityTypeOf(in *ec2.CreateFleetInput) string {
	if in.TargetCapacitySpecification.DefaultTargetCapacityType == ec2types.DefaultTargetCapacityTypeSpot {
		return v1.CapacityTypeSpot
	}
	return v1.CapacityTypeOnDemand
}

func capacityTypeOfLifecycle(l ec2types.InstanceLifecycle) string {
	if l == ec2types.InstanceLifecycleSpot {
		return v1.CapacityTypeSpot
	}
	return v1.CapacityTypeOnDemand
}
