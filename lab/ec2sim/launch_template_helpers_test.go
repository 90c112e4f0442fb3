package ec2sim_test

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

// defaultTemplate is the launch template fleet() names; launchClient creates it.
const defaultTemplate = "nodewright-default"

// Images of ec2sim.DefaultImages, by architecture.
const (
	amdImage = "ami-0a1b2c3d4e5f60001"
	armImage = "ami-0a1b2c3d4e5f60002"
)

// launchClient is the real client aimed at sim with the template fleet() names already made,
// for tests about launches rather than templates.
func launchClient(t *testing.T, sim *ec2sim.Sim) *ec2.Client {
	t.Helper()
	client := newClient(t, sim, 1)
	createTemplate(t, client, template(defaultTemplate))
	return client
}

type templateOption func(*ec2.CreateLaunchTemplateInput)

// template is a CreateLaunchTemplate request for the AL2023 x86_64 image and nothing else.
func template(name string, opts ...templateOption) *ec2.CreateLaunchTemplateInput {
	in := &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(amdImage)},
	}
	for _, opt := range opts {
		opt(in)
	}
	return in
}

func withImage(id string) templateOption {
	return func(in *ec2.CreateLaunchTemplateInput) { in.LaunchTemplateData.ImageId = aws.String(id) }
}

// withUserData encodes script as base64, as the SDK's callers must.
func withUserData(script string) templateOption {
	return withRawUserData(base64.StdEncoding.EncodeToString([]byte(script)))
}

func withRawUserData(encoded string) templateOption {
	return func(in *ec2.CreateLaunchTemplateInput) { in.LaunchTemplateData.UserData = aws.String(encoded) }
}

func withGroups(ids ...string) templateOption {
	return func(in *ec2.CreateLaunchTemplateInput) { in.LaunchTemplateData.SecurityGroupIds = ids }
}

// withInterfaceGroups puts the groups on the primary network interface instead, as a template
// asking for a public address must.
func withInterfaceGroups(ids ...string) templateOption {
	return func(in *ec2.CreateLaunchTemplateInput) {
		in.LaunchTemplateData.NetworkInterfaces = []types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
			DeviceIndex: aws.Int32(0), AssociatePublicIpAddress: aws.Bool(true), Groups: ids,
		}}
	}
}

func withProfile(name string) templateOption {
	return func(in *ec2.CreateLaunchTemplateInput) {
		in.LaunchTemplateData.IamInstanceProfile = &types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String(name)}
	}
}

func withMetadata(tokens string, hops int32) templateOption {
	return func(in *ec2.CreateLaunchTemplateInput) {
		in.LaunchTemplateData.MetadataOptions = &types.LaunchTemplateInstanceMetadataOptionsRequest{
			HttpTokens: types.LaunchTemplateHttpTokensState(tokens), HttpPutResponseHopLimit: aws.Int32(hops),
		}
	}
}

// withTemplateTags tags the template itself.
func withTemplateTags(tags map[string]string) templateOption {
	return func(in *ec2.CreateLaunchTemplateInput) {
		in.TagSpecifications = append(in.TagSpecifications, types.TagSpecification{ResourceType: types.ResourceTypeLaunchTemplate, Tags: ec2Tags(tags)})
	}
}

// withInstanceTags tags what the template launches.
func withInstanceTags(tags map[string]string) templateOption {
	return func(in *ec2.CreateLaunchTemplateInput) {
		in.LaunchTemplateData.TagSpecifications = append(in.LaunchTemplateData.TagSpecifications,
			types.LaunchTemplateTagSpecificationRequest{ResourceType: types.ResourceTypeInstance, Tags: ec2Tags(tags)})
	}
}

func ec2Tags(tags map[string]string) []types.Tag {
	var out []types.Tag
	for k, v := range tags {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// createTemplate makes the template through the API and returns its id.
func createTemplate(t *testing.T, client *ec2.Client, in *ec2.CreateLaunchTemplateInput) string {
	t.Helper()
	out, err := client.CreateLaunchTemplate(context.Background(), in)
	if err != nil {
		t.Fatalf("create launch template %s: %v", aws.ToString(in.LaunchTemplateName), err)
	}
	return aws.ToString(out.LaunchTemplate.LaunchTemplateId)
}

// fromTemplate makes every config of the fleet name the template by name, at version.
func fromTemplate(name, version string) fleetOption {
	return func(in *ec2.CreateFleetInput) {
		for i := range in.LaunchTemplateConfigs {
			in.LaunchTemplateConfigs[i].LaunchTemplateSpecification = &types.FleetLaunchTemplateSpecificationRequest{
				LaunchTemplateName: aws.String(name), Version: aws.String(version),
			}
		}
	}
}

// fromTemplateID names the template by id instead.
func fromTemplateID(id, version string) fleetOption {
	return func(in *ec2.CreateFleetInput) {
		for i := range in.LaunchTemplateConfigs {
			in.LaunchTemplateConfigs[i].LaunchTemplateSpecification = &types.FleetLaunchTemplateSpecificationRequest{
				LaunchTemplateId: aws.String(id), Version: aws.String(version),
			}
		}
	}
}

func withOverrideImage(id string) overrideOption {
	return func(o *types.FleetLaunchTemplateOverridesRequest) { o.ImageId = aws.String(id) }
}
