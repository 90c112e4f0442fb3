package advise

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
)

// podRequests: Nodewright sizes nodes and consolidates from requests, so a container without
// them is packed as if it used nothing and its node runs out.
func podRequests(v *view) []Finding {
	var out []Finding
	for _, w := range v.workloads() {
		var gaps []string
		spec := w.admitted()
		for _, c := range runningContainers(spec) {
			var missing []string
			for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				// A pod-level request (spec.resources) covers every container's share.
				if _, ok := podLevelRequest(spec, name); ok {
					continue
				}
				if _, ok := request(c, name); !ok {
					missing = append(missing, string(name))
				}
			}
			if len(missing) > 0 {
				gaps = append(gaps, fmt.Sprintf("container %s requests no %s", c.Name, strings.Join(missing, " or ")))
			}
		}
		if len(gaps) > 0 {
			out = append(out, Finding{
				Objects: []Ref{w.ref},
				Message: strings.Join(gaps, "; "),
				Fix: "set resources.requests.cpu and resources.requests.memory on every container (or spec.resources.requests for the whole pod) to what it uses at its busiest; " +
					"Nodewright chooses and consolidates nodes by requests, so a pod without them lands on a node with no room for it",
			})
		}
	}
	return out
}

// memoryLimitEqualsRequest: consolidation packs pods by their requests; a pod that may use
// more memory than it requests is OOM-killed or evicted once its neighbours do the same.
func memoryLimitEqualsRequest(v *view) []Finding {
	var out []Finding
	for _, w := range v.workloads() {
		if w.ref.Kind == "DaemonSet" {
			continue // never moved by consolidation
		}
		pools := v.consolidatingPoolsOf(w)
		if len(pools) == 0 {
			continue
		}
		gaps := memoryGaps(w.admitted())
		if len(gaps) > 0 {
			refs := []Ref{w.ref}
			for _, p := range pools {
				refs = append(refs, poolRef(p))
			}
			out = append(out, Finding{
				Objects: refs,
				Message: strings.Join(gaps, "; ") + "; its NodePool consolidates underutilized nodes",
				Fix: "set resources.limits.memory equal to resources.requests.memory: consolidation packs nodes by requests, " +
					"so memory used above the request is what the node lacks when it is full (OOM kills, evictions)",
			})
		}
	}
	return out
}

func consolidatesUnderutilized(p *apisv1.NodePool) bool {
	return p.Spec.Replicas == nil && !p.Spec.Disruption.ConsolidateAfter.Never &&
		p.ConsolidationPolicy() == apisv1.ConsolidationPolicyWhenEmptyOrUnderutilized
}

// doNotDisruptForever: karpenter.sh/do-not-disrupt=true keeps a node from consolidation and
// drift for as long as the pod runs; on a pod that never finishes that is forever.
func doNotDisruptForever(v *view) []Finding {
	var out []Finding
	for _, w := range v.workloads() {
		if w.ends {
			continue
		}
		refs := []Ref{w.ref}
		if !protectsForever(w.annotations) {
			refs = refs[:0]
			for _, p := range w.pods {
				if protectsForever(p.Annotations) {
					refs = append(refs, podRef(p))
				}
			}
		}
		if len(refs) == 0 {
			continue
		}
		out = append(out, Finding{
			Objects: refs,
			Message: fmt.Sprintf("annotated %s=true and never finishes, so its node is never consolidated or drifted", apisv1.AnnotationDoNotDisrupt),
			Fix: fmt.Sprintf("remove the annotation and protect the workload with a PodDisruptionBudget, or give it an end: %s: \"30m\" "+
				"protects a pod for 30 minutes after it starts", apisv1.AnnotationDoNotDisrupt),
		})
	}
	return out
}

// protectsForever reads the annotation as the disruption engine does (apisv1.DoNotDisrupt):
// "True" and "1" protect for good, and so does a value it cannot read; a duration ends.
func protectsForever(annotations map[string]string) bool {
	v, ok := annotations[apisv1.AnnotationDoNotDisrupt]
	if !ok {
		return false
	}
	forever, _ := apisv1.DoNotDisrupt(v)
	return forever
}

// workerOnManagedNode: a worker on a node it manages can consolidate, expire or drain the
// node it runs on, and with it the controller that should replace it.
func workerOnManagedNode(v *view) []Finding {
	var out []Finding
	name := v.cfg.workerName()
	for _, w := range v.all {
		if w.labels[LabelAppName] != name {
			continue
		}
		for _, p := range w.pods {
			if pool := v.managedBy(p); pool != "" {
				out = append(out, Finding{
					Objects: []Ref{podRef(p), {Kind: "Node", Name: p.Spec.NodeName}, {Kind: apisv1.KindNodePool, Name: pool}},
					Message: fmt.Sprintf("the worker runs on node %s of NodePool %s, which it manages and may remove", p.Spec.NodeName, pool),
					Fix:     "run the worker on a managed node group or Fargate; the chart adds karpenter.sh/nodepool DoesNotExist to its node affinity, then delete this pod so it is rescheduled",
				})
			}
		}
		if w.replicated && !v.keepsOffManagedNodes(w.spec) {
			out = append(out, Finding{
				Objects: []Ref{w.ref},
				Message: "the worker's pod template lets it be scheduled onto nodes it manages",
				Fix: fmt.Sprintf("require node affinity %s DoesNotExist in every nodeSelectorTerms entry "+
					"(the chart's affinity does), or pin the pod template to a managed node group (nodeSelector %s) or to Fargate, "+
					"so the worker only runs on nodes no NodePool manages", apisv1.LabelNodePool, labelEKSNodeGroup),
			})
		}
	}
	return out
}

// runningContainers are the containers that run alongside each other: the main ones and the
// sidecars (restartable init containers).
func runningContainers(spec *corev1.PodSpec) []corev1.Container {
	out := slices.Clone(spec.Containers)
	for _, c := range spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out, c)
		}
	}
	return out
}

// request is a container's request for a resource; the API server fills a missing request in
// from the limit, and a manifest read from a file is judged as it will be stored.
func request(c corev1.Container, name corev1.ResourceName) (resource.Quantity, bool) {
	if q, ok := c.Resources.Requests[name]; ok {
		return q, true
	}
	q, ok := c.Resources.Limits[name]
	return q, ok
}

// podLevelRequest is the pod-level request (spec.resources) for a resource, filled in from
// the pod-level limit as the API server does.
func podLevelRequest(spec *corev1.PodSpec, name corev1.ResourceName) (resource.Quantity, bool) {
	if spec.Resources == nil {
		return resource.Quantity{}, false
	}
	return request(corev1.Container{Resources: *spec.Resources}, name)
}

// memoryGaps says where a pod's memory limit differs from its request: for the pod as a
// whole when it has a pod-level request, else per container.
func memoryGaps(spec *corev1.PodSpec) []string {
	if req, ok := podLevelRequest(spec, corev1.ResourceMemory); ok {
		// The pod's limit is the pod-level one, else its containers' sum when each has one.
		limit, hasLimit := spec.Resources.Limits[corev1.ResourceMemory]
		if !hasLimit {
			hasLimit = true
			for _, c := range runningContainers(spec) {
				l, ok := c.Resources.Limits[corev1.ResourceMemory]
				hasLimit = hasLimit && ok
				limit.Add(l)
			}
		}
		return memoryGap("the pod (spec.resources)", req, limit, hasLimit)
	}
	var gaps []string
	for _, c := range runningContainers(spec) {
		if req, ok := request(c, corev1.ResourceMemory); ok { // else pod-requests reports it
			limit, hasLimit := c.Resources.Limits[corev1.ResourceMemory]
			gaps = append(gaps, memoryGap("container "+c.Name, req, limit, hasLimit)...)
		}
	}
	return gaps
}

func memoryGap(who string, req, limit resource.Quantity, hasLimit bool) []string {
	switch {
	case !hasLimit:
		return []string{fmt.Sprintf("%s requests %s of memory and has no limit", who, req.String())}
	case limit.Cmp(req) != 0:
		return []string{fmt.Sprintf("%s requests %s of memory, limit %s", who, req.String(), limit.String())}
	}
	return nil
}
