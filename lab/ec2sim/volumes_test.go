package ec2sim_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

// bottlerocketImage is DefaultImages' Bottlerocket x86_64 image.
const bottlerocketImage = "ami-0a1b2c3d4e5f60004"

// An instance keeps the volumes it was launched with: the image's block device mappings, each
// device the launch template or fleet override maps taking its size from them, as in EC2.
func TestInstancesKeepTheVolumesTheyWereLaunchedWith(t *testing.T) {
	onDemand := types.DefaultTargetCapacityTypeOnDemand
	tests := []struct {
		name        string
		template    []templateOption
		override    []overrideOption
		wantVolumes []ec2sim.Volume
		wantRootGiB int
	}{
		{name: "a template without mappings gets the AL2023 image's 20 GiB root volume",
			wantVolumes: []ec2sim.Volume{{DeviceName: "/dev/xvda", SizeGiB: 20}}, wantRootGiB: 20},
		{name: "a template mapping the root device to 100 GiB gets a 100 GiB root volume",
			template:    []templateOption{withVolume("/dev/xvda", 100)},
			wantVolumes: []ec2sim.Volume{{DeviceName: "/dev/xvda", SizeGiB: 100}}, wantRootGiB: 100},
		{name: "a mapping without a size keeps the image's",
			template:    []templateOption{withVolume("/dev/xvda", 0)},
			wantVolumes: []ec2sim.Volume{{DeviceName: "/dev/xvda", SizeGiB: 20}}, wantRootGiB: 20},
		{name: "a device the image lacks is added",
			template:    []templateOption{withVolume("/dev/xvdc", 50)},
			wantVolumes: []ec2sim.Volume{{DeviceName: "/dev/xvda", SizeGiB: 20}, {DeviceName: "/dev/xvdc", SizeGiB: 50}}, wantRootGiB: 20},
		{name: "the fleet override's mapping wins over the template's",
			template:    []templateOption{withVolume("/dev/xvda", 100)},
			override:    []overrideOption{withOverrideVolume("/dev/xvda", 200)},
			wantVolumes: []ec2sim.Volume{{DeviceName: "/dev/xvda", SizeGiB: 200}}, wantRootGiB: 200},
		{name: "Bottlerocket's image gives a 4 GiB OS volume and a 20 GiB data volume",
			template:    []templateOption{withImage(bottlerocketImage)},
			wantVolumes: []ec2sim.Volume{{DeviceName: "/dev/xvda", SizeGiB: 4}, {DeviceName: "/dev/xvdb", SizeGiB: 20}}, wantRootGiB: 4},
		{name: "a Bottlerocket template mapping the data volume to 100 GiB",
			template:    []templateOption{withImage(bottlerocketImage), withVolume("/dev/xvda", 4), withVolume("/dev/xvdb", 100)},
			wantVolumes: []ec2sim.Volume{{DeviceName: "/dev/xvda", SizeGiB: 4}, {DeviceName: "/dev/xvdb", SizeGiB: 100}}, wantRootGiB: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, func(o *ec2sim.Options) { o.Images = ec2sim.DefaultImages("1.33") })
			client := newClient(t, sim, 1)
			createTemplate(t, client, template("nodewright/volumes", tt.template...))
			id := launchOne(t, client, fleet(onDemand, []types.FleetLaunchTemplateOverridesRequest{override("c5.large", tt.override...)},
				fromTemplate("nodewright/volumes", "$Latest")))

			got, _ := sim.Instance(id)
			if !slices.Equal(got.Volumes, tt.wantVolumes) {
				t.Errorf("instance has volumes %+v, want %+v", got.Volumes, tt.wantVolumes)
			}
			if got.RootDeviceName != "/dev/xvda" || got.RootVolumeGiB() != tt.wantRootGiB {
				t.Errorf("instance's root volume is %s of %d GiB, want /dev/xvda of %d GiB", got.RootDeviceName, got.RootVolumeGiB(), tt.wantRootGiB)
			}
		})
	}
}

// Without an image registry the simulator knows no image's volumes: an instance has only those
// its launch maps.
func TestWithoutARegistryAnInstanceHasOnlyTheMappedVolumes(t *testing.T) {
	sim := newSim(t)
	client := newClient(t, sim, 1)
	createTemplate(t, client, template("nodewright/volumes", withVolume("/dev/xvda", 100)))
	id := launchOne(t, client, fleet(types.DefaultTargetCapacityTypeOnDemand,
		[]types.FleetLaunchTemplateOverridesRequest{override("c5.large")}, fromTemplate("nodewright/volumes", "$Latest")))
	if got, _ := sim.Instance(id); got.RootVolumeGiB() != 100 || len(got.Volumes) != 1 {
		t.Errorf("instance has volumes %+v, root %d GiB; want only the mapped 100 GiB root volume", got.Volumes, got.RootVolumeGiB())
	}
	bare := launchOne(t, launchClient(t, sim), fleet(types.DefaultTargetCapacityTypeOnDemand,
		[]types.FleetLaunchTemplateOverridesRequest{override("c5.large")}))
	if got, _ := sim.Instance(bare); got.RootVolumeGiB() != 0 || len(got.Volumes) != 0 {
		t.Errorf("instance of an unknown image without mappings has volumes %+v, want none", got.Volumes)
	}
}

// withVolume maps device to a gp3 volume of gib GiB; 0 leaves the size to the image.
func withVolume(device string, gib int32) templateOption {
	return func(in *ec2.CreateLaunchTemplateInput) {
		ebs := &types.LaunchTemplateEbsBlockDeviceRequest{VolumeType: types.VolumeTypeGp3}
		if gib > 0 {
			ebs.VolumeSize = aws.Int32(gib)
		}
		in.LaunchTemplateData.BlockDeviceMappings = append(in.LaunchTemplateData.BlockDeviceMappings,
			types.LaunchTemplateBlockDeviceMappingRequest{DeviceName: aws.String(device), Ebs: ebs})
	}
}

func withOverrideVolume(device string, gib int32) overrideOption {
	return func(o *types.FleetLaunchTemplateOverridesRequest) {
		o.BlockDeviceMappings = append(o.BlockDeviceMappings, types.FleetBlockDeviceMappingRequest{
			DeviceName: aws.String(device), Ebs: &types.FleetEbsBlockDeviceRequest{VolumeSize: aws.Int32(gib)}})
	}
}
