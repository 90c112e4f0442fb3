// Package awsjson is the server side of the AWS JSON protocols for the lab's simulators. A
// Service answers awsJson1_0 and awsJson1_1 requests: a POST naming the operation in
// X-Amz-Target, a size-limited JSON body decoded into the operation's typed input (Call), and a
// refusal written as {"__type", "message"} with x-amzn-query-error for query-compatible services
// such as SQS. Responder, which writes a JSON response with its request id, also serves restJson1,
// whose errors travel in a header instead.
//
// It is hand-written because the Go SDK ships only the client side of these protocols; the
// simulators need the server side that client talks to.
package awsjson
