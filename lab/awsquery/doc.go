// Package awsquery reads requests in the AWS Query protocol that IAM and EC2 speak: form
// parameters in a POST body or a GET's query string, with each list flattened into numbered
// keys, "Prefix.N" in EC2 and "Prefix.member.N" in IAM, N from 1. The lab's IAM simulator reads
// its requests with it.
//
// It is hand-written because the Go SDK ships only the client side of the protocol.
package awsquery
