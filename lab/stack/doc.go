// Package stack starts the whole lab in one process: embedded Temporal with its Web UI, the
// Kubernetes control plane, the AWS simulators of one region (EC2 selling from the region's
// market, SQS, SSM, IAM, EKS, and the Price List API pricing every region with embedded
// prices), and the kubelet stand-in that turns simulated instances into Nodes. The region is an
// option (Options.Region, default us-east-1). The lab command, the demo, the end-to-end tests
// and the fault-injection suite all start it; the suite turns on its faults (Options.EC2Chaos,
// Options.KubeFaults) and restarts Temporal (RestartTemporal). Temporal can serve TLS or mutual
// TLS (Options.TemporalTLS, TemporalMutualTLS) to prove a worker's TLS settings.
package stack
