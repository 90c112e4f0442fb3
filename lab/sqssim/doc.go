// Package sqssim is an in-process SQS endpoint speaking the AWS JSON 1.0 protocol that the real
// aws-sdk-go-v2 SQS client uses, with long polls, visibility timeouts and an injectable clock.
package sqssim
