// Package clusterpolicy gives the planner the cluster-wide limits as they are now: those of
// the nodewright.io/v1alpha1 ClusterPolicy named "default", over the worker's flags.
//
// The CRD is optional. Without it (or without the RBAC to read it) the worker logs so once,
// uses its flags, and looks again every minute. With it, a field the policy sets wins over the
// flag for it; a field it leaves out keeps the flag's value, and deleting the policy brings the
// flags back. A policy that cannot be read (a value an older CRD's schema let through) is not
// applied: the flags' limits hold, on every replica alike, and its Ready condition says why. A ClusterPolicy
// named anything but "default" is ignored, with a Warning event and Ready=False.
package clusterpolicy
