package dryrun

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/starter/advise"
)

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "shop"} }

func template(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "pause"}}}}
}

func TestPodsExpandWorkloadsIntoTheirReplicas(t *testing.T) {
	tests := []struct {
		name string
		in   advise.Snapshot
		want []string // pod keys the planner sees as pending
	}{
		{"a Deployment without replicas makes one pod",
			advise.Snapshot{Deployments: []appsv1.Deployment{{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Template: template("web")}}}},
			[]string{"shop/web-0"}},
		{"a StatefulSet of three makes three numbered pods",
			advise.Snapshot{StatefulSets: []appsv1.StatefulSet{{ObjectMeta: meta("db"), Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Template: template("db")}}}},
			[]string{"shop/db-0", "shop/db-1", "shop/db-2"}},
		{"a ReplicaSet scaled to zero makes none",
			advise.Snapshot{ReplicaSets: []appsv1.ReplicaSet{{ObjectMeta: meta("rs"), Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0), Template: template("rs")}}}},
			nil},
		{"a Job runs its parallelism at once",
			advise.Snapshot{Jobs: []batchv1.Job{{ObjectMeta: meta("batch"), Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](4), Template: template("batch")}}}},
			[]string{"shop/batch-0", "shop/batch-1", "shop/batch-2", "shop/batch-3"}},
		{"a Job runs no more pods than its completions",
			advise.Snapshot{Jobs: []batchv1.Job{{ObjectMeta: meta("once"), Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](4), Completions: ptr.To[int32](1), Template: template("once")}}}},
			[]string{"shop/once-0"}},
		{"a bare pod is pending unless bound to a node",
			advise.Snapshot{Pods: []corev1.Pod{{ObjectMeta: meta("loose")}, {ObjectMeta: meta("bound"), Spec: corev1.PodSpec{NodeName: "n1"}}}},
			[]string{"shop/loose"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pending []string
			for _, p := range Pods(tt.in) {
				if activities.Unschedulable(&p) {
					pending = append(pending, p.Namespace+"/"+p.Name)
				}
			}
			if !slices.Equal(pending, tt.want) {
				t.Errorf("pending pods %q, want %q", pending, tt.want)
			}
		})
	}
}

// Each replica carries its template's labels and spec, so selectors and spreads see it.
func TestPodsKeepTheTemplate(t *testing.T) {
	tmpl := template("web")
	tmpl.Spec.NodeSelector = map[string]string{"team": "a"}
	pods := Pods(advise.Snapshot{Deployments: []appsv1.Deployment{{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Template: tmpl}}}})
	for _, p := range pods {
		if p.Labels["app"] != "web" || p.Spec.NodeSelector["team"] != "a" {
			t.Errorf("pod %s has labels %v and node selector %v, want the template's", p.Name, p.Labels, p.Spec.NodeSelector)
		}
	}
}
