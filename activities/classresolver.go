package activities

import (
	"context"
	"errors"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
)

// ClassResolver resolves everything an EC2NodeClass selects: its subnets and security groups
// (EC2), its AMIs (SSM and EC2) and its instance profile (IAM).
type ClassResolver struct {
	Network
	Images
	Profiles InstanceProfiles
}

// InstanceProfile makes the class's instance profile exist and returns its name.
func (r ClassResolver) InstanceProfile(ctx context.Context, class *awsv1.EC2NodeClass) (string, error) {
	return r.Profiles.Ensure(ctx, class)
}

// ErrInvalidClass is a class that asks for what cannot be: an alias Nodewright does not
// resolve, a profile without a role. Someone must change the class; looking again will not help.
var ErrInvalidClass = errors.New("the EC2NodeClass must change")
