// Package v1 holds Nodewright's reading of Karpenter's karpenter.sh/v1 API: the NodePool
// a user already has, decoded from YAML unchanged, and the well-known labels, taints and
// annotations that Karpenter users rely on.
package v1
