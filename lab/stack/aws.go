package stack

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/ekssim"
	"github.com/nodewright/nodewright/lab/iamsim"
	"github.com/nodewright/nodewright/lab/ssmsim"
	"github.com/nodewright/nodewright/worker"
)

// NodeRoles are the IAM roles the lab's account holds for nodes: the demo's EC2NodeClass names
// the first, the end-to-end tests' the second.
func NodeRoles() []string { return []string{"KarpenterNodeRole-lab", "NodewrightNodeRole-lab"} }

// NodeClassYAML is an EC2NodeClass document of the given name that launches into the lab: the
// lab's AMI alias, subnets and security groups, and the end-to-end tests' node role.
func NodeClassYAML(name string) string {
	return fmt.Sprintf(`apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: %s
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
  role: %s
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: lab}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: lab}}]
`, name, NodeRoles()[1])
}

// ServiceCIDR is the lab cluster's service address range (the kube-apiserver's
// --service-cluster-ip-range), as EKS reports it to nodes.
const ServiceCIDR = "10.96.0.0/16"

// kubernetesVersion is the lab API server's minor version, under which the SSM parameters
// name the node images.
func (s *Stack) kubernetesVersion() (string, error) { return worker.KubernetesVersion(s.Kube.Client) }

// startAWSControlPlane starts the SSM, IAM and EKS simulators, seeded as an EKS account is:
// the node images published under SSM's public parameters, the node roles, and the cluster.
func (s *Stack) startAWSControlPlane(ctx context.Context, o Options, k8s string, images []ec2sim.Image) error {
	byName := func(prefix string) string {
		for _, im := range images {
			if strings.HasPrefix(im.Name, prefix) {
				return im.ID
			}
		}
		return ""
	}
	var err error
	s.SSM, err = ssmsim.New(ssmsim.Options{Region: s.Region, Parameters: ssmsim.EKSOptimizedAMIParameters(k8s, ssmsim.AMIs{
		AL2023AMD64:       byName("amazon-eks-node-al2023-x86_64-standard-"),
		AL2023ARM64:       byName("amazon-eks-node-al2023-arm64-standard-"),
		AL2023NvidiaAMD64: byName("amazon-eks-node-al2023-x86_64-nvidia-"),
		BottlerocketAMD64: byName("bottlerocket-aws-k8s-" + k8s + "-x86_64-"),
		BottlerocketARM64: byName("bottlerocket-aws-k8s-" + k8s + "-aarch64-"),
		Version:           "v20251120", BottlerocketVersion: "1.50.0",
	})})
	if err != nil {
		return fmt.Errorf("SSM simulator: %w", err)
	}
	if s.SSMURL, err = s.SSM.Serve(ctx, fmt.Sprintf("127.0.0.1:%d", o.SSMPort)); err != nil {
		return fmt.Errorf("start SSM simulator: %w", err)
	}
	if s.IAM, err = iamsim.New(iamsim.Options{Roles: NodeRoles()}); err != nil {
		return fmt.Errorf("IAM simulator: %w", err)
	}
	if s.IAMURL, err = s.IAM.Serve(ctx, fmt.Sprintf("127.0.0.1:%d", o.IAMPort)); err != nil {
		return fmt.Errorf("start IAM simulator: %w", err)
	}
	s.EKS, err = ekssim.New(ekssim.Options{Region: s.Region, Clusters: []ekssim.Cluster{{
		Name: ClusterName, Endpoint: s.Kube.URL, CAData: base64.StdEncoding.EncodeToString(s.Kube.Admin.CAData),
		ServiceCIDR: ServiceCIDR, Version: k8s,
	}}})
	if err != nil {
		return fmt.Errorf("EKS simulator: %w", err)
	}
	if s.EKSURL, err = s.EKS.Serve(ctx, fmt.Sprintf("127.0.0.1:%d", o.EKSPort)); err != nil {
		return fmt.Errorf("start EKS simulator: %w", err)
	}
	return nil
}

// admits is the lab cluster's access entries: a node joins only as an instance profile IAM
// has, holding one of NodeRoles, as EKS admits a node only through its role's access entry.
func (s *Stack) admits(instanceProfile string) error {
	name := instanceProfile[strings.LastIndex(instanceProfile, "/")+1:] // a name or an ARN
	profile, ok := s.IAM.InstanceProfile(name)
	if !ok {
		return fmt.Errorf("instance profile %s does not exist in IAM", instanceProfile)
	}
	for _, role := range profile.Roles {
		if slices.Contains(NodeRoles(), role) {
			return nil
		}
	}
	return fmt.Errorf("instance profile %s holds roles %v, none with an access entry in the cluster (%v)", name, profile.Roles, NodeRoles())
}
