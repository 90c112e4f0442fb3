package dryrun

import (
	"math"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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
			advise.Snapshot{Pods: []corev1.Pod{{ObjectMeta: meta("loose"), Spec: template("x").Spec}, {ObjectMeta: meta("bound"), Spec: corev1.PodSpec{NodeName: "n1", Containers: template("x").Spec.Containers}}}},
			[]string{"shop/loose"}},
		{"a suspended Job runs no pod",
			advise.Snapshot{Jobs: []batchv1.Job{{ObjectMeta: meta("later"), Spec: batchv1.JobSpec{Suspend: ptr.To(true), Parallelism: ptr.To[int32](4), Template: template("later")}}}},
			nil},
		{"a Deployment and a StatefulSet of one name get pods of distinct names",
			advise.Snapshot{
				Deployments:  []appsv1.Deployment{{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Template: template("web")}}},
				StatefulSets: []appsv1.StatefulSet{{ObjectMeta: meta("web"), Spec: appsv1.StatefulSetSpec{Template: template("web")}}},
				Pods:         []corev1.Pod{{ObjectMeta: meta("web-1"), Spec: template("web").Spec}},
			},
			[]string{"shop/web-0", "shop/web-1-2", "shop/web-0-2", "shop/web-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pending []string
			pods, err := Pods(tt.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pods {
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
	pods, err := Pods(advise.Snapshot{Deployments: []appsv1.Deployment{{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Template: tmpl}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if p.Labels["app"] != "web" || p.Spec.NodeSelector["team"] != "a" {
			t.Errorf("pod %s has labels %v and node selector %v, want the template's", p.Name, p.Labels, p.Spec.NodeSelector)
		}
	}
}

// What the API server would refuse is refused, naming the object and the field; so are more
// pods than a dry run makes, before any is made.
func TestPodsRefuseWhatTheAPIServerWould(t *testing.T) {
	negative := template("neg")
	negative.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-2")}
	empty := template("empty")
	empty.Spec.Containers = nil
	tests := []struct {
		name string
		in   advise.Snapshot
		want string
	}{
		{"negative replicas",
			advise.Snapshot{Deployments: []appsv1.Deployment{{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](-5), Template: template("web")}}}},
			"Deployment shop/web: spec.replicas is -5: it must be 0 or more"},
		{"replicas beyond any cluster",
			advise.Snapshot{StatefulSets: []appsv1.StatefulSet{{ObjectMeta: meta("db"), Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](math.MaxInt32), Template: template("db")}}}},
			"StatefulSet shop/db: spec.replicas is 2147483647: a dry run plans at most 200000 pods in all; lower it"},
		{"negative completions",
			advise.Snapshot{Jobs: []batchv1.Job{{ObjectMeta: meta("j"), Spec: batchv1.JobSpec{Completions: ptr.To[int32](-1), Template: template("j")}}}},
			"Job shop/j: spec.completions is -1"},
		{"a negative request",
			advise.Snapshot{ReplicaSets: []appsv1.ReplicaSet{{ObjectMeta: meta("rs"), Spec: appsv1.ReplicaSetSpec{Template: negative}}}},
			"ReplicaSet shop/rs: spec.template.spec.containers[0].resources.requests.cpu is -2: it must not be negative"},
		{"a pod without containers",
			advise.Snapshot{Pods: []corev1.Pod{{ObjectMeta: meta("bare"), Spec: empty.Spec}}},
			"Pod shop/bare: spec.containers is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pods, err := Pods(tt.in, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Pods made %d pods, error %v; want an error saying %q", len(pods), err, tt.want)
			}
		})
	}
}

// Files join the cluster's state as kubectl apply would: a file's Pod or DaemonSet replaces
// the cluster's of its name (counted once), and replicas are named apart from cluster pods.
func TestFilesJoinTheClusterAsApplied(t *testing.T) {
	clusterPod := corev1.Pod{ObjectMeta: meta("web-0"), Spec: template("web").Spec, Status: unschedulable()}
	again := corev1.Pod{ObjectMeta: meta("loose"), Spec: template("x").Spec, Status: unschedulable()}
	// The cluster's DaemonSets as ReadCluster gives them: a pod each, named after it.
	daemons := activities.DaemonPods([]appsv1.DaemonSet{
		{ObjectMeta: meta("agent"), Spec: appsv1.DaemonSetSpec{Template: template("agent")}},
		{ObjectMeta: meta("logs"), Spec: appsv1.DaemonSetSpec{Template: template("logs")}},
	})
	state := activities.ClusterState{Pods: []corev1.Pod{clusterPod, again}, Daemons: daemons}
	files := advise.Snapshot{
		Deployments: []appsv1.Deployment{{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Template: template("web")}}},
		Pods:        []corev1.Pod{{ObjectMeta: meta("loose"), Spec: template("x").Spec}},
		DaemonSets:  []appsv1.DaemonSet{{ObjectMeta: meta("agent"), Spec: appsv1.DaemonSetSpec{Template: template("agent")}}},
	}
	got, err := withFiles(state, files)
	if err != nil {
		t.Fatal(err)
	}
	var pods, names []string
	for _, p := range got.Pods {
		pods = append(pods, p.Name)
	}
	for _, d := range got.Daemons {
		names = append(names, d.Name)
	}
	if want := []string{"web-0", "web-0-2", "loose"}; !slices.Equal(pods, want) {
		t.Errorf("pods %q, want %q", pods, want)
	}
	if want := []string{"logs", "agent"}; !slices.Equal(names, want) {
		t.Errorf("daemons %q, want %q", names, want)
	}
	if len(state.Pods) != 2 || len(state.Daemons) != 2 {
		t.Errorf("withFiles changed the state it was given: %d pods, %d daemons", len(state.Pods), len(state.Daemons))
	}
}

// A limit without a request is the request, as the API server defaults it, for workloads,
// bare pods and DaemonSets; what the files hold is left as read.
func TestLimitsWithoutRequestsAreTheRequests(t *testing.T) {
	limited := template("big")
	limited.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi")},
	}
	files := advise.Snapshot{
		Deployments: []appsv1.Deployment{{ObjectMeta: meta("big"), Spec: appsv1.DeploymentSpec{Template: limited}}},
		Pods:        []corev1.Pod{{ObjectMeta: meta("bare"), Spec: limited.Spec}},
		DaemonSets:  []appsv1.DaemonSet{{ObjectMeta: meta("agent"), Spec: appsv1.DaemonSetSpec{Template: limited}}},
	}
	got, err := withFiles(activities.ClusterState{}, files)
	if err != nil {
		t.Fatal(err)
	}
	specs := []corev1.PodSpec{got.Pods[0].Spec, got.Pods[1].Spec, got.Daemons[0].Spec}
	for i, spec := range specs {
		req := spec.Containers[0].Resources.Requests
		if cpu, mem := req[corev1.ResourceCPU], req[corev1.ResourceMemory]; cpu.String() != "4" || mem.String() != "1Gi" {
			t.Errorf("pod %d requests cpu %s, memory %s; want the cpu limit 4 and the memory request 1Gi", i, cpu.String(), mem.String())
		}
	}
	if _, ok := files.Deployments[0].Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; ok {
		t.Error("the file's Deployment was changed")
	}
}

// A DaemonSet is checked as a pod is: a negative request would shrink every node's overhead.
func TestDaemonSetsAreCheckedAsPods(t *testing.T) {
	negative := template("agent")
	negative.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-8")}
	files := advise.Snapshot{DaemonSets: []appsv1.DaemonSet{{ObjectMeta: meta("agent"), Spec: appsv1.DaemonSetSpec{Template: negative}}}}
	_, err := withFiles(activities.ClusterState{}, files)
	if want := "DaemonSet shop/agent: spec.template.spec.containers[0].resources.requests.cpu is -8"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one saying %q", err, want)
	}
}

// A file's workload replaces the cluster's of its name, as kubectl apply would: the cluster's
// pods of it (through a Deployment's ReplicaSet too) are left out, its replicas take their
// place; pods of other workloads stay.
func TestAFilesWorkloadReplacesTheClusters(t *testing.T) {
	controlled := func(name, kind, owner string, labels map[string]string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{Kind: kind, Name: owner, Controller: ptr.To(true)}}},
			Spec: template("x").Spec, Status: unschedulable()}
	}
	hash := map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: "7d4b9c"}
	state := activities.ClusterState{Pods: []corev1.Pod{
		controlled("web-7d4b9c-aaaaa", "ReplicaSet", "web-7d4b9c", hash),
		controlled("web-7d4b9c-bbbbb", "ReplicaSet", "web-7d4b9c", hash),
		controlled("webhook-7d4b9c-ccccc", "ReplicaSet", "webhook-7d4b9c", hash), // another Deployment
		controlled("db-0", "StatefulSet", "db", nil),
		controlled("nightly-ddddd", "Job", "nightly", nil),
	}}
	files := advise.Snapshot{
		Deployments:  []appsv1.Deployment{{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Template: template("web")}}},
		StatefulSets: []appsv1.StatefulSet{{ObjectMeta: meta("db"), Spec: appsv1.StatefulSetSpec{Template: template("db")}}},
	}
	got, err := withFiles(state, files)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got.Pods {
		names = append(names, p.Name)
	}
	if want := []string{"webhook-7d4b9c-ccccc", "nightly-ddddd", "web-0", "web-1", "web-2", "db-0"}; !slices.Equal(names, want) {
		t.Errorf("pods %q, want %q", names, want)
	}
}
