package ec2sim

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Image is an AMI the simulated region knows. CreateFleet checks launches against the registry
// (Options.Images) and DescribeImages answers from it.
type Image struct {
	ID           string
	Name         string
	Architecture string // "x86_64" or "arm64", as the instance-type catalog spells them
	OwnerID      string
	CreationDate time.Time
	Tags         map[string]string
	// Deprecated is when the image was deprecated; the zero time means it is not.
	Deprecated time.Time
	// RootDeviceName is the device the image boots from; "" is /dev/xvda.
	RootDeviceName string
	// Volumes are the image's block device mappings: the volumes an instance gets unless its
	// launch maps the device otherwise.
	Volumes []Volume
}

// defaultRootDevice is the root device of the EKS images, and of any image that names none.
const defaultRootDevice = "/dev/xvda"

// rootDevice is the device the image boots from.
func (im Image) rootDevice() string { return cmp.Or(im.RootDeviceName, defaultRootDevice) }

// Accounts that publish the EKS-optimized images; DescribeImages answers Owner.N=amazon with them.
const (
	EKSImageOwner          = "602401143452"
	BottlerocketImageOwner = "092701018921"
)

// DefaultImages is a registry of current EKS node images for a Kubernetes version: AL2023 for x86_64,
// arm64 and NVIDIA GPUs, and Bottlerocket for x86_64 and arm64. Pass it as Options.Images to
// have CreateFleet refuse unknown images and architecture mismatches. Their volumes are those
// of Karpenter's default block device mappings: a 20 GiB root volume for AL2023; a 4 GiB OS
// volume and a 20 GiB data volume (/dev/xvdb, where the kubelet's files live) for Bottlerocket.
func DefaultImages(kubernetesVersion string) []Image {
	created := time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	al2023Volumes := []Volume{{DeviceName: defaultRootDevice, SizeGiB: 20}}
	bottlerocketVolumes := []Volume{{DeviceName: defaultRootDevice, SizeGiB: 4}, {DeviceName: "/dev/xvdb", SizeGiB: 20}}
	image := func(n int, name, arch, owner string) Image {
		volumes := al2023Volumes
		if owner == BottlerocketImageOwner {
			volumes = bottlerocketVolumes
		}
		return Image{
			ID: fmt.Sprintf("ami-0a1b2c3d4e5f6%04d", n), Name: name, Architecture: arch, OwnerID: owner,
			CreationDate: created, Tags: map[string]string{},
			RootDeviceName: defaultRootDevice, Volumes: slices.Clone(volumes),
		}
	}
	return []Image{
		image(1, "amazon-eks-node-al2023-x86_64-standard-"+kubernetesVersion+"-v20251120", "x86_64", EKSImageOwner),
		image(2, "amazon-eks-node-al2023-arm64-standard-"+kubernetesVersion+"-v20251120", "arm64", EKSImageOwner),
		image(3, "amazon-eks-node-al2023-x86_64-nvidia-"+kubernetesVersion+"-v20251120", "x86_64", EKSImageOwner),
		image(4, "bottlerocket-aws-k8s-"+kubernetesVersion+"-x86_64-v1.50.0-4f1a6a3b", "x86_64", BottlerocketImageOwner),
		image(5, "bottlerocket-aws-k8s-"+kubernetesVersion+"-aarch64-v1.50.0-4f1a6a3b", "arm64", BottlerocketImageOwner),
	}
}

// ownerAlias is the imageOwnerAlias DescribeImages shows: "amazon" for the accounts that
// publish the EKS images, none for others.
func ownerAlias(owner string) string {
	switch owner {
	case EKSImageOwner, BottlerocketImageOwner:
		return "amazon"
	}
	return ""
}

// ownedBy is DescribeImages' Owner.N test: an account id, an alias, or "self".
func (im Image) ownedBy(owner string) bool {
	alias := ownerAlias(im.OwnerID)
	return owner == im.OwnerID || (alias != "" && owner == alias) || (owner == "self" && im.OwnerID == ownerID)
}

// imageByID reads the registry, which is fixed at New, so it needs no lock.
func (s *Sim) imageByID(id string) (Image, bool) {
	i := slices.IndexFunc(s.images, func(im Image) bool { return im.ID == id })
	if i < 0 {
		return Image{}, false
	}
	return s.images[i], true
}

// cloneImages copies the registry so callers cannot reach the simulator's maps.
func cloneImages(in []Image) []Image {
	out := make([]Image, 0, len(in))
	for _, im := range in {
		im.Tags = maps.Clone(im.Tags)
		im.Volumes = slices.Clone(im.Volumes)
		out = append(out, im)
	}
	return out
}
