// Package v1 holds Karpenter's karpenter.sh/v1 API as Nodewright serves and reads it: the
// NodePool a user applies, the NodeClaim each node workflow projects, and the well-known
// labels, taints and annotations Karpenter users rely on.
//
// The kubebuilder markers on the types are the source of the CustomResourceDefinitions in
// crds/ (make generate). They carry the OpenAPI schema and the CEL rules Karpenter's own CRDs
// carry, so the API server accepts and refuses what Karpenter's would.
//
// +kubebuilder:object:generate=true
// +groupName=karpenter.sh
package v1
