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

const (
	labGroup   = "sg-0c0ffee0d15c0ffee" // the default VPC's security group
	labProfile = "KarpenterNodeInstanceProfile-lab"
)

func TestCreateFleetLaunchesWhatTheTemplateSays(t *testing.T) {
	script := "#!/bin/bash\n/etc/eks/bootstrap.sh lab\n"
	profileARN := "arn:aws:iam::111122223333:instance-profile/" + labProfile
	tests := []struct {
		name        string
		template    []templateOption
		wantProfile string // on the Instance, as given
		wantARN     string // in DescribeInstances
	}{
		{name: "groups on the instance, profile by name",
			template:    []templateOption{withGroups(labGroup), withProfile(labProfile)},
			wantProfile: labProfile, wantARN: profileARN},
		{name: "groups on the primary interface, profile by ARN",
			template: []templateOption{withInterfaceGroups(labGroup), func(in *ec2.CreateLaunchTemplateInput) {
				in.LaunchTemplateData.IamInstanceProfile = &types.LaunchTemplateIamInstanceProfileSpecificationRequest{Arn: aws.String(profileARN)}
			}},
			wantProfile: profileARN, wantARN: profileARN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t)
			client := newClient(t, sim, 1)
			opts := append([]templateOption{withUserData(script), withMetadata("required", 2),
				withInstanceTags(map[string]string{"team": "nodes", "pool": "from-template"})}, tt.template...)
			templateID := createTemplate(t, client, template("nodewright/general", opts...))
			id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand,
				[]types.FleetLaunchTemplateOverridesRequest{override("c5.large")}, fromTemplate("nodewright/general", "$Latest")))

			got, _ := sim.Instance(id)
			if got.ImageID != amdImage || got.UserData != script || got.InstanceProfile != tt.wantProfile ||
				len(got.SecurityGroupIDs) != 1 || got.SecurityGroupIDs[0] != labGroup ||
				got.LaunchTemplateID != templateID || got.LaunchTemplateName != "nodewright/general" {
				t.Errorf("sim records image %s, user data %q, profile %q, groups %v, template %s/%s; want %s, the script, %s, [%s], %s/nodewright/general",
					got.ImageID, got.UserData, got.InstanceProfile, got.SecurityGroupIDs, got.LaunchTemplateID, got.LaunchTemplateName,
					amdImage, tt.wantProfile, labGroup, templateID)
			}
			if got.Tags["team"] != "nodes" || got.Tags["pool"] != "default" {
				t.Errorf("instance tags %v, want the template's team=nodes under the fleet's pool=default", got.Tags)
			}
			got.SecurityGroupIDs[0] = "sg-changed"
			if again, _ := sim.Instance(id); again.SecurityGroupIDs[0] != labGroup {
				t.Errorf("changing a snapshot's groups reached the sim: %v", again.SecurityGroupIDs)
			}

			inst := describeOne(t, client, id)
			if aws.ToString(inst.ImageId) != amdImage {
				t.Errorf("DescribeInstances shows image %s, want %s", aws.ToString(inst.ImageId), amdImage)
			}
			if len(inst.SecurityGroups) != 1 || aws.ToString(inst.SecurityGroups[0].GroupId) != labGroup || aws.ToString(inst.SecurityGroups[0].GroupName) != "lab-nodes" {
				t.Errorf("DescribeInstances shows groups %+v, want %s named lab-nodes", inst.SecurityGroups, labGroup)
			}
			if inst.IamInstanceProfile == nil || aws.ToString(inst.IamInstanceProfile.Arn) != tt.wantARN {
				t.Errorf("DescribeInstances shows profile %+v, want ARN %s", inst.IamInstanceProfile, tt.wantARN)
			}
			found, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{
				Filters: []types.Filter{filter("image-id", amdImage), filter("instance.group-id", labGroup)}})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(instancesOf(found)); n != 1 {
				t.Errorf("filtering by image and group found %d instances, want 1", n)
			}
			if m := inst.MetadataOptions; m == nil || m.HttpTokens != types.HttpTokensStateRequired || aws.ToInt32(m.HttpPutResponseHopLimit) != 2 {
				t.Errorf("DescribeInstances shows metadata options %+v, want tokens required and a hop limit of 2", m)
			}
		})
	}
}

func TestCreateFleetWithoutAProfileLaunchesAndRecordsNone(t *testing.T) {
	sim := newSim(t)
	client := launchClient(t, sim)
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}))
	if got, _ := sim.Instance(id); got.InstanceProfile != "" || got.UserData != "" || len(got.SecurityGroupIDs) != 0 {
		t.Errorf("instance from a bare template records profile %q, user data %q, groups %v; want none", got.InstanceProfile, got.UserData, got.SecurityGroupIDs)
	}
	if inst := describeOne(t, client, id); inst.IamInstanceProfile != nil || inst.MetadataOptions != nil {
		t.Errorf("DescribeInstances shows profile %+v and metadata %+v for a template without them", inst.IamInstanceProfile, inst.MetadataOptions)
	}
}

func TestCreateFleetResolvesTheTemplate(t *testing.T) {
	const otherImage = "ami-0123456789abcdef0"
	onDemand := types.DefaultTargetCapacityTypeOnDemand
	plain := []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}
	tests := []struct {
		name      string
		templates []*ec2.CreateLaunchTemplateInput
		deleted   string // a template deleted before the launch
		fleet     func(id string) *ec2.CreateFleetInput
		wantCode  string
		wantImage string
	}{
		{name: "by name at $Latest", fleet: func(string) *ec2.CreateFleetInput { return fleet(onDemand, plain, fromTemplate("lt-a", "$Latest")) }, wantImage: amdImage},
		{name: "by name at $Default", fleet: func(string) *ec2.CreateFleetInput { return fleet(onDemand, plain, fromTemplate("lt-a", "$Default")) }, wantImage: amdImage},
		{name: "by id at version 1", fleet: func(id string) *ec2.CreateFleetInput { return fleet(onDemand, plain, fromTemplateID(id, "1")) }, wantImage: amdImage},
		{name: "an override's image wins over the template's",
			fleet: func(string) *ec2.CreateFleetInput {
				return fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large", withOverrideImage(otherImage))}, fromTemplate("lt-a", "$Latest"))
			}, wantImage: otherImage},
		{name: "a template without an image takes the override's",
			templates: []*ec2.CreateLaunchTemplateInput{template("no-image", withImage(""))},
			fleet: func(string) *ec2.CreateFleetInput {
				return fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large", withOverrideImage(otherImage))}, fromTemplate("no-image", "$Latest"))
			}, wantImage: otherImage},
		{name: "the template's instance type serves an override without one",
			templates: []*ec2.CreateLaunchTemplateInput{template("typed", func(in *ec2.CreateLaunchTemplateInput) { in.LaunchTemplateData.InstanceType = "m5.large" })},
			fleet: func(string) *ec2.CreateFleetInput {
				return fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{{AvailabilityZone: aws.String("us-east-1a")}}, fromTemplate("typed", "$Latest"))
			}, wantImage: amdImage},
		{name: "an unknown name is not found", fleet: func(string) *ec2.CreateFleetInput { return fleet(onDemand, plain, fromTemplate("nope", "$Latest")) },
			wantCode: ec2sim.CodeInvalidLaunchTemplateNameNotFound},
		{name: "an unknown id is not found", fleet: func(string) *ec2.CreateFleetInput {
			return fleet(onDemand, plain, fromTemplateID("lt-0123456789abcdef0", "$Latest"))
		}, wantCode: ec2sim.CodeInvalidLaunchTemplateIDNotFound},
		{name: "a deleted template is not found", deleted: "lt-a",
			fleet: func(string) *ec2.CreateFleetInput { return fleet(onDemand, plain, fromTemplate("lt-a", "$Latest")) }, wantCode: ec2sim.CodeInvalidLaunchTemplateNameNotFound},
		{name: "a version the template does not have", fleet: func(string) *ec2.CreateFleetInput { return fleet(onDemand, plain, fromTemplate("lt-a", "2")) },
			wantCode: ec2sim.CodeInvalidLaunchTemplateIDVersionNotFound},
		{name: "no image anywhere is a missing ImageId",
			templates: []*ec2.CreateLaunchTemplateInput{template("no-image", withImage(""))},
			fleet:     func(string) *ec2.CreateFleetInput { return fleet(onDemand, plain, fromTemplate("no-image", "$Latest")) }, wantCode: ec2sim.CodeMissingParameter},
		{name: "no instance type anywhere is a missing InstanceType",
			fleet: func(string) *ec2.CreateFleetInput {
				return fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{{AvailabilityZone: aws.String("us-east-1a")}}, fromTemplate("lt-a", "$Latest"))
			}, wantCode: ec2sim.CodeMissingParameter},
		{name: "naming the template by id and name at once", fleet: func(id string) *ec2.CreateFleetInput {
			return fleet(onDemand, plain, func(in *ec2.CreateFleetInput) {
				in.LaunchTemplateConfigs[0].LaunchTemplateSpecification.LaunchTemplateId = aws.String(id)
			})
		}, wantCode: ec2sim.CodeInvalidParameterCombination},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t)
			client := launchClient(t, sim)
			id := createTemplate(t, client, template("lt-a"))
			for _, in := range tt.templates {
				createTemplate(t, client, in)
			}
			if tt.deleted != "" {
				if _, err := client.DeleteLaunchTemplate(context.Background(), &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String(tt.deleted)}); err != nil {
					t.Fatal(err)
				}
			}
			out, err := client.CreateFleet(context.Background(), tt.fleet(id))
			if tt.wantCode != "" {
				if code := errorCode(t, err); code != tt.wantCode {
					t.Errorf("error code %s, want %s (%v)", code, tt.wantCode, err)
				}
				if n := len(sim.Instances()); n != 0 {
					t.Errorf("a refused fleet left %d instances", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ids := fleetInstanceIDs(out)
			if len(ids) != 1 {
				t.Fatalf("fleet launched %v (errors %+v), want one instance", ids, out.Errors)
			}
			if got, _ := sim.Instance(ids[0]); got.ImageID != tt.wantImage {
				t.Errorf("instance runs %s, want %s", got.ImageID, tt.wantImage)
			}
		})
	}
}

func TestCreateFleetReplaysATokenAfterItsTemplateIsDeleted(t *testing.T) {
	client := launchClient(t, newSim(t))
	in := fleet(types.DefaultTargetCapacityTypeOnDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}, withToken("node-a"))
	first := launchOne(t, client, in)
	if _, err := client.DeleteLaunchTemplate(context.Background(), &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String(defaultTemplate)}); err != nil {
		t.Fatal(err)
	}
	if again := launchOne(t, client, in); again != first {
		t.Errorf("the retried launch answered %s, want the first answer %s", again, first)
	}
}

func TestCreateFleetChecksImagesAgainstTheRegistry(t *testing.T) {
	withRegistry := func(o *ec2sim.Options) { o.Images = ec2sim.DefaultImages("1.33") }
	onDemand := types.DefaultTargetCapacityTypeOnDemand
	t.Run("an image for the wrong architecture fails only its override", func(t *testing.T) {
		sim := newSim(t, withRegistry)
		client := launchClient(t, sim) // the template runs the x86_64 image
		// m7g.large (arm64) is cheaper than c5.large, so only the refusal keeps the fleet off it.
		out, err := client.CreateFleet(context.Background(), fleet(onDemand,
			[]types.FleetLaunchTemplateOverridesRequest{override("m7g.large"), override("c5.large")}))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Instances) != 1 || out.Instances[0].InstanceType != "c5.large" {
			t.Errorf("fleet launched %+v, want one c5.large", out.Instances)
		}
		if len(out.Errors) != 1 {
			t.Fatalf("fleet errors %+v, want one for m7g.large", out.Errors)
		}
		e := out.Errors[0]
		if aws.ToString(e.ErrorCode) != ec2sim.CodeInvalidParameterValue || e.LaunchTemplateAndOverrides.Overrides.InstanceType != "m7g.large" ||
			!strings.Contains(aws.ToString(e.ErrorMessage), "The architecture 'arm64' of the specified instance type does not match the architecture 'x86_64' of the specified AMI") {
			t.Errorf("fleet error %s for %s: %s; want %s naming both architectures for m7g.large",
				aws.ToString(e.ErrorCode), e.LaunchTemplateAndOverrides.Overrides.InstanceType, aws.ToString(e.ErrorMessage), ec2sim.CodeInvalidParameterValue)
		}
	})
	t.Run("an override's arm64 image suits an arm64 type", func(t *testing.T) {
		sim := newSim(t, withRegistry)
		id := launchOne(t, launchClient(t, sim), fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{override("m7g.large", withOverrideImage(armImage))}))
		if got, _ := sim.Instance(id); got.ImageID != armImage || got.Type != "m7g.large" {
			t.Errorf("launched %s on %s, want m7g.large on %s", got.Type, got.ImageID, armImage)
		}
	})
	t.Run("an image the registry lacks fails the call", func(t *testing.T) {
		sim := newSim(t, withRegistry)
		_, err := launchClient(t, sim).CreateFleet(context.Background(), fleet(onDemand,
			[]types.FleetLaunchTemplateOverridesRequest{override("c5.large", withOverrideImage("ami-0123456789abcdef0"))}))
		if code := errorCode(t, err); code != ec2sim.CodeInvalidAMIIDNotFound || !strings.Contains(err.Error(), "ami-0123456789abcdef0") {
			t.Errorf("got %v, want %s naming the image", err, ec2sim.CodeInvalidAMIIDNotFound)
		}
	})
	t.Run("without a registry any image launches", func(t *testing.T) {
		sim := newSim(t)
		launchOne(t, launchClient(t, sim), fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{override("m7g.large", withOverrideImage("ami-0123456789abcdef0"))}))
	})
}

// With IAM at hand, a template naming an instance profile IAM does not have is refused at
// launch, as EC2 refuses it; one IAM has launches.
func TestCreateFleetRefusesAnInstanceProfileIAMDoesNotHave(t *testing.T) {
	sim := newSim(t, func(o *ec2sim.Options) {
		o.InstanceProfileExists = func(p string) bool { return p == labProfile }
	})
	client := newClient(t, sim, 1)
	createTemplate(t, client, template("nodewright/known", withGroups(labGroup), withProfile(labProfile)))
	createTemplate(t, client, template("nodewright/unknown", withGroups(labGroup), withProfile("typo-profile")))
	onDemand := types.DefaultTargetCapacityTypeOnDemand
	launchOne(t, client, fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large")}, fromTemplate("nodewright/known", "$Latest")))
	_, err := client.CreateFleet(context.Background(), fleet(onDemand,
		[]types.FleetLaunchTemplateOverridesRequest{override("c5.large")}, fromTemplate("nodewright/unknown", "$Latest")))
	if code := errorCode(t, err); code != ec2sim.CodeInvalidParameterValue || !strings.Contains(err.Error(), "Invalid IAM Instance Profile name") {
		t.Errorf("got %v, want %s naming the profile", err, ec2sim.CodeInvalidParameterValue)
	}
}
