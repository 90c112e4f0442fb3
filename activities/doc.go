// Package activities holds the side effects of Nodewright's workflows: EC2 calls, Kubernetes
// calls and the planning step that runs the scheduler engine, each as a method on a struct
// that owns its client.
//
// Terms used across its files:
//
//   - change count: how many changes the worker's watches have seen to pods, Nodes and
//     PodDisruptionBudgets that a disruption decision reads (ClusterCache.Changes); a
//     kubelet's heartbeat does not count.
//   - quiet pass: a disruption pass answered from memory, without listing the cluster,
//     because the two full passes before it found nothing to do and read the same change
//     count, NodePools, EC2NodeClasses, market and limits (disruption_quiet.go).
//   - quiet wait: the first QuietWait of a wait for a Node, during which it sends no
//     heartbeat, since most waits of a scale-out end within it (kube.go).
package activities
