// Package regions runs the lab in a region other than us-east-1, in a process of its own:
// Kubernetes keeps process-wide state that expects one control plane per process.
package regions
