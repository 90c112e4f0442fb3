package advise

import (
	"cmp"
	"slices"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/scheduling"
)

// Labels and the scheduler of nodes Nodewright does not launch, which pin a pod off its nodes.
const (
	// labelEKSNodeGroup is on the nodes of an EKS managed node group.
	labelEKSNodeGroup = "eks.amazonaws.com/nodegroup"
	// labelEKSComputeType is on Fargate (and EKS Auto Mode, hybrid) nodes.
	labelEKSComputeType = "eks.amazonaws.com/compute-type"
	// fargateScheduler is the scheduler EKS gives pods that a Fargate profile selects.
	fargateScheduler = "fargate-scheduler"
)

// consolidatingPoolsOf returns the pools, among those the workload's pods run in (or, for a
// workload with no pod on a managed node, those it may be planned onto), that replace or
// remove underutilized nodes.
func (v *view) consolidatingPoolsOf(w *workload) []*apisv1.NodePool {
	var names []string
	for _, p := range w.pods {
		if pool := v.managedBy(p); pool != "" && !slices.Contains(names, pool) {
			names = append(names, pool)
		}
	}
	if len(names) == 0 && len(w.pods) > 0 && slices.ContainsFunc(w.pods, func(p *corev1.Pod) bool { return p.Spec.NodeName != "" }) {
		return nil // running on nodes no NodePool manages
	}
	var out []*apisv1.NodePool
	for _, p := range v.pools {
		switch {
		case len(names) > 0 && !slices.Contains(names, p.Name):
		case len(names) == 0 && !mayLand(w.spec, p):
		case consolidatesUnderutilized(p):
			out = append(out, p)
		}
	}
	return out
}

// mayLand reports whether a pod of spec may be planned onto the pool's nodes, as far as its
// nodeSelector and required node affinity on karpenter.sh/nodepool and the pool's taints
// tell; other labels are not judged.
func mayLand(spec *corev1.PodSpec, p *apisv1.NodePool) bool {
	if pinned, ok := spec.NodeSelector[apisv1.LabelNodePool]; ok && pinned != p.Name {
		return false
	}
	if untolerated(p.Spec.Template.Spec.Taints, spec.Tolerations) {
		return false
	}
	terms := requiredTerms(spec)
	// The terms are ORed: one admitting the pool's nodes is enough.
	return terms == nil || slices.ContainsFunc(terms, func(t corev1.NodeSelectorTerm) bool {
		if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
			return false // an empty term matches no node
		}
		return !slices.ContainsFunc(t.MatchExpressions, func(e corev1.NodeSelectorRequirement) bool {
			if scheduling.NormalizedLabelKey(e.Key) != apisv1.LabelNodePool {
				return false
			}
			r, err := scheduling.NewRequirement(e.Key, e.Operator, e.Values...)
			return err != nil || !r.MatchesLabel(p.Name, true) // an invalid expression matches nothing
		})
	})
}

// requiredTerms are the pod's required node-affinity terms, nil when it has none.
func requiredTerms(spec *corev1.PodSpec) []corev1.NodeSelectorTerm {
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	return spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
}

// blocking reports a NoSchedule or NoExecute taint, which keeps off pods that do not tolerate
// it; PreferNoSchedule only discourages them.
func blocking(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}

// untolerated reports whether one of the taints keeps a pod with these tolerations off, as
// the scheduling engine judges it.
func untolerated(taints []corev1.Taint, tolerations []corev1.Toleration) bool {
	_, found := corev1helpers.FindMatchingUntoleratedTaint(logr.Discard(), taints, tolerations, blocking, true)
	return found
}

// blockingTaints are the pool's NoSchedule and NoExecute taints, sorted, to compare pools by.
func blockingTaints(p *apisv1.NodePool) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range p.Spec.Template.Spec.Taints {
		if blocking(&t) {
			out = append(out, corev1.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
		}
	}
	slices.SortFunc(out, func(a, b corev1.Taint) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value), cmp.Compare(a.Effect, b.Effect))
	})
	return slices.Compact(out)
}

// keepsOffManagedNodes reports whether the pod template keeps the worker off the nodes
// Nodewright manages: Fargate's scheduler, a nodeSelector on a label only other nodes carry
// (an EKS managed node group's, Fargate's), or required node affinity of which every term
// (terms are ORed) excludes karpenter.sh/nodepool or requires such a label.
func (v *view) keepsOffManagedNodes(spec *corev1.PodSpec) bool {
	if spec.SchedulerName == fargateScheduler {
		return true
	}
	for key := range spec.NodeSelector {
		if v.foreignLabel(key) {
			return true
		}
	}
	terms := requiredTerms(spec)
	return len(terms) > 0 && !slices.ContainsFunc(terms, func(t corev1.NodeSelectorTerm) bool {
		return !slices.ContainsFunc(t.MatchExpressions, func(e corev1.NodeSelectorRequirement) bool {
			if e.Key == apisv1.LabelNodePool {
				return e.Operator == corev1.NodeSelectorOpDoesNotExist
			}
			r, err := scheduling.NewRequirement(e.Key, e.Operator, e.Values...)
			return err == nil && !r.AllowsAbsence() && v.foreignLabel(e.Key) // the label must be there
		})
	})
}

// foreignLabel reports a label Nodewright's nodes do not carry: an EKS managed node group's
// or Fargate's, unless a pool of the snapshot puts it on its nodes.
func (v *view) foreignLabel(key string) bool {
	if key != labelEKSNodeGroup && key != labelEKSComputeType {
		return false
	}
	return !slices.ContainsFunc(v.pools, func(p *apisv1.NodePool) bool {
		_, labelled := p.Spec.Template.ObjectMeta.Labels[key]
		return labelled || slices.ContainsFunc(p.Spec.Template.Spec.Requirements, func(r apisv1.NodeSelectorRequirementWithMinValues) bool {
			return r.Key == key
		})
	})
}
