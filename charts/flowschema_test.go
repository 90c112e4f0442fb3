package charts_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// kubeSystemServiceAccountsPrecedence is the matchingPrecedence of the built-in FlowSchema
// kube-system-service-accounts, which sends every kube-system ServiceAccount to workload-high;
// the chart's FlowSchema must come first for flowSchema.priorityLevel to count there.
const kubeSystemServiceAccountsPrecedence = 900

// The chart's FlowSchema sends every request of the worker's ServiceAccount, and only its, to
// flowSchema.priorityLevel, and goes away with flowSchema.enabled=false.
func TestChartFlowSchema(t *testing.T) {
	type want struct{ name, priorityLevel, serviceAccount, namespace string }
	tests := []struct {
		name               string
		release, namespace string
		values             string
		want               *want // nil: no FlowSchema
	}{
		{
			name: "defaults", release: "nodewright", namespace: "kube-system",
			values: `settings: {clusterName: lab}`,
			want:   &want{name: "nodewright", priorityLevel: "workload-high", serviceAccount: "nodewright", namespace: "kube-system"},
		},
		{
			name: "disabled", release: "nodewright", namespace: "kube-system",
			values: `{settings: {clusterName: lab}, flowSchema: {enabled: false}}`,
		},
		{
			name: "a priority level of the user's", release: "nodewright", namespace: "kube-system",
			values: `{settings: {clusterName: lab}, flowSchema: {priorityLevel: autoscaler-critical}}`,
			want:   &want{name: "nodewright", priorityLevel: "autoscaler-critical", serviceAccount: "nodewright", namespace: "kube-system"},
		},
		{
			name: "an existing ServiceAccount in another namespace", release: "autoscaler", namespace: "autoscaling",
			values: `{settings: {clusterName: lab}, webhook: {enabled: false}, serviceAccount: {create: false, name: existing}}`,
			want:   &want{name: "autoscaler-nodewright", priorityLevel: "workload-high", serviceAccount: "existing", namespace: "autoscaling"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found := flowSchemas(t, renderChart(t, tt.release, tt.namespace, tt.values))
			if tt.want == nil {
				if len(found) != 0 {
					t.Fatalf("values %s rendered %d FlowSchemas, want none", tt.values, len(found))
				}
				return
			}
			if len(found) != 1 {
				t.Fatalf("values %s rendered %d FlowSchemas, want 1", tt.values, len(found))
			}
			fs := found[0]
			if fs.APIVersion != flowcontrolv1.SchemeGroupVersion.String() {
				t.Errorf("apiVersion %s, want %s", fs.APIVersion, flowcontrolv1.SchemeGroupVersion)
			}
			if fs.Name != tt.want.name {
				t.Errorf("name %q, want %q", fs.Name, tt.want.name)
			}
			if got := fs.Spec.PriorityLevelConfiguration.Name; got != tt.want.priorityLevel {
				t.Errorf("priority level %q, want %q", got, tt.want.priorityLevel)
			}
			if p := fs.Spec.MatchingPrecedence; p <= 0 || p >= kubeSystemServiceAccountsPrecedence {
				t.Errorf("matchingPrecedence %d: want below %d, or kube-system-service-accounts decides for a release in kube-system", p, kubeSystemServiceAccountsPrecedence)
			}
			if d := fs.Spec.DistinguisherMethod; d == nil || d.Type != flowcontrolv1.FlowDistinguisherMethodByUserType {
				t.Errorf("distinguisherMethod %+v, want ByUser", d)
			}
			checkOnlyServiceAccount(t, fs, tt.want.serviceAccount, tt.want.namespace)
			checkEveryRequest(t, fs)
		})
	}
}

// checkOnlyServiceAccount: the FlowSchema's one rule has the one subject, that ServiceAccount.
func checkOnlyServiceAccount(t *testing.T, fs flowcontrolv1.FlowSchema, name, namespace string) {
	t.Helper()
	if len(fs.Spec.Rules) != 1 || len(fs.Spec.Rules[0].Subjects) != 1 {
		t.Fatalf("rules %+v, want one rule with one subject", fs.Spec.Rules)
	}
	s := fs.Spec.Rules[0].Subjects[0]
	if s.Kind != flowcontrolv1.SubjectKindServiceAccount || s.ServiceAccount == nil ||
		s.ServiceAccount.Name != name || s.ServiceAccount.Namespace != namespace || s.User != nil || s.Group != nil {
		t.Errorf("subject %+v (service account %+v), want ServiceAccount %s/%s alone", s, s.ServiceAccount, namespace, name)
	}
}

// checkEveryRequest: the rule matches every resource request, cluster-wide or namespaced, and
// every non-resource request.
func checkEveryRequest(t *testing.T, fs flowcontrolv1.FlowSchema) {
	t.Helper()
	all := []string{"*"}
	rule := fs.Spec.Rules[0]
	if !slices.ContainsFunc(rule.ResourceRules, func(r flowcontrolv1.ResourcePolicyRule) bool {
		return r.ClusterScope && slices.Equal(r.APIGroups, all) && slices.Equal(r.Resources, all) &&
			slices.Equal(r.Verbs, all) && slices.Equal(r.Namespaces, all)
	}) {
		t.Errorf("resource rules %+v, want one of every group, resource, verb and namespace, cluster scope included", rule.ResourceRules)
	}
	if !slices.ContainsFunc(rule.NonResourceRules, func(r flowcontrolv1.NonResourcePolicyRule) bool {
		return slices.Equal(r.NonResourceURLs, all) && slices.Equal(r.Verbs, all)
	}) {
		t.Errorf("non-resource rules %+v, want one of every URL and verb", rule.NonResourceRules)
	}
}

// flowSchemas decodes, strictly, every FlowSchema among the rendered files.
func flowSchemas(t *testing.T, files map[string]string) []flowcontrolv1.FlowSchema {
	t.Helper()
	names := make([]string, 0, len(files))
	for name := range files {
		if strings.HasSuffix(name, ".yaml") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var found []flowcontrolv1.FlowSchema
	for _, name := range names {
		for _, doc := range strings.Split(files[name], "\n---") {
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("rendered %s: %v", name, err)
			}
			if meta.Kind != "FlowSchema" {
				continue
			}
			var fs flowcontrolv1.FlowSchema
			if err := yaml.UnmarshalStrict([]byte(doc), &fs); err != nil {
				t.Fatalf("rendered %s is not a valid FlowSchema: %v", name, err)
			}
			found = append(found, fs)
		}
	}
	return found
}
