// Package worker is the Nodewright Temporal worker: it runs the provisioning and node
// lifecycle workflows and their EC2 and Kubernetes activities, watches for unschedulable
// pods, and serves Prometheus metrics and a health check.
package worker
