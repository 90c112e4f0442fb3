// Package stack starts the whole lab in one process: embedded Temporal with its Web UI, the
// Kubernetes control plane, the EC2 simulator, and the kubelet stand-in that turns simulated
// instances into Nodes. The lab command, the demo, the end-to-end tests and the fault-injection
// suite all start it; the suite turns on its faults (Options.EC2Chaos, Options.KubeFaults) and
// restarts Temporal (RestartTemporal).
package stack
