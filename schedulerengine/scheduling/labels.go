package scheduling

import v1 "github.com/nodewright/nodewright/apis/v1"

// Deprecated label keys Kubernetes still sets beside their GA keys.
const (
	labelBetaArch         = "beta.kubernetes.io/arch"
	labelBetaOS           = "beta.kubernetes.io/os"
	labelBetaInstanceType = "beta.kubernetes.io/instance-type"
	labelBetaZone         = "failure-domain.beta.kubernetes.io/zone"
	labelBetaRegion       = "failure-domain.beta.kubernetes.io/region"
)

// NormalizedLabelKey maps a deprecated beta label key to the GA key the engine reasons about,
// as Karpenter does, so a pod selecting beta.kubernetes.io/arch is matched like one selecting
// kubernetes.io/arch. Other keys are returned unchanged.
func NormalizedLabelKey(key string) string {
	switch key {
	case labelBetaArch:
		return v1.LabelArch
	case labelBetaOS:
		return v1.LabelOS
	case labelBetaInstanceType:
		return v1.LabelInstanceType
	case labelBetaZone:
		return v1.LabelZone
	case labelBetaRegion:
		return v1.LabelRegion
	}
	return key
}

// NormalizedLabels returns labels with every beta key also present under its GA key (the GA
// value wins when both are set). The input map is returned as is when every beta key in it
// has its GA key beside it, as a kubelet's Node labels do, and never modified: a
// consolidation pass builds every node's labels once per simulation, and copying them each
// time was most of what it allocated.
func NormalizedLabels(labels map[string]string) map[string]string {
	var out map[string]string
	for k, v := range labels {
		ga := NormalizedLabelKey(k)
		if ga == k {
			continue
		}
		if _, set := labels[ga]; set {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(labels)+1)
			for k2, v2 := range labels {
				out[k2] = v2
			}
		}
		out[ga] = v
	}
	if out == nil {
		return labels
	}
	return out
}
