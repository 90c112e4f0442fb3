// Package schedulerengine decides what capacity a set of pending pods needs. It simulates
// scheduling onto existing, in-flight and new nodes, and bin-packs the new nodes onto the
// cheapest instance types a NodePool allows. It is pure: no clients, no clocks, no globals;
// the same Input always gives the same Plan.
//
// Its subpackages each have one job: scheduling is the requirements algebra (what a pod, a
// NodePool or an instance type asks of a node's labels), packing the bin-packing arithmetic
// (slack, the slack tree, unit prices), catalog the instance types and their prices, and
// disruption the decisions to remove or replace nodes, which it simulates with Solve.
//
// # From Input to Plan
//
// Solve (solve.go) runs these steps in order:
//
//  1. Volumes: withVolumeTopology (volumes.go) folds each pod's volume topology (a bound
//     volume's node affinity, a StorageClass's allowed topologies) into its node affinity.
//  2. Setup: newSolver (setup.go) builds the world (the instance types as vecs), the
//     daemonsets (daemons.go), the cluster's budget (setup_budgets.go), the NodePools by
//     weight then name with their budgets and daemonset overhead (addPools, pool.go), the
//     existing nodes, ready ones first (addExistingNodes), what they and committed capacity
//     charge the budgets (chargeRunning, setup_budgets.go), the pods largest first
//     (addPods, sortLargestFirst), the topology groups with what existing pods count in
//     them (topology_setup.go), and each pod's first level and the demand of each pod class
//     (buildFirstLevels).
//  3. Placement: run places the pods in that order, in rounds (place). Each pod tries, at
//     its level in force (placeWithoutRelaxing), in this order: an existing node
//     (onExisting); an open claim that holds it without a dearer type, then one that can
//     grow to hold it within its size limit (onOpenClaim); a new claim of the first
//     NodePool that takes it (onNewClaim, newClaimFor, seedFor); and last, an open claim
//     grown beyond its size limit (onClaimBeyondLimit). A pod that fits nowhere has its
//     next preference relaxed (relax, pending.go) and tries again. Pods that still fit
//     nowhere are tried again in a later round, as long as a round places something: a pod
//     whose affinity needs another pod placed first fits on a later round.
//  4. Repack (improve_repack.go): per unlimited NodePool and pod class, the claims that hold
//     only plain pods are packed again, node by node, by the pods that best use each node's
//     room in every resource (packBins); the result is kept only when it is cheaper.
//  5. Rebalance (improve_rebalance.go): per unlimited NodePool, the movers are lifted off
//     their claims (takeMovers, shrink), the claims topped up with them (fillClaim,
//     improve_fill.go), and the rest packed (packRest, packGroup, improve_pack.go). The pass
//     is undone (restore) when a pod does not land, the cost does not fall, or a selective
//     spread would count differently. Steps 4 and 5 are the improvement passes (improve,
//     improve.go).
//  6. reindexClaims (improve.go) drops the removed claims and numbers the rest.
//  7. plan (plan.go) turns each claim into a NodeClaim (at most MaxInstanceTypes types,
//     cheapest first, minValues kept) and prices the Plan, with its lower bound
//     (costLowerBound, lowerbound.go).
//
// # Words
//
//   - world (world.go): the read-only part of a Solve: dims, the catalog entries sorted by
//     name, the label keys an instance type decides, and the claim steps.
//   - catalog entry (world.go): one InstanceType as vecs; code names a type by its index
//     in world.types.
//   - dims, vec (resources.go): dims gives each resource name a slot, cpu, memory and pods
//     first; a vec holds one milli-amount per slot.
//   - offering filter (world.go): the zone and capacity-type part of requirements, which
//     says which offerings are allowed and so what a type costs. A price table
//     (prices.go) is every type's cheapest allowed price under one filter.
//   - pool state (pool.go): a NodePool ready to use: its requirements, taints, allowed
//     types cheapest first, each type's allocatable less daemonset overhead, its budgets.
//   - budget, charge (budget.go): a cap on capacity, node count and hourly cost, and what is
//     charged to it so far; a charge is one node's capacity and price. A charged node
//     (setup_budgets.go) is an existing node or committed capacity as charged in setup.
//   - pending pod (pending.go): an input pod with its requests, host ports, preferences and
//     levels.
//   - preference (preferences.go): a soft constraint, held as required until relaxed.
//   - level (pending.go): the pod with its first N preferences relaxed: its pod class and
//     pod topology. relaxedCount picks the level in force.
//   - pod class (podclass.go): what the node checks need from a pod: its pod terms,
//     tolerations and a per-pool taint cache. Pods with equal node selectors, required
//     node affinity and tolerations share one, whatever their size.
//   - pod term (podclass.go): one alternative of the pod's required node affinity, with its
//     nodeSelector and the preferred node affinity in force.
//   - claim (claim.go): a new node this Solve plans. It keeps the types that can still hold
//     all its pods, cheapest first; adding a pod only narrows them. Its ceiling is the most
//     any of those types holds; charged is what its budgets are charged for it. An open
//     claim is any claim opened so far in this Solve. A claim is pinned to a value of a
//     label when its requirements leave it that one value (a domain it is pinned to).
//   - merged terms (claim.go): the pod terms already folded into a claim's requirements; a
//     pod with one of them skips the label checks.
//   - claim fit, node fit (claim.go, existing.go): what adding a pod would make of a claim
//     or a node; CanAdd computes it without side effects, Add applies it.
//   - claim step (claim_steps.go): one check a pod passes to join a claim; together, in
//     order, the filter chain. Static steps depend only on the pod class and the claim's
//     labels, so seeds cache them.
//   - rejection (reasons.go): why a pod cannot join a claim or a node; furthest keeps the
//     one that got furthest through the steps. Its culprit, when set, is the pod's own
//     constraint at fault whatever the pool (culpritKey, claim_steps.go).
//   - seed (solve.go): an empty claim of one pool that passed the static steps for one pod
//     term, cached per pool and term; fresh copies it for each new claim.
//   - running node (existing.go): an existing node with its room left, labels, taints, host
//     ports, pods and domains.
//   - size limit (claim_sizelimit.go): how far a claim may grow before new pods prefer a new
//     claim: the allocatable of the type that carries its pod class's demand (the summed
//     requests of the class's pods still to place) most cheaply.
//   - slack (packing): the room a claim has left in cpu, memory and pod slots. claimSlack
//     (claim_slack.go) keeps three slack trees over the claims: room at the cheapest type,
//     to the size limit, and to the ceiling, one per step of placement that looks among
//     open claims.
//   - anti lists (claim_antilists.go): per required hostname anti-affinity group, the claims
//     it does not exclude yet (antiList). From antiListMinClaims claims on, placement walks
//     this list instead of the slack trees.
//   - domain (topology.go): one value of a topology key, interned by a domainTable.
//     domainUndecided: a claim may still get any of several; domainAbsent: no label.
//     A claim's or node's domains hold its domain per key.
//   - topology group (topology.go): one spread constraint or pod (anti-)affinity term,
//     shared by every pod that states it alike (its shape), with its counts per domain.
//     A selective group counts only some nodes; eligibility (topology_domains.go) says
//     whether a claim counts. Sure counts are those on nodes that surely count. A spread
//     group's possible domains are the values its key may take.
//   - owner (topology.go, topology_build.go): a pod that states a group, as opposed to the
//     pods the group's selector matches (which it counts). A pod owns its required
//     anti-affinity groups and repels the pods they select; repelledBy lists, for a pod,
//     the groups whose owners repel it. An ownedGroup is a group with whether its owner
//     matches it itself.
//   - pod topology (topology_build.go): what one pod at one level asks of topology, per key,
//     with the anti-affinity groups it owns and the groups it counts in.
//   - plain pod (improve_repack.go): a pod with no pod topology, host port or preference.
//   - bucket (improve_repack.go): pods of equal requests. A bin is the pods one node gets.
//   - mover (improve_movers.go): a pod rebalance may move, since the move changes no
//     topology answer: its kept domains are the domains it must stay in (it is held to
//     them: heldOnly), its host ties the hostname spreads it counts for or owns. A mover
//     family (improve_fill.go) is the movers of one class and kept domains: a claim may
//     take from all of its buckets or from none.
//   - hostSpreadOwners (improve_movers.go): per claim, how many of its pods own each
//     hostname spread group, during one rebalance pass.
//   - host claim (improve_pack.go): an existing claim a group of movers may be packed into.
//   - waste (packing): the part of a type's price its unused cpu and memory stand for.
//   - lower bound (lowerbound.go, packing): what no plan for the pods can cost less than.
//
// # Where each constraint is checked
//
//   - Resources: runningNode.CanAdd (existing.go); checkResources and typesWithRoom
//     (claim_steps.go). The slack trees and a claim's ceiling only skip claims early.
//   - Taints and tolerations: untoleratedTaint (taints.go), from runningNode.CanAdd and
//     checkTaints (claim_steps.go).
//   - Node selector and node affinity: newPodClass (podclass.go) builds the terms;
//     runningNode.satisfies (existing.go) checks nodes; for claims, checkRequirements
//     (claim_steps.go) checks the labels with scheduling.Requirements.Compatible and
//     checkInstanceTypes narrows the types through world.allows.
//   - Pod affinity and anti-affinity, topology spread: groupsFor and spreadGroup
//     (topology_build.go) build the groups; firstBlock and chooseDomain
//     (topology_check.go), spreadDomains and eligibility (topology_domains.go) check them,
//     for nodes through nodeBlocker and for claims through checkPortsAndTopology;
//     recordOnNode and recordOnClaim (solve.go) keep the counts. Rebalance drops the
//     topology step (improve_rebalance.go): each mover stays in its kept domains, and
//     hostCounts.allows (improve_movers.go) keeps hostname spreads within maxSkew.
//   - Host ports: portConflict (hostports.go), from runningNode.CanAdd and
//     checkPortsAndTopology; daemonsets' ports, typesFreeOfDaemonPorts (daemons.go).
//   - Volumes: as node affinity (volumes.go). CSI attach limits are not modelled.
//   - Daemonset overhead: applyDaemonOverhead (daemons.go), in setup.
//   - NodePool and cluster limits: checkLimits (claim_steps.go) against the budgets
//     (budget.go); the repack and rebalance passes leave limited pools alone.
//   - minValues: checkMinValues (minvalues.go), a static step and the last step;
//     truncateKeepingMinValues keeps them in the Plan's type list.
//   - Zones, capacity types and offerings: the offering filter and world.allows (world.go).
//   - Preferences: preferencesOf (preferences.go); place relaxes them one at a time.
//   - karpenter.sh/do-not-disrupt: not here; the disruption subpackage protects such pods.
package schedulerengine
