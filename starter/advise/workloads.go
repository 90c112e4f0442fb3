package advise

import (
	"cmp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// workload is what pod rules judge once rather than per replica: a Deployment or StatefulSet
// by its pod template, else the owner its pods share (a Job, a DaemonSet, a ReplicaSet
// without its Deployment) or a bare pod, by the first of its pods.
type workload struct {
	ref         Ref
	labels      map[string]string // of the pods
	annotations map[string]string // of the pods
	spec        *corev1.PodSpec
	pods        []*corev1.Pod // the snapshot's live pods of it, by name
	replicas    int32         // Deployments and StatefulSets: spec.replicas, 1 when unset
	replicated  bool          // a Deployment or StatefulSet, which a PDB should cover
	ends        bool          // its pods run to completion (a Job's, restartPolicy Never or OnFailure)
}

// workloads groups the snapshot's running and pending pods under their workload, after the
// Deployments and StatefulSets, in a fixed order.
func workloads(s *Snapshot) []*workload {
	byRef := map[Ref]*workload{}
	var out []*workload
	add := func(w *workload) *workload {
		if have, ok := byRef[w.ref]; ok {
			return have
		}
		byRef[w.ref] = w
		out = append(out, w)
		return w
	}
	for i := range s.Deployments {
		d := &s.Deployments[i]
		add(fromTemplate(Ref{Kind: "Deployment", Namespace: d.Namespace, Name: d.Name}, &d.Spec.Template, d.Spec.Replicas))
	}
	for i := range s.StatefulSets {
		st := &s.StatefulSets[i]
		add(fromTemplate(Ref{Kind: "StatefulSet", Namespace: st.Namespace, Name: st.Name}, &st.Spec.Template, st.Spec.Replicas))
	}
	pods := livePods(s.Pods)
	for _, p := range pods {
		ref := ownerOf(p)
		w, ok := byRef[ref]
		if !ok {
			// A pod the kubelet does not restart once it succeeds ends, Job or not.
			ends := ref.Kind == "Job" || p.Spec.RestartPolicy == corev1.RestartPolicyNever || p.Spec.RestartPolicy == corev1.RestartPolicyOnFailure
			w = add(&workload{ref: ref, labels: p.Labels, annotations: p.Annotations, spec: &p.Spec, ends: ends})
		}
		w.pods = append(w.pods, p)
	}
	slices.SortFunc(out, func(a, b *workload) int { return compareRefs(a.ref, b.ref) })
	return out
}

// admitted is the pod spec as the API server stores it: a live pod's when the workload has
// one, since a LimitRange fills in requests and limits the template leaves out, else the
// template's.
func (w *workload) admitted() *corev1.PodSpec {
	if len(w.pods) > 0 {
		return &w.pods[0].Spec
	}
	return w.spec
}

func fromTemplate(ref Ref, t *corev1.PodTemplateSpec, replicas *int32) *workload {
	n := int32(1)
	if replicas != nil {
		n = *replicas
	}
	return &workload{ref: ref, labels: t.Labels, annotations: t.Annotations, spec: &t.Spec, replicas: n, replicated: true}
}

// livePods are the pods not finished, by namespace and name.
func livePods(pods []corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range pods {
		if ph := pods[i].Status.Phase; ph != corev1.PodSucceeded && ph != corev1.PodFailed {
			out = append(out, &pods[i])
		}
	}
	slices.SortFunc(out, func(a, b *corev1.Pod) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// ownerOf names the workload a pod belongs to: a ReplicaSet's pods belong to the Deployment
// whose name the ReplicaSet's is (Deployment name, "-", pod-template-hash); a pod with no
// controller is its own workload.
func ownerOf(p *corev1.Pod) Ref {
	owner := metav1.GetControllerOf(p)
	if owner == nil {
		return Ref{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}
	}
	if owner.Kind == "ReplicaSet" {
		if hash := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; hash != "" {
			if name, ok := strings.CutSuffix(owner.Name, "-"+hash); ok {
				return Ref{Kind: "Deployment", Namespace: p.Namespace, Name: name}
			}
		}
	}
	return Ref{Kind: owner.Kind, Namespace: p.Namespace, Name: owner.Name}
}
