// Package interruption reads the EventBridge messages EC2 and AWS Health put on the interruption
// queue and says, without any I/O, which instances they concern and by when.
package interruption
