package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
)

// IAMAPI is the part of *iam.Client that manages the nodes' instance profiles.
type IAMAPI interface {
	GetInstanceProfile(ctx context.Context, in *iam.GetInstanceProfileInput, opts ...func(*iam.Options)) (*iam.GetInstanceProfileOutput, error)
	CreateInstanceProfile(ctx context.Context, in *iam.CreateInstanceProfileInput, opts ...func(*iam.Options)) (*iam.CreateInstanceProfileOutput, error)
	AddRoleToInstanceProfile(ctx context.Context, in *iam.AddRoleToInstanceProfileInput, opts ...func(*iam.Options)) (*iam.AddRoleToInstanceProfileOutput, error)
	RemoveRoleFromInstanceProfile(ctx context.Context, in *iam.RemoveRoleFromInstanceProfileInput, opts ...func(*iam.Options)) (*iam.RemoveRoleFromInstanceProfileOutput, error)
	DeleteInstanceProfile(ctx context.Context, in *iam.DeleteInstanceProfileInput, opts ...func(*iam.Options)) (*iam.DeleteInstanceProfileOutput, error)
	GetRole(ctx context.Context, in *iam.GetRoleInput, opts ...func(*iam.Options)) (*iam.GetRoleOutput, error)
}

// InstanceProfiles manages the instance profile of each EC2NodeClass that names a role, as
// Karpenter does: one profile per class, named from the cluster, region and class, tagged
// with them, holding the class's role.
type InstanceProfiles struct {
	API         IAMAPI
	ClusterName string
	Region      string
}

// instanceProfilePath keeps Nodewright's profiles apart from everyone else's.
const instanceProfilePath = "/nodewright/"

// Name is the instance profile Nodewright manages for the class.
func (p InstanceProfiles) Name(class string) string {
	sum := sha256.Sum256([]byte(p.Region + "/" + class))
	name := p.ClusterName + "_" + hex.EncodeToString(sum[:])[:16]
	return name[max(0, len(name)-128):]
}

// Ensure makes the class's instance profile exist and hold the class's role, and returns
// its name. A class that names an instanceProfile gets it as it is, unchecked beyond
// existence.
func (p InstanceProfiles) Ensure(ctx context.Context, class *awsv1.EC2NodeClass) (string, error) {
	if class.Spec.InstanceProfile != nil {
		name := *class.Spec.InstanceProfile
		out, err := p.API.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
		if err != nil {
			return "", fmt.Errorf("spec.instanceProfile %s: %w", name, err)
		}
		if out.InstanceProfile == nil || len(out.InstanceProfile.Roles) == 0 {
			return "", fmt.Errorf("spec.instanceProfile %s holds no role, so nodes could not join: %w", name, ErrInvalidClass)
		}
		return name, nil
	}
	if class.Spec.Role == "" {
		return "", fmt.Errorf("the class names neither spec.role nor spec.instanceProfile; name the nodes' IAM role in spec.role: %w", ErrInvalidClass)
	}
	role := class.Spec.Role[strings.LastIndex(class.Spec.Role, "/")+1:] // a role ARN or a name
	name := p.Name(class.Name)
	profile, err := p.get(ctx, name)
	if err != nil {
		return "", err
	}
	if profile == nil {
		out, err := p.API.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
			InstanceProfileName: aws.String(name), Path: aws.String(instanceProfilePath),
			Tags: []iamtypes.Tag{
				{Key: aws.String(ClusterTagKey(p.ClusterName)), Value: aws.String("owned")},
				{Key: aws.String(TagEKSClusterName), Value: aws.String(p.ClusterName)},
				{Key: aws.String(TagNodeClass), Value: aws.String(class.Name)},
				{Key: aws.String("topology.kubernetes.io/region"), Value: aws.String(p.Region)},
			},
		})
		switch {
		case iamCode(err) == "EntityAlreadyExists": // another worker made it a moment ago
			if profile, err = p.get(ctx, name); err != nil || profile == nil {
				return "", fmt.Errorf("instance profile %s: created elsewhere but not readable: %w", name, err)
			}
		case err != nil:
			return "", fmt.Errorf("create instance profile %s: %w", name, err)
		default:
			profile = out.InstanceProfile
		}
	}
	for _, r := range profile.Roles {
		if aws.ToString(r.RoleName) == role {
			return name, nil
		}
	}
	// Running nodes hold the profile: its role is swapped only for one that exists, so that a
	// mistyped spec.role leaves them their credentials.
	if _, err := p.API.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)}); err != nil {
		return "", fmt.Errorf("spec.role %s: %w", role, err)
	}
	for _, r := range profile.Roles {
		// A profile holds one role: the class's role was changed.
		if _, err := p.API.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
			InstanceProfileName: aws.String(name), RoleName: r.RoleName,
		}); err != nil && iamCode(err) != "NoSuchEntity" {
			return "", fmt.Errorf("instance profile %s: remove old role %s: %w", name, aws.ToString(r.RoleName), err)
		}
	}
	if _, err := p.API.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{
		InstanceProfileName: aws.String(name), RoleName: aws.String(role),
	}); err != nil {
		return "", fmt.Errorf("instance profile %s: add role %s (spec.role): %w", name, role, err)
	}
	return name, nil
}

// Delete removes the class's instance profile, if Nodewright made one.
func (p InstanceProfiles) Delete(ctx context.Context, class *awsv1.EC2NodeClass) error {
	if class.Spec.InstanceProfile != nil {
		return nil // the user's, not ours
	}
	name := p.Name(class.Name)
	profile, err := p.get(ctx, name)
	if err != nil || profile == nil {
		return err
	}
	for _, r := range profile.Roles {
		if _, err := p.API.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
			InstanceProfileName: aws.String(name), RoleName: r.RoleName,
		}); err != nil && iamCode(err) != "NoSuchEntity" {
			return fmt.Errorf("instance profile %s: remove role %s: %w", name, aws.ToString(r.RoleName), err)
		}
	}
	if _, err := p.API.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(name)}); err != nil && iamCode(err) != "NoSuchEntity" {
		return fmt.Errorf("delete instance profile %s: %w", name, err)
	}
	return nil
}

// get reads the profile; nil when IAM does not know it.
func (p InstanceProfiles) get(ctx context.Context, name string) (*iamtypes.InstanceProfile, error) {
	out, err := p.API.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if iamCode(err) == "NoSuchEntity" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get instance profile %s: %w", name, err)
	}
	return out.InstanceProfile, nil
}

func iamCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
