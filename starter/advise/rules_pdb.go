package advise

import (
	"fmt"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// pdbMissing: without a PodDisruptionBudget a drain may evict every replica at once, and
// consolidation and expiry drain nodes as a matter of course.
func pdbMissing(v *view) []Finding {
	var out []Finding
	for _, w := range v.workloads() {
		if !w.replicated || w.replicas <= 1 || len(v.budgetsOf(w)) > 0 {
			continue
		}
		out = append(out, Finding{
			Objects: []Ref{w.ref},
			Message: fmt.Sprintf("%d replicas and no PodDisruptionBudget selects its pods, so a drain may evict them all at once", w.replicas),
			Fix: fmt.Sprintf("add a PodDisruptionBudget in namespace %s selecting its pods with maxUnavailable: 1 (or a percentage), "+
				"so nodes drain one replica at a time", w.ref.Namespace),
		})
	}
	return out
}

// pdbBlocksEviction: a budget that never allows an eviction stops every drain of a node with
// one of its pods: consolidation and drift skip the node, and expiry waits until the pool's
// terminationGracePeriod, if it has one.
func pdbBlocksEviction(v *view) []Finding {
	var out []Finding
	for i := range v.s.PodDisruptionBudgets {
		pdb := &v.s.PodDisruptionBudgets[i]
		refs := []Ref{{Kind: "PodDisruptionBudget", Namespace: pdb.Namespace, Name: pdb.Name}}
		var pods int32
		for _, w := range v.workloads() {
			if w.replicated && w.replicas > 0 && selects(pdb, w) {
				refs = append(refs, w.ref)
				pods += w.replicas
			}
		}
		if pods == 0 {
			continue
		}
		if why := blocksEveryEviction(pdb, pods); why != "" {
			out = append(out, Finding{
				Objects: refs,
				Message: fmt.Sprintf("%s of the %d pods it covers, so no eviction is ever allowed and their nodes never drain", why, pods),
				Fix: "allow at least one disruption: maxUnavailable: 1, or minAvailable below the replica count; " +
					"set the NodePool's terminationGracePeriod so a drain ends even when a budget blocks it",
			})
		}
	}
	return out
}

// blocksEveryEviction says how the budget's spec leaves no eviction for n healthy pods, "" when
// it allows one. Percentages round up, as the disruption controller rounds them.
func blocksEveryEviction(pdb *policyv1.PodDisruptionBudget, n int32) string {
	if mu := pdb.Spec.MaxUnavailable; mu != nil {
		if v, err := intstr.GetScaledValueFromIntOrPercent(mu, int(n), true); err == nil && v <= 0 {
			return fmt.Sprintf("maxUnavailable is %s", mu.String())
		}
		return ""
	}
	if ma := pdb.Spec.MinAvailable; ma != nil {
		if v, err := intstr.GetScaledValueFromIntOrPercent(ma, int(n), true); err == nil && v >= int(n) {
			return fmt.Sprintf("minAvailable is %s", ma.String())
		}
	}
	return ""
}

// budgetsOf returns the PodDisruptionBudgets of the workload's namespace that select its
// pods.
func (v *view) budgetsOf(w *workload) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for i := range v.s.PodDisruptionBudgets {
		if pdb := &v.s.PodDisruptionBudgets[i]; selects(pdb, w) {
			out = append(out, pdb)
		}
	}
	return out
}

// selects reports whether the budget covers the workload's pods: same namespace and a
// selector matching their labels (in policy/v1 an empty selector matches every pod, a
// missing one none).
func selects(pdb *policyv1.PodDisruptionBudget, w *workload) bool {
	if pdb.Namespace != w.ref.Namespace || pdb.Spec.Selector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(w.labels))
}
