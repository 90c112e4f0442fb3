package ec2sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

// registry is DefaultImages plus an older, deprecated AL2023 image tagged for the lab.
func registry(o *ec2sim.Options) {
	o.Images = append(ec2sim.DefaultImages("1.33"), ec2sim.Image{
		ID: "ami-0a1b2c3d4e5f60099", Name: "amazon-eks-node-al2023-x86_64-standard-1.32-v20250101", Architecture: "x86_64",
		OwnerID: ec2sim.EKSImageOwner, CreationDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Deprecated: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Tags: map[string]string{"lab": "old"},
	})
}

func TestDescribeImages(t *testing.T) {
	client := newClient(t, newSim(t, registry), 1)
	all := []string{"ami-0a1b2c3d4e5f60001", "ami-0a1b2c3d4e5f60002", "ami-0a1b2c3d4e5f60003", "ami-0a1b2c3d4e5f60004", "ami-0a1b2c3d4e5f60005"}
	tests := []struct {
		name     string
		in       *ec2.DescribeImagesInput
		want     []string
		wantCode string
	}{
		{name: "everything but the deprecated image", in: &ec2.DescribeImagesInput{}, want: all},
		{name: "with the deprecated image", in: &ec2.DescribeImagesInput{IncludeDeprecated: aws.Bool(true), Filters: []types.Filter{filter("tag-key", "lab")}},
			want: []string{"ami-0a1b2c3d4e5f60099"}},
		{name: "a deprecated image named by id", in: &ec2.DescribeImagesInput{ImageIds: []string{"ami-0a1b2c3d4e5f60099"}}, want: []string{"ami-0a1b2c3d4e5f60099"}},
		{name: "by id", in: &ec2.DescribeImagesInput{ImageIds: []string{"ami-0a1b2c3d4e5f60002"}}, want: []string{"ami-0a1b2c3d4e5f60002"}},
		{name: "by name with a wildcard", in: &ec2.DescribeImagesInput{Filters: []types.Filter{filter("name", "amazon-eks-node-al2023-*-standard-1.33-*")}},
			want: []string{"ami-0a1b2c3d4e5f60001", "ami-0a1b2c3d4e5f60002"}},
		{name: "by architecture", in: &ec2.DescribeImagesInput{Filters: []types.Filter{filter("architecture", "arm64")}},
			want: []string{"ami-0a1b2c3d4e5f60002", "ami-0a1b2c3d4e5f60005"}},
		{name: "by owner id filter", in: &ec2.DescribeImagesInput{Filters: []types.Filter{filter("owner-id", ec2sim.BottlerocketImageOwner)}},
			want: []string{"ami-0a1b2c3d4e5f60004", "ami-0a1b2c3d4e5f60005"}},
		{name: "by owner", in: &ec2.DescribeImagesInput{Owners: []string{ec2sim.EKSImageOwner}},
			want: []string{"ami-0a1b2c3d4e5f60001", "ami-0a1b2c3d4e5f60002", "ami-0a1b2c3d4e5f60003"}},
		{name: "by owner alias amazon", in: &ec2.DescribeImagesInput{Owners: []string{"amazon"}}, want: all},
		{name: "owned by self", in: &ec2.DescribeImagesInput{Owners: []string{"self"}}},
		{name: "by image-id filter", in: &ec2.DescribeImagesInput{Filters: []types.Filter{filter("image-id", "ami-0a1b2c3d4e5f60003")}}, want: []string{"ami-0a1b2c3d4e5f60003"}},
		{name: "by tag", in: &ec2.DescribeImagesInput{IncludeDeprecated: aws.Bool(true), Filters: []types.Filter{filter("tag:lab", "old")}}, want: []string{"ami-0a1b2c3d4e5f60099"}},
		{name: "filters are ANDed", in: &ec2.DescribeImagesInput{Filters: []types.Filter{filter("architecture", "x86_64"), filter("name", "bottlerocket-*")}},
			want: []string{"ami-0a1b2c3d4e5f60004"}},
		{name: "an unknown id is not found", in: &ec2.DescribeImagesInput{ImageIds: []string{"ami-0123456789abcdef0"}}, wantCode: ec2sim.CodeInvalidAMIIDNotFound},
		{name: "an unknown filter", in: &ec2.DescribeImagesInput{Filters: []types.Filter{filter("colour", "blue")}}, wantCode: ec2sim.CodeInvalidParameterValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.DescribeImages(context.Background(), tt.in)
			var ids []string
			if err == nil {
				for _, im := range out.Images {
					ids = append(ids, aws.ToString(im.ImageId))
				}
			}
			expectIDs(t, ids, err, tt.want, tt.wantCode)
		})
	}
}

func TestDescribeImagesAnswersAsTheSDKReadsIt(t *testing.T) {
	client := newClient(t, newSim(t, registry), 1)
	out, err := client.DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: []string{"ami-0a1b2c3d4e5f60002", "ami-0a1b2c3d4e5f60099"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 2 {
		t.Fatalf("%d images, want 2", len(out.Images))
	}
	arm, old := out.Images[0], out.Images[1]
	if aws.ToString(arm.Name) != "amazon-eks-node-al2023-arm64-standard-1.33-v20251120" || arm.Architecture != types.ArchitectureValuesArm64 ||
		aws.ToString(arm.OwnerId) != ec2sim.EKSImageOwner || aws.ToString(arm.CreationDate) != "2025-11-20T00:00:00.000Z" ||
		arm.State != types.ImageStateAvailable || arm.DeprecationTime != nil {
		t.Errorf("image %+v: want its name, arm64, the EKS owner, creation date, available and no deprecation", arm)
	}
	if aws.ToString(old.DeprecationTime) != "2025-06-01T00:00:00.000Z" || tagMap(old.Tags)["lab"] != "old" {
		t.Errorf("deprecated image shows deprecation %q and tags %v, want 2025-06-01 and lab=old", aws.ToString(old.DeprecationTime), tagMap(old.Tags))
	}
}

func TestDescribeImagesWithoutARegistryKnowsNone(t *testing.T) {
	client := newClient(t, newSim(t), 1)
	out, err := client.DescribeImages(context.Background(), &ec2.DescribeImagesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 0 {
		t.Errorf("got %d images, want none", len(out.Images))
	}
}
