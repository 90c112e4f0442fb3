// Package workflows holds Nodewright's Temporal workflows: the singleton Provisioner that
// batches pending pods into plans, and one NodeLifecycle workflow per node, from launch to
// termination.
package workflows
