// Package ec2events builds the EventBridge messages EC2 and AWS Health send about instances,
// shaped as AWS sends them, for the EC2 simulator to publish and for parser tests to read.
package ec2events
