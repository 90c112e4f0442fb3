// Package bootstrap writes the EC2 user data a node boots from, as Karpenter's AWS provider
// writes it: for AL2023 a MIME multi-part document whose last part is a nodeadm NodeConfig,
// for Bottlerocket a TOML settings document. Either carries the cluster's identity (name,
// API endpoint, CA bundle, service CIDR), the kubelet's --node-labels and the taints it
// registers with, and the EC2NodeClass's kubelet settings; the class's own userData is merged
// in as Karpenter merges it.
//
// Terms:
//   - NodeConfig: nodeadm's configuration object (node.eks.aws/v1alpha1), the format AL2023
//     EKS AMIs read from user data parts of Content-Type application/node.eks.aws.
//   - restricted label: a label in the kubernetes.io or k8s.io domains; the kubelet refuses
//     to start with most of them in --node-labels, so they are left to the controller,
//     which sets them on the Node once it has registered.
package bootstrap
