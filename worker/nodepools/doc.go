// Package nodepools keeps the worker's view of the NodePools and EC2NodeClasses in the API
// server and reports on them. It watches both kinds (and NodeClaims, to count each pool's
// nodes), reads every object through the loader, and:
//
//   - offers the ready pools to the planner and the disruption controller, so that a pool
//     applied, edited or deleted takes effect on the next plan, without a restart;
//   - writes each NodePool's status (conditions ValidationSucceeded, NodeClassReady, Ready;
//     nodes; resources, the sum of its nodes' capacity) and each EC2NodeClass's conditions;
//   - records a Warning event on a pool or class that is invalid or not ready.
//
// A pool is ready when it is not being deleted, passes validation, is not static
// (spec.replicas), and names an EC2NodeClass that exists and passes validation. Only pools whose nodeClassRef names the
// worker's group (--nodeclass-group) are touched: beside a Karpenter, pools naming
// nodewright.io are Nodewright's and the others Karpenter's, and the EC2NodeClasses' status
// is left to Karpenter.
package nodepools
