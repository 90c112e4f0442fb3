package ssmsim_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/nodewright/nodewright/lab/ssmsim"
)

func TestEKSOptimizedAMIParametersUseThePublicNamesKarpenterReads(t *testing.T) {
	every := ssmsim.AMIs{
		AL2023AMD64: "ami-al2023-amd64", AL2023ARM64: "ami-al2023-arm64", AL2023NvidiaAMD64: "ami-al2023-nvidia",
		BottlerocketAMD64: "ami-br-amd64", BottlerocketARM64: "ami-br-arm64", BottlerocketNvidiaAMD64: "ami-br-nvidia",
	}
	versioned := every
	versioned.Version, versioned.BottlerocketVersion = "v20251120", "v1.50.0"
	latest := map[string]string{
		"/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id": "ami-al2023-amd64",
		"/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/recommended/image_id":  "ami-al2023-arm64",
		"/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/nvidia/recommended/image_id":   "ami-al2023-nvidia",
		"/aws/service/bottlerocket/aws-k8s-1.34/x86_64/latest/image_id":                              "ami-br-amd64",
		"/aws/service/bottlerocket/aws-k8s-1.34/arm64/latest/image_id":                               "ami-br-arm64",
		"/aws/service/bottlerocket/aws-k8s-1.34-nvidia/x86_64/latest/image_id":                       "ami-br-nvidia",
	}
	pinned := maps.Clone(latest)
	maps.Copy(pinned, map[string]string{
		"/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/amazon-eks-node-al2023-x86_64-standard-1.34-v20251120/image_id": "ami-al2023-amd64",
		"/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/amazon-eks-node-al2023-arm64-standard-1.34-v20251120/image_id":   "ami-al2023-arm64",
		"/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/nvidia/amazon-eks-node-al2023-x86_64-nvidia-1.34-v20251120/image_id":     "ami-al2023-nvidia",
		"/aws/service/bottlerocket/aws-k8s-1.34/x86_64/1.50.0/image_id":                                                                        "ami-br-amd64",
		"/aws/service/bottlerocket/aws-k8s-1.34/arm64/1.50.0/image_id":                                                                         "ami-br-arm64",
		"/aws/service/bottlerocket/aws-k8s-1.34-nvidia/x86_64/1.50.0/image_id":                                                                 "ami-br-nvidia",
	})
	tests := []struct {
		name   string
		images ssmsim.AMIs
		want   map[string]string
	}{
		{"every image without releases gets only recommended and latest", every, latest},
		{"releases add the pinned names, Bottlerocket's without its v", versioned, pinned},
		{"an empty id is left out", ssmsim.AMIs{AL2023ARM64: "ami-al2023-arm64", Version: "v20251120"}, map[string]string{
			"/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/recommended/image_id":                                          "ami-al2023-arm64",
			"/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/amazon-eks-node-al2023-arm64-standard-1.34-v20251120/image_id": "ami-al2023-arm64",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ssmsim.EKSOptimizedAMIParameters("1.34", tc.images)
			if !maps.Equal(got, tc.want) {
				t.Errorf("parameters:\n%v\nwant:\n%v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(tc.want)))
			}
		})
	}
}

func TestEKSOptimizedAMIParametersAreServable(t *testing.T) {
	parameters := ssmsim.EKSOptimizedAMIParameters("1.34", ssmsim.AMIs{
		AL2023AMD64: "ami-1", AL2023ARM64: "ami-2", AL2023NvidiaAMD64: "ami-3",
		BottlerocketAMD64: "ami-4", BottlerocketARM64: "ami-5", BottlerocketNvidiaAMD64: "ami-6",
		Version: "v20251120", BottlerocketVersion: "1.50.0",
	})
	client := clientFor(t, newSim(t, parameters))
	for name, want := range parameters {
		out, err := client.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String(name)})
		if err != nil {
			t.Errorf("get %s: %v", name, err)
			continue
		}
		if got := aws.ToString(out.Parameter.Value); got != want {
			t.Errorf("%s is %s, want %s", name, got, want)
		}
	}
}
