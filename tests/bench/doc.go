// Package bench is the end-to-end scale benchmark, `make bench-e2e`: it starts the lab
// in-process (2 s simulated boot, as `lab up`), runs the worker binary as its own process with
// the flags `lab up` prints, and for each pod count N (-pods, default 1000,5000) applies a
// Deployment of N pending pods (500m CPU, 1 GiB) on a NodePool of its own allowing spot and
// on-demand, then scales it to 70 %. It prints one table row per N. The NodePool allows only
// 2-vCPU instance types (-instance-cpu), which hold 3 such pods, so N pods need about N/3 nodes
// and the benchmark loads what grows with nodes (node workflows, launches, registrations);
// left free, the engine packs 1,000 pods onto 4 large instances. Its tests build only with
// the benche2e tag, so `go test ./...` and `make test` neither compile nor run them.
//
// The row's terms:
//
//   - nodes launched (used): EC2 instances launched for the pool by the time the last pod is
//     bound; in brackets, the Nodes the pods are bound to then.
//   - empty nodes (surplus instances) 30 s after: 30 s after the last pod is bound, the
//     pool's Nodes that hold none of its pods; in brackets, its running or pending instances
//     beyond the Nodes its pods use (launched for nothing, registered or not).
//   - apply→bound: seconds from creating the Deployment to the moment every one of its N pods
//     is bound (has a node), as the benchmark's watch sees them.
//   - pending→bound p50/p99: over the N pods, each pod's creationTimestamp to its PodScheduled
//     condition's lastTransitionTime. The API server keeps both to the second, so these are
//     whole seconds.
//   - worker peak RSS: the worker process's VmHWM from /proc, reset (clear_refs) as the row
//     starts, read as it ends; the whole process, Go runtime included.
//   - worker API requests: requests the worker's service account made of the kube-apiserver
//     from apply to the last pod bound, by verb. The API server's apiserver_request_total has
//     no label for the client (verb, group, resource, scope, component, code only), so they are
//     counted in the API server's own audit log, which the lab writes for that account alone,
//     one event per request as it is received (a watch counts once, when it starts).
//   - history events and KB per node: over the pool's node workflows (NodeLifecycleWorkflow
//     with NodePool = the pool), each workflow's history events and their encoded size as
//     GetWorkflowHistory returns them, summed over its runs, at the end of the row, so a node
//     still running counts what it has so far; p50 and max.
//   - largest payload: the largest Payloads (the arguments or result of one call, one signal's
//     input) or lone Payload (a memo field, a header) in the history of any workflow open
//     during the row, encoded; Temporal warns above 512 KB and fails above 2 MB.
//   - 70 %: steady after: seconds from scaling the Deployment to 70 % of N until the last
//     change before steady state, where steady means: every pod bound, every running node
//     workflow of the pool Ready, and the pool's set of Nodes unchanged for -settle (30 s).
//     The nodes column is the pool's Nodes before → at steady state. Under -floor there is
//     no scale-in; the column gives instead the seconds from scaling the Deployment from 0
//     back to N until every pod is bound again on the Nodes the scale-out left: the lab's
//     own floor, with nothing to plan or launch.
//   - $/h before → after: the sum of the running node workflows' prices, as `starter nodes`
//     shows them, when the Deployment is scaled and at steady state.
//
// Each row also logs (go test -v) where its time went: both processes' CPU seconds in every
// 5 s after the apply (2 cores give 10), the API server's requests from every client (its
// apiserver_request_total, read in-process), when the pods were first seen unschedulable, the
// kube-scheduler's attempts, the Provisioner's plans and start calls, each step of the node
// workflows' launches, and the worker's requests over a minute at rest after the scale-in
// (-rest).
package bench
