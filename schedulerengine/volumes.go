package schedulerengine

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// Volumes is the storage a pod's placement depends on: a bound PersistentVolume pins the pod
// to the PV's node affinity (usually a zone), and a claim still waiting for its first consumer
// is limited to its StorageClass's allowedTopologies.
type Volumes struct {
	// Claims by namespace/name, PersistentVolumes and StorageClasses by name.
	Claims            map[string]*corev1.PersistentVolumeClaim
	PersistentVolumes map[string]*corev1.PersistentVolume
	StorageClasses    map[string]*storagev1.StorageClass
}

// withVolumeTopology returns the pods with their volumes' topology folded into their required
// node affinity. Pods without such volumes are returned as they are; the others are copies.
func withVolumeTopology(pods []*corev1.Pod, v *Volumes) []*corev1.Pod {
	if v == nil {
		return pods
	}
	out, copied := pods, false
	for i, p := range pods {
		terms := v.topologyOf(p)
		if len(terms) == 0 {
			continue
		}
		if !copied {
			out, copied = append([]*corev1.Pod(nil), pods...), true
		}
		out[i] = withRequiredTerms(p, terms)
	}
	return out
}

// topologyOf lists, per volume that constrains placement, the node selector terms it allows
// (OR within a volume, AND across volumes).
func (v *Volumes) topologyOf(p *corev1.Pod) [][]corev1.NodeSelectorTerm {
	var out [][]corev1.NodeSelectorTerm
	for _, vol := range p.Spec.Volumes {
		claimName, template := "", (*corev1.PersistentVolumeClaimTemplate)(nil)
		switch {
		case vol.PersistentVolumeClaim != nil:
			claimName = vol.PersistentVolumeClaim.ClaimName
		case vol.Ephemeral != nil:
			// A generic ephemeral volume's claim is named after the pod and the volume.
			claimName, template = p.Name+"-"+vol.Name, vol.Ephemeral.VolumeClaimTemplate
		default:
			continue
		}
		if terms := v.claimTopology(p.Namespace, claimName, template); len(terms) > 0 {
			out = append(out, terms)
		}
	}
	return out
}

func (v *Volumes) claimTopology(namespace, name string, template *corev1.PersistentVolumeClaimTemplate) []corev1.NodeSelectorTerm {
	var class *string
	if pvc, ok := v.Claims[namespace+"/"+name]; ok {
		if pv, bound := v.PersistentVolumes[pvc.Spec.VolumeName]; bound && pvc.Spec.VolumeName != "" {
			if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
				return pv.Spec.NodeAffinity.Required.NodeSelectorTerms
			}
			return nil
		}
		class = pvc.Spec.StorageClassName
	} else if template != nil {
		class = template.Spec.StorageClassName
	}
	if class == nil {
		return nil
	}
	sc, ok := v.StorageClasses[*class]
	if !ok || len(sc.AllowedTopologies) == 0 {
		return nil
	}
	terms := make([]corev1.NodeSelectorTerm, 0, len(sc.AllowedTopologies))
	for _, t := range sc.AllowedTopologies {
		var term corev1.NodeSelectorTerm
		for _, e := range t.MatchLabelExpressions {
			term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{
				Key: e.Key, Operator: corev1.NodeSelectorOpIn, Values: e.Values,
			})
		}
		terms = append(terms, term)
	}
	return terms
}

// withRequiredTerms copies the pod with each group of terms ANDed into its required node
// affinity: the result is the cross product of the pod's terms and every group's.
func withRequiredTerms(p *corev1.Pod, groups [][]corev1.NodeSelectorTerm) *corev1.Pod {
	c := p.DeepCopy()
	if c.Spec.Affinity == nil {
		c.Spec.Affinity = &corev1.Affinity{}
	}
	if c.Spec.Affinity.NodeAffinity == nil {
		c.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := c.Spec.Affinity.NodeAffinity
	current := []corev1.NodeSelectorTerm{{}}
	if na.RequiredDuringSchedulingIgnoredDuringExecution != nil && len(na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) > 0 {
		current = na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	}
	for _, group := range groups {
		var next []corev1.NodeSelectorTerm
		for _, a := range current {
			for _, b := range group {
				next = append(next, corev1.NodeSelectorTerm{
					MatchExpressions: append(append([]corev1.NodeSelectorRequirement(nil), a.MatchExpressions...), b.MatchExpressions...),
					MatchFields:      append(append([]corev1.NodeSelectorRequirement(nil), a.MatchFields...), b.MatchFields...),
				})
			}
		}
		current = next
	}
	na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: current}
	return c
}
