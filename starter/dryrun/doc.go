// Package dryrun is starter plan: it builds the planner's view of a cluster from manifests
// (and, with --from-cluster, the live cluster's NodePools, classes, nodes and pods), runs the
// planner's own dry run on it with the embedded catalog's prices, and prints the plan.
package dryrun
