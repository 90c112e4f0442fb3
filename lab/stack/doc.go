// Package stack starts the whole lab in one process: embedded Temporal with its Web UI, the
// Kubernetes control plane, the EC2 simulator, and the kubelet stand-in that turns simulated
// instances into Nodes. The lab command, the demo and the end-to-end tests all start it.
package stack
