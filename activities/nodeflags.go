package activities

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// FormatNodeLabels renders labels in kubelet's --node-labels format, k=v,k2=v2, sorted by
// key so the same labels always give the same string (CreateFleet's client token requires
// identical parameters on a retry).
func FormatNodeLabels(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// FormatNodeTaints renders taints in kubelet's --register-with-taints format,
// key[=value]:Effect, sorted by key and effect.
func FormatNodeTaints(taints []corev1.Taint) string {
	parts := make([]string, 0, len(taints))
	for _, t := range taints {
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		parts = append(parts, s+":"+string(t.Effect))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
