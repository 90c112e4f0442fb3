package dryrun

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodewright/nodewright/starter/advise"
)

// Pods are the pods the files' workloads would make, each marked as the kube-scheduler marks
// a pod no node can take, so that the planner plans it: every replica of a Deployment,
// StatefulSet or ReplicaSet and the pods a Job runs at once, named <workload>-<i>, and the
// bare Pods not bound to a node.
func Pods(s advise.Snapshot) []corev1.Pod {
	var out []corev1.Pod
	for _, d := range s.Deployments {
		out = append(out, replicas(d.ObjectMeta, &d.Spec.Template, count(d.Spec.Replicas))...)
	}
	for _, st := range s.StatefulSets {
		out = append(out, replicas(st.ObjectMeta, &st.Spec.Template, count(st.Spec.Replicas))...)
	}
	for _, rs := range s.ReplicaSets {
		out = append(out, replicas(rs.ObjectMeta, &rs.Spec.Template, count(rs.Spec.Replicas))...)
	}
	for _, j := range s.Jobs {
		out = append(out, replicas(j.ObjectMeta, &j.Spec.Template, jobPods(j.Spec.Parallelism, j.Spec.Completions))...)
	}
	for _, p := range s.Pods {
		if p.Spec.NodeName == "" {
			p.Status = unschedulable()
		}
		out = append(out, p)
	}
	return out
}

// count is a replicas field: 1 when unset, as the API server defaults it.
func count(n *int32) int {
	if n == nil {
		return 1
	}
	return int(max(*n, 0))
}

// jobPods is how many pods a Job runs at once: its parallelism (1 when unset), no more than
// its completions.
func jobPods(parallelism, completions *int32) int {
	n := count(parallelism)
	if completions != nil {
		n = min(n, int(max(*completions, 0)))
	}
	return n
}

// replicas are n pods of the template, named after the workload.
func replicas(owner metav1.ObjectMeta, t *corev1.PodTemplateSpec, n int) []corev1.Pod {
	out := make([]corev1.Pod, 0, n)
	for i := range n {
		out = append(out, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-%d", owner.Name, i), Namespace: owner.Namespace,
				Labels: t.Labels, Annotations: t.Annotations,
			},
			Spec:   *t.Spec.DeepCopy(),
			Status: unschedulable(),
		})
	}
	return out
}

// unschedulable is the status the kube-scheduler gives a pod no node can take.
func unschedulable() corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
	}}}
}
