package ec2sim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

func TestCreateLaunchTemplateRefusesWhatEC2Refuses(t *testing.T) {
	tests := []struct {
		name        string
		in          *ec2.CreateLaunchTemplateInput
		wantCode    string
		wantMessage string
	}{
		{name: "an empty name is missing", in: template(""), wantCode: ec2sim.CodeMissingParameter},
		{name: "a name of two characters", in: template("ab"), wantCode: ec2sim.CodeInvalidLaunchTemplateNameMalformed},
		{name: "a name of 129 characters", in: template(strings.Repeat("a", 129)), wantCode: ec2sim.CodeInvalidLaunchTemplateNameMalformed},
		{name: "a name with a space", in: template("my template"), wantCode: ec2sim.CodeInvalidLaunchTemplateNameMalformed},
		{name: "a name with a colon", in: template("nodewright:default"), wantCode: ec2sim.CodeInvalidLaunchTemplateNameMalformed},
		{name: "a name already in use", in: template("taken"), wantCode: ec2sim.CodeInvalidLaunchTemplateNameAlreadyExists,
			wantMessage: "Launch template name already in use."},
		{name: "user data that is not base64", in: template("bad-user-data", withRawUserData("#!/bin/bash not base64")),
			wantCode: ec2sim.CodeInvalidUserDataMalformed},
		{name: "user data over 16 KiB once decoded", in: template("big-user-data", withUserData(strings.Repeat("x", 16385))),
			wantCode: ec2sim.CodeInvalidParameterValue, wantMessage: "User data is limited to 16384 bytes"},
		{name: "an unknown security group", in: template("bad-group", withGroups("sg-0c0ffee0d15c0ffee", "sg-0123456789abcdef0")),
			wantCode: ec2sim.CodeInvalidGroupNotFound, wantMessage: "sg-0123456789abcdef0"},
		{name: "an unknown security group on an interface", in: template("bad-interface-group", withInterfaceGroups("sg-0123456789abcdef0")),
			wantCode: ec2sim.CodeInvalidGroupNotFound},
		{name: "a hop limit of 0", in: template("no-hops", withMetadata("required", 0)), wantCode: ec2sim.CodeInvalidParameterValue},
		{name: "a hop limit of 65", in: template("many-hops", withMetadata("required", 65)), wantCode: ec2sim.CodeInvalidParameterValue},
		{name: "http tokens neither required nor optional", in: template("bad-tokens", withMetadata("sometimes", 1)),
			wantCode: ec2sim.CodeInvalidParameterValue, wantMessage: "HttpTokens"},
		{name: "a tag spec for instances at the top level", in: template("tags-elsewhere", func(in *ec2.CreateLaunchTemplateInput) {
			in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: ec2Tags(map[string]string{"a": "b"})}}
		}), wantCode: ec2sim.CodeInvalidParameterValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(t, newSim(t), 1)
			createTemplate(t, client, template("taken"))
			_, err := client.CreateLaunchTemplate(context.Background(), tt.in)
			if code := errorCode(t, err); code != tt.wantCode {
				t.Errorf("error code %s, want %s (%v)", code, tt.wantCode, err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMessage) {
				t.Errorf("error %q does not say %q", err, tt.wantMessage)
			}
			out, err := client.DescribeLaunchTemplates(context.Background(), &ec2.DescribeLaunchTemplatesInput{})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(out.LaunchTemplates); n != 1 {
				t.Errorf("%d templates after a refusal, want only the one made before", n)
			}
		})
	}
}

func TestCreateLaunchTemplateAcceptsWhatNodewrightSends(t *testing.T) {
	client := newClient(t, newSim(t), 1)
	in := template("nodewright/0123456789abcdef0123", withUserData(strings.Repeat("x", 16384)), withProfile("KarpenterNodeInstanceProfile-lab"),
		withMetadata("required", 1), withInterfaceGroups("sg-0c0ffee0d15c0ffee"), withInstanceTags(map[string]string{"team": "nodes"}),
		func(in *ec2.CreateLaunchTemplateInput) {
			in.LaunchTemplateData.Monitoring = &types.LaunchTemplatesMonitoringRequest{Enabled: aws.Bool(false)}
			in.LaunchTemplateData.BlockDeviceMappings = []types.LaunchTemplateBlockDeviceMappingRequest{{
				DeviceName: aws.String("/dev/xvda"),
				Ebs: &types.LaunchTemplateEbsBlockDeviceRequest{VolumeSize: aws.Int32(20), VolumeType: types.VolumeTypeGp3, Encrypted: aws.Bool(true),
					DeleteOnTermination: aws.Bool(true), Iops: aws.Int32(3000), Throughput: aws.Int32(125)},
			}}
			in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeLaunchTemplate, Tags: ec2Tags(map[string]string{"eks:eks-cluster-name": "lab"})}}
		})
	createTemplate(t, client, in)
}

func TestCreateLaunchTemplateClientTokenIsIdempotent(t *testing.T) {
	client := newClient(t, newSim(t), 1)
	withToken := func(token string) templateOption {
		return func(in *ec2.CreateLaunchTemplateInput) { in.ClientToken = aws.String(token) }
	}
	first := createTemplate(t, client, template("once", withToken("make-once")))
	if again := createTemplate(t, client, template("once", withToken("make-once"))); again != first {
		t.Errorf("a repeated token made %s after %s, want the same template", again, first)
	}
	_, err := client.CreateLaunchTemplate(context.Background(), template("once", withToken("make-once"), withImage("ami-0a1b2c3d4e5f60002")))
	if code := errorCode(t, err); code != ec2sim.CodeIdempotentParameterMismatch {
		t.Errorf("a reused token with other parameters gave %s, want %s", code, ec2sim.CodeIdempotentParameterMismatch)
	}
	_, err = client.CreateLaunchTemplate(context.Background(), template("once"))
	if code := errorCode(t, err); code != ec2sim.CodeInvalidLaunchTemplateNameAlreadyExists {
		t.Errorf("the name without the token gave %s, want %s", code, ec2sim.CodeInvalidLaunchTemplateNameAlreadyExists)
	}
}
