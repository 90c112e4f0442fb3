// Package disruption decides, from a snapshot of the cluster, which of Nodewright's nodes to
// remove next and why: empty nodes, drifted nodes, and nodes whose pods fit elsewhere or on one
// cheaper node (consolidation). It applies NodePool disruption budgets, do-not-disrupt and
// PodDisruptionBudgets, and simulates every move with schedulerengine.Solve. Pure: no I/O, the
// snapshot carries the time.
package disruption
