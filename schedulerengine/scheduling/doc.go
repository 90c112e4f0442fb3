// Package scheduling is the requirements algebra the engine and its callers share: what a
// pod, a NodePool or an instance type asks of a node's labels, and whether two such asks can
// both hold. It works on labels and node selector expressions alone, not on pods or prices.
//
//   - A Requirement is the set of values one label key may take, built from any node
//     selector operator (In, NotIn, Exists, DoesNotExist, Gt, Lt, and Karpenter's Gte and
//     Lte). Every operator maps onto one shape, so Intersect is one function.
//   - Requirements is a conjunction of them, one per key, sorted by key.
//   - Compatible says whether a pod's Requirements can be met by a node (or claim) that has
//     other Requirements, and names the key that cannot (IncompatibleError).
//   - Deprecated beta label keys (beta.kubernetes.io/arch...) are read as their GA keys
//     (NormalizedLabelKey, NormalizedLabels), as Karpenter reads them.
//
// Karpenter keeps the same algebra in its pkg/scheduling; the names follow it where they
// can. Values are immutable: every method returns a new value. FuzzRequirements checks the
// algebra's laws (go test -fuzz=FuzzRequirements ./schedulerengine/scheduling/).
package scheduling
