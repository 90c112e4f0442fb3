// Package ssmsim is an in-process SSM Parameter Store endpoint speaking the AWS JSON 1.1 protocol
// that the real aws-sdk-go-v2 SSM client uses. It serves GetParameter and GetParameters over
// String parameters the lab seeds or changes at run time (Put), and refuses what SSM refuses:
// ParameterNotFound, ParameterVersionNotFound and ValidationException in the wire shape the SDK
// turns into its typed errors. EKSOptimizedAMIParameters builds the public AMI parameters that
// Karpenter-style AMI discovery reads.
//
// It is hand-written because no maintained library serves SSM to the Go SDK in-process; keeping it
// to the two read actions keeps it small enough to check against the SDK's schemas line by line.
package ssmsim
