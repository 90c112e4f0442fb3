package activities

import (
	"maps"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pdb builds a PodDisruptionBudget in namespace ns; a nil selector is left nil.
func pdb(name string, selector *metav1.LabelSelector, allowed int32) policyv1.PodDisruptionBudget {
	return policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: selector},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed},
	}
}

func labelled(key, value string) podOption {
	return func(p *corev1.Pod) { p.Labels = map[string]string{key: value} }
}

func inNamespace(ns string) podOption { return func(p *corev1.Pod) { p.Namespace = ns } }

func TestBlockedByPDB(t *testing.T) {
	t.Parallel()
	webOnly := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	pods := []corev1.Pod{
		*pod("web-1", labelled("app", "web")), *pod("db-1", labelled("app", "db")),
		*pod("web-elsewhere", labelled("app", "web"), inNamespace("other")),
	}
	tests := []struct {
		name string
		pdbs []policyv1.PodDisruptionBudget
		want []string
	}{
		{
			name: "a budget allowing no disruption blocks the pods its selector matches",
			pdbs: []policyv1.PodDisruptionBudget{pdb("web", webOnly, 0)},
			want: []string{"ns/web-1"},
		},
		{
			name: "a budget that still allows a disruption blocks nothing",
			pdbs: []policyv1.PodDisruptionBudget{pdb("web", webOnly, 1)},
		},
		{
			name: "an empty selector covers every pod of its namespace and of no other",
			pdbs: []policyv1.PodDisruptionBudget{pdb("all", &metav1.LabelSelector{}, 0)},
			want: []string{"ns/db-1", "ns/web-1"},
		},
		{
			name: "a nil selector covers no pod",
			pdbs: []policyv1.PodDisruptionBudget{pdb("none", nil, 0)},
		},
		{
			name: "a pod under two budgets is blocked even though both allow a disruption, as the Eviction API refuses it",
			pdbs: []policyv1.PodDisruptionBudget{pdb("web", webOnly, 1), pdb("all", &metav1.LabelSelector{}, 1)},
			want: []string{"ns/web-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := slices.Sorted(maps.Keys(blockedByPDB(tt.pdbs, pods)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("blocked pods %v, want %v", got, tt.want)
			}
		})
	}
}
