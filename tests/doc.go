// Package tests holds Nodewright's end-to-end tests: they start the whole lab in-process
// (embedded Temporal, real kube-apiserver and kube-scheduler, the EC2 simulator and kubelet
// stand-ins), run a worker against it and check what a user would see.
package tests
