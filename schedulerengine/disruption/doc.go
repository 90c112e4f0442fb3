// Package disruption decides, from a snapshot of the cluster, which of Nodewright's nodes to
// remove next and why: empty nodes, drifted nodes, and nodes whose pods fit elsewhere or on one
// cheaper node (consolidation). It applies NodePool disruption budgets, do-not-disrupt and
// PodDisruptionBudgets, and simulates every move with schedulerengine.Solve. A simulation
// places the pods of nodes already going (tainted disrupted or deleted, their drain not done)
// along with the candidates', as Karpenter's does, while the nodes that stay can hold them,
// so a decision made moments after another leaves room for both; and the pods waiting for a
// node (among them those such a decision evicted, recreated unbound) that the nodes that stay
// can hold now, as the kube-scheduler will bind them there. A node going is departed
// when the decision that told it to go is to be counted as done: the budgets then count it
// neither in its pool nor as disrupting, for a decision made ahead, to be validated once it
// is gone. Pure: no I/O, the snapshot carries the time.
package disruption
