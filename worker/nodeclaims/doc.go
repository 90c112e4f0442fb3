// Package nodeclaims makes deleting a NodeClaim or a Node work as in Karpenter: both carry the
// finalizer karpenter.sh/termination, and when one is deleted the node's workflow is asked
// to drain (the same path as a manual drain). The workflow terminates the instance and only
// then removes the finalizers.
//
// It also covers what the workflow cannot: a NodeClaim or Node whose workflow has ended, or
// never existed, has its instance terminated here before its finalizer goes; and a NodeClaim
// deleted from under a live node (its finalizer stripped by hand) is written again by the
// node's workflow. A held object is looked at again every 30 s until it is gone, so one whose
// workflow ends without releasing it is not forgotten.
//
// Only objects labelled nodewright.io/managed (and NodeClaims of the worker's node class
// group) are touched, so a Karpenter running in the same cluster keeps its own; and since
// anyone may set a label, an instance is terminated only when EC2's tags say the claim's
// workflow launched it for this cluster.
package nodeclaims
