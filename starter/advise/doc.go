// Package advise checks a cluster's NodePools and workloads against the practices Nodewright
// (and Karpenter) work best with, and says what to fix: requests on every pod, memory limits
// equal to requests where nodes are consolidated, pools that do not compete at equal weight,
// spot pools with many instance types, limits on every pool, PodDisruptionBudgets that let
// nodes drain, and the worker kept off the nodes it manages.
//
// Check is pure: it reads a Snapshot (taken by FromCluster or read by AddManifest) and the
// instance types to judge pools by, and returns findings in a fixed order. Each rule of Rules
// has an id, a severity and a check; a finding names the rule, the objects concerned and the
// fix. `starter advise` prints them and exits 1 when any has severity error.
package advise
