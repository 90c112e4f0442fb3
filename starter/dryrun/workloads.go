package dryrun

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/nodewright/nodewright/starter/advise"
)

// MaxPods bounds the pods a dry run makes of its files' workloads: far beyond any cluster the
// worker plans (it is tested at 50,000 pending pods), and small enough that a typo such as
// replicas: 2147483647 is refused instead of exhausting memory.
const MaxPods = 200_000

// Pods are the pods the files' workloads would make, each marked as the kube-scheduler marks
// a pod no node can take, so that the planner plans it: every replica of a Deployment,
// StatefulSet or ReplicaSet and the pods a Job runs at once (none while it is suspended),
// named <workload>-<i>, and the bare Pods not bound to a node. A name already taken (by taken
// or by an earlier workload's pod, say a Deployment and a StatefulSet both called web) gets
// a suffix, as the API server's generated names never collide. Fields the API server would
// refuse (negative replicas or requests, a pod without containers) are errors naming the
// field, and so are more than MaxPods pods.
func Pods(s advise.Snapshot, taken map[string]bool) ([]corev1.Pod, error) {
	e := expansion{taken: map[string]bool{}}
	for k := range taken {
		e.taken[k] = true
	}
	for _, p := range s.Pods {
		e.taken[p.Namespace+"/"+p.Name] = true
	}
	for _, d := range s.Deployments {
		e.add("Deployment", d.ObjectMeta, &d.Spec.Template, d.Spec.Replicas, "spec.replicas")
	}
	for _, st := range s.StatefulSets {
		e.add("StatefulSet", st.ObjectMeta, &st.Spec.Template, st.Spec.Replicas, "spec.replicas")
	}
	for _, rs := range s.ReplicaSets {
		e.add("ReplicaSet", rs.ObjectMeta, &rs.Spec.Template, rs.Spec.Replicas, "spec.replicas")
	}
	for _, j := range s.Jobs {
		if j.Spec.Suspend != nil && *j.Spec.Suspend {
			continue // a suspended Job runs no pod until resumed
		}
		// It runs its parallelism at once (1 when unset), no more than its completions.
		n, field := j.Spec.Parallelism, "spec.parallelism"
		if c := j.Spec.Completions; c != nil && *c < ptr.Deref(n, 1) {
			n, field = c, "spec.completions"
		}
		e.add("Job", j.ObjectMeta, &j.Spec.Template, n, field)
	}
	for _, p := range s.Pods {
		p := *p.DeepCopy() // admission defaults its requests; the snapshot stays as read
		if err := admitPodSpec(&p.Spec); err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s %s/%s: %w", "Pod", p.Namespace, p.Name, err))
			continue
		}
		if p.Spec.NodeName == "" {
			p.Status = unschedulable()
		}
		e.pods = append(e.pods, p)
	}
	return e.pods, errors.Join(e.errs...)
}

// expansion is Pods' work in progress: the pods made, the names taken and the errors found.
type expansion struct {
	pods  []corev1.Pod
	taken map[string]bool
	errs  []error
}

// add makes n pods of a workload's template (1 when n is unset, as the API server defaults
// replicas and parallelism); field names n in the workload for errors.
func (e *expansion) add(kind string, owner metav1.ObjectMeta, t *corev1.PodTemplateSpec, n *int32, field string) {
	count := 1
	if n != nil {
		count = int(*n)
	}
	switch {
	case count < 0:
		e.errs = append(e.errs, fmt.Errorf("%s %s/%s: %s is %d: it must be 0 or more", kind, owner.Namespace, owner.Name, field, count))
		return
	case len(e.pods)+count > MaxPods:
		e.errs = append(e.errs, fmt.Errorf("%s %s/%s: %s is %d: a dry run plans at most %d pods in all; lower it", kind, owner.Namespace, owner.Name, field, count, MaxPods))
		return
	}
	t = t.DeepCopy() // admission defaults its requests; the workload stays as read
	if err := admitPodSpec(&t.Spec); err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s %s/%s: spec.template.%w", kind, owner.Namespace, owner.Name, err))
		return
	}
	for i := range count {
		e.pods = append(e.pods, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: e.name(owner, i), Namespace: owner.Namespace,
				Labels: t.Labels, Annotations: t.Annotations,
			},
			Spec:   *t.Spec.DeepCopy(), // each its own: the planner may change a pod's spec
			Status: unschedulable(),
		})
	}
}

// name is the i-th replica's name, <workload>-<i>, with a suffix when that is taken.
func (e *expansion) name(owner metav1.ObjectMeta, i int) string {
	base := owner.Name + "-" + strconv.Itoa(i)
	name := base
	for n := 2; e.taken[owner.Namespace+"/"+name]; n++ {
		name = base + "-" + strconv.Itoa(n)
	}
	e.taken[owner.Namespace+"/"+name] = true
	return name
}

// admitPodSpec does to a pod spec what the API server does on admission, as far as the planner
// reads it: it refuses no containers and negative requests or limits (naming the first it
// finds), and a limit without a request becomes the request too, for containers and for the
// pod's own resources.
func admitPodSpec(spec *corev1.PodSpec) error {
	if len(spec.Containers) == 0 {
		return errors.New("spec.containers is empty: a pod needs at least one container")
	}
	check := func(field string, list corev1.ResourceList) error {
		for _, name := range slices.Sorted(maps.Keys(list)) {
			if q := list[name]; q.Sign() < 0 {
				return fmt.Errorf("%s.%s is %s: it must not be negative", field, name, q.String())
			}
		}
		return nil
	}
	for _, group := range []struct {
		field      string
		containers []corev1.Container
	}{{"containers", spec.Containers}, {"initContainers", spec.InitContainers}} {
		for i := range group.containers {
			r := &group.containers[i].Resources
			prefix := fmt.Sprintf("spec.%s[%d].resources", group.field, i)
			if err := cmp.Or(check(prefix+".requests", r.Requests), check(prefix+".limits", r.Limits)); err != nil {
				return err
			}
			r.Requests = requestsDefaulted(r.Requests, r.Limits)
		}
	}
	if r := spec.Resources; r != nil {
		if err := cmp.Or(check("spec.resources.requests", r.Requests), check("spec.resources.limits", r.Limits)); err != nil {
			return err
		}
		r.Requests = requestsDefaulted(r.Requests, r.Limits)
	}
	return check("spec.overhead", spec.Overhead)
}

// requestsDefaulted is requests with each limit that has no request as its request, as the
// API server defaults them; requests itself is not changed.
func requestsDefaulted(requests, limits corev1.ResourceList) corev1.ResourceList {
	var out corev1.ResourceList
	for name, q := range limits {
		if _, ok := requests[name]; ok {
			continue
		}
		if out == nil {
			out = requests.DeepCopy()
			if out == nil {
				out = corev1.ResourceList{}
			}
		}
		out[name] = q.DeepCopy()
	}
	if out == nil {
		return requests
	}
	return out
}

// unschedulable is the status the kube-scheduler gives a pod no node can take.
func unschedulable() corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
	}}}
}
