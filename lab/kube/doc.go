// Package kube runs a real Kubernetes control plane inside the lab process: embedded etcd,
// kube-apiserver with RBAC, kube-scheduler, and the few controllers a Deployment needs
// (deployment, replicaset, serviceaccount). It writes an admin kubeconfig for kubectl and a
// least-privilege service-account kubeconfig for the Nodewright worker, and on request a second
// one through a proxy that fails a fraction of the worker's requests (StartFaultProxy). On
// request (Options.AuditLog) the API server audits the worker's requests, one line each.
package kube
