// Package ekssim is an in-process EKS endpoint speaking the REST-JSON protocol that the real
// aws-sdk-go-v2 EKS client uses. It serves DescribeCluster for the clusters a lab declares, so a
// node provisioner can discover the API server endpoint, CA bundle, service CIDR and Kubernetes
// version as it would from EKS, and answers an unknown cluster with ResourceNotFoundException in
// EKS's wire shape.
//
// It is hand-written because no maintained library serves EKS to the Go SDK in-process, and one
// read-only action is all a node provisioner asks of EKS.
package ekssim
