// Package ec2sim is an in-process EC2 Query-API server that the real aws-sdk-go-v2 EC2 client can
// talk to, simulating instant fleets, instance boot and termination over the instance-type catalog.
package ec2sim
