package ssmsim

import (
	"fmt"
	"strings"
)

// AMIs are the image ids a lab publishes as the EKS-optimised AMIs of one Kubernetes version. An
// empty id leaves its parameters out, so a client asking for that variant gets ParameterNotFound,
// as it would for a variant AWS does not build; Karpenter skips such variants.
type AMIs struct {
	AL2023AMD64             string
	AL2023ARM64             string
	AL2023NvidiaAMD64       string
	BottlerocketAMD64       string
	BottlerocketARM64       string
	BottlerocketNvidiaAMD64 string
	// Version is the AL2023 release, e.g. v20251120, published beside "recommended" so that an
	// alias pinned to al2023@v20251120 resolves; empty publishes only "recommended".
	Version string
	// BottlerocketVersion is the Bottlerocket release, e.g. 1.50.0 (a leading v is dropped, as
	// Karpenter drops it), published beside "latest"; empty publishes only "latest".
	BottlerocketVersion string
}

// EKSOptimizedAMIParameters returns the public SSM parameters AWS publishes for these images, by
// the names Karpenter's AMI families read (aws/karpenter-provider-aws,
// pkg/providers/amifamily/al2023.go resolvePath and bottlerocket.go DescribeImageQuery):
//
//	/aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/<variant>/recommended/image_id
//	/aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/<variant>/amazon-eks-node-al2023-<arch>-<variant>-<k8s>-<version>/image_id
//	/aws/service/bottlerocket/aws-k8s-<k8s>[-nvidia]/<arch>/latest/image_id
//	/aws/service/bottlerocket/aws-k8s-<k8s>[-nvidia]/<arch>/<bottlerocket version>/image_id
func EKSOptimizedAMIParameters(k8sVersion string, images AMIs) map[string]string {
	out := map[string]string{}
	al2023 := []struct{ arch, variant, id string }{
		{"x86_64", "standard", images.AL2023AMD64},
		{"arm64", "standard", images.AL2023ARM64},
		{"x86_64", "nvidia", images.AL2023NvidiaAMD64},
	}
	for _, image := range al2023 {
		if image.id == "" {
			continue
		}
		dir := fmt.Sprintf("/aws/service/eks/optimized-ami/%s/amazon-linux-2023/%s/%s/", k8sVersion, image.arch, image.variant)
		out[dir+"recommended/image_id"] = image.id
		if images.Version != "" {
			release := fmt.Sprintf("amazon-eks-node-al2023-%s-%s-%s-%s", image.arch, image.variant, k8sVersion, images.Version)
			out[dir+release+"/image_id"] = image.id
		}
	}
	bottlerocket := []struct{ flavour, arch, id string }{
		{"aws-k8s-" + k8sVersion, "x86_64", images.BottlerocketAMD64},
		{"aws-k8s-" + k8sVersion, "arm64", images.BottlerocketARM64},
		{"aws-k8s-" + k8sVersion + "-nvidia", "x86_64", images.BottlerocketNvidiaAMD64},
	}
	release := strings.TrimLeft(images.BottlerocketVersion, "v")
	for _, image := range bottlerocket {
		if image.id == "" {
			continue
		}
		dir := fmt.Sprintf("/aws/service/bottlerocket/%s/%s/", image.flavour, image.arch)
		out[dir+"latest/image_id"] = image.id
		if release != "" {
			out[dir+release+"/image_id"] = image.id
		}
	}
	return out
}
