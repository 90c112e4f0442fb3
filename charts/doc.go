// Package charts holds the Helm charts users install (charts/nodewright) and gives Go code the
// pieces of them it must agree with, such as the worker's RBAC rules, so the lab runs its
// worker with exactly what the chart grants.
package charts
