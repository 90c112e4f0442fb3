// Package kube runs a real Kubernetes control plane inside the lab process: embedded etcd,
// kube-apiserver with RBAC, kube-scheduler, and the few controllers a Deployment needs
// (deployment, replicaset, serviceaccount). It writes an admin kubeconfig for kubectl and a
// least-privilege service-account kubeconfig for the Nodewright worker.
package kube
