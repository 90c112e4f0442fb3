package advise

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
)

// edgeRuleCases are cases a reviewer found misjudged: pod-level resources, placement by
// affinity and taints, pools that allow no type, and the worker pinned off managed nodes.
func edgeRuleCases() []ruleCase {
	general, batch := pool("general"), pool("batch", whenEmpty())
	pools := []apisv1.NodePool{general, batch}
	withLimit := memoryLimit("512Mi")
	web := func(opts ...podOption) []appsv1.Deployment {
		return []appsv1.Deployment{deployment("shop", "web", 1, append([]podOption{withLimit}, opts...)...)}
	}
	nodewright := func(opts ...podOption) []appsv1.Deployment {
		return []appsv1.Deployment{deployment("kube-system", "nodewright", 1, append([]podOption{worker()}, opts...)...)}
	}
	typo := require(apisv1.LabelInstanceType, corev1.NodeSelectorOpIn, "m5.larg")
	cases := []ruleCase{
		{"pod-requests", "pod-level requests of cpu and memory, containers without",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 1, noRequests(), podLevel("100m", "128Mi", ""))},
				Pods: []corev1.Pod{podOf("", "shop", "debug", "debug", "", noRequests(), podLevel("100m", "128Mi", ""))}},
			nil},
		{"pod-requests", "a pod-level cpu request only, containers without",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 1, noRequests(), podLevel("100m", "", ""))}},
			[]string{"Deployment shop/web"}},

		{"memory-limit-equals-request", "required affinity on a pool that consolidates only empty nodes",
			Snapshot{NodePools: pools, Deployments: web(nodeAffinity(apisv1.LabelNodePool, corev1.NodeSelectorOpIn, "batch"))}, nil},
		{"memory-limit-equals-request", "required affinity In both pools names the consolidating one",
			Snapshot{NodePools: pools, Deployments: web(nodeAffinity(apisv1.LabelNodePool, corev1.NodeSelectorOpIn, "batch", "general"))},
			[]string{"Deployment shop/web, NodePool general"}},
		{"memory-limit-equals-request", "required affinity NotIn the quiet pool",
			Snapshot{NodePools: pools, Deployments: web(nodeAffinity(apisv1.LabelNodePool, corev1.NodeSelectorOpNotIn, "batch"))},
			[]string{"Deployment shop/web, NodePool general"}},
		{"memory-limit-equals-request", "required affinity Exists",
			Snapshot{NodePools: pools, Deployments: web(nodeAffinity(apisv1.LabelNodePool, corev1.NodeSelectorOpExists))},
			[]string{"Deployment shop/web, NodePool general"}},
		{"memory-limit-equals-request", "required affinity DoesNotExist: no pool",
			Snapshot{NodePools: pools, Deployments: web(nodeAffinity(apisv1.LabelNodePool, corev1.NodeSelectorOpDoesNotExist))}, nil},
		{"memory-limit-equals-request", "any of two terms admitting the pool is enough",
			Snapshot{NodePools: pools, Deployments: web(nodeAffinity(apisv1.LabelNodePool, corev1.NodeSelectorOpIn, "batch"),
				nodeAffinity(apisv1.LabelNodePool, corev1.NodeSelectorOpIn, "general"))},
			[]string{"Deployment shop/web, NodePool general"}},
		{"memory-limit-equals-request", "a consolidating pool whose taint the pod does not tolerate",
			Snapshot{NodePools: []apisv1.NodePool{pool("general", tainted("gpu", corev1.TaintEffectNoSchedule)), batch}, Deployments: web()}, nil},
		{"memory-limit-equals-request", "a consolidating pool whose taint the pod tolerates",
			Snapshot{NodePools: []apisv1.NodePool{pool("general", tainted("gpu", corev1.TaintEffectNoExecute)), batch}, Deployments: web(tolerating("gpu"))},
			[]string{"Deployment shop/web, NodePool general"}},
		{"memory-limit-equals-request", "a pod-level memory limit above the pod-level request",
			Snapshot{NodePools: pools, Deployments: []appsv1.Deployment{deployment("shop", "web", 1, noRequests(), podLevel("100m", "256Mi", "1Gi"))}},
			[]string{"Deployment shop/web, NodePool general"}},
		{"memory-limit-equals-request", "a pod-level memory limit equal to the request",
			Snapshot{NodePools: pools, Deployments: []appsv1.Deployment{deployment("shop", "web", 1, noRequests(), podLevel("100m", "256Mi", "256Mi"))}}, nil},

		{"nodepool-overlap", "equal weights, but only one pool tainted NoSchedule",
			Snapshot{NodePools: []apisv1.NodePool{pool("a", tainted("gpu", corev1.TaintEffectNoSchedule)), pool("b")}}, nil},
		{"nodepool-overlap", "equal weights and the same taint",
			Snapshot{NodePools: []apisv1.NodePool{pool("a", tainted("gpu", corev1.TaintEffectNoSchedule)), pool("b", tainted("gpu", corev1.TaintEffectNoSchedule))}},
			[]string{"NodePool a, NodePool b"}},
		{"nodepool-overlap", "a PreferNoSchedule taint does not make pools exclusive",
			Snapshot{NodePools: []apisv1.NodePool{pool("a", tainted("gpu", corev1.TaintEffectPreferNoSchedule)), pool("b")}},
			[]string{"NodePool a, NodePool b"}},

		{"nodepool-no-instance-types", "a misspelt instance type",
			Snapshot{NodePools: []apisv1.NodePool{pool("typo", spot(), typo)}}, []string{"NodePool typo"}},
		{"nodepool-no-instance-types", "a known instance type",
			Snapshot{NodePools: []apisv1.NodePool{pool("named", require(apisv1.LabelInstanceType, corev1.NodeSelectorOpIn, "m5.large"))}}, nil},

		{"spot-expire-never", "a spot pool whose types do not resolve",
			Snapshot{NodePools: []apisv1.NodePool{pool("typo", spot(), typo, expireNever())}}, []string{"NodePool typo"}},
		{"spot-expire-never", "an on-demand pool whose types do not resolve",
			Snapshot{NodePools: []apisv1.NodePool{pool("typo", typo, expireNever())}}, nil},

		{"worker-on-managed-node", "pinned to a managed node group by nodeSelector",
			Snapshot{NodePools: pools, Deployments: nodewright(nodeSelected(labelEKSNodeGroup, "system"))}, nil},
		{"worker-on-managed-node", "pinned to a managed node group by affinity In",
			Snapshot{NodePools: pools, Deployments: nodewright(nodeAffinity(labelEKSNodeGroup, corev1.NodeSelectorOpIn, "system"))}, nil},
		{"worker-on-managed-node", "pinned to any managed node group by affinity Exists",
			Snapshot{NodePools: pools, Deployments: nodewright(nodeAffinity(labelEKSNodeGroup, corev1.NodeSelectorOpExists))}, nil},
		{"worker-on-managed-node", "pinned to Fargate by compute type",
			Snapshot{NodePools: pools, Deployments: nodewright(nodeSelected(labelEKSComputeType, "fargate"))}, nil},
		{"worker-on-managed-node", "scheduled by Fargate",
			Snapshot{NodePools: pools, Deployments: nodewright(func(t *corev1.PodTemplateSpec) { t.Spec.SchedulerName = fargateScheduler })}, nil},
		{"worker-on-managed-node", "affinity NotIn a node group still admits managed nodes",
			Snapshot{NodePools: pools, Deployments: nodewright(nodeAffinity(labelEKSNodeGroup, corev1.NodeSelectorOpNotIn, "system"))},
			[]string{"Deployment kube-system/nodewright"}},
		{"worker-on-managed-node", "a second term that admits managed nodes",
			Snapshot{NodePools: pools, Deployments: nodewright(nodeAffinity(labelEKSNodeGroup, corev1.NodeSelectorOpIn, "system"),
				nodeAffinity(apisv1.LabelArch, corev1.NodeSelectorOpIn, "amd64"))},
			[]string{"Deployment kube-system/nodewright"}},
		{"worker-on-managed-node", "the node-group label put on a pool's nodes",
			Snapshot{NodePools: []apisv1.NodePool{pool("general", func(p *apisv1.NodePool) {
				p.Spec.Template.ObjectMeta.Labels = map[string]string{labelEKSNodeGroup: "system"}
			})}, Deployments: nodewright(nodeSelected(labelEKSNodeGroup, "system"))},
			[]string{"Deployment kube-system/nodewright"}},

		{"do-not-disrupt-forever", "a bare pod that runs to completion (restartPolicy Never)",
			Snapshot{Pods: []corev1.Pod{podOf("", "shop", "migrate", "migrate", "", annotated(apisv1.AnnotationDoNotDisrupt, "true"), restartPolicy(corev1.RestartPolicyNever))}}, nil},
		{"do-not-disrupt-forever", "a bare pod that runs to completion (restartPolicy OnFailure)",
			Snapshot{Pods: []corev1.Pod{podOf("", "shop", "migrate", "migrate", "", annotated(apisv1.AnnotationDoNotDisrupt, "true"), restartPolicy(corev1.RestartPolicyOnFailure))}}, nil},
		{"do-not-disrupt-forever", "a bare pod restarted always",
			Snapshot{Pods: []corev1.Pod{podOf("", "shop", "tool", "tool", "", annotated(apisv1.AnnotationDoNotDisrupt, "true"), restartPolicy(corev1.RestartPolicyAlways))}},
			[]string{"Pod shop/tool"}},
	}
	// The disruption engine reads the annotation with apisv1.DoNotDisrupt: a true bool, or a
	// value neither bool nor duration, protects for good.
	for value, protects := range map[string]bool{"True": true, "TRUE": true, "1": true, "t": true, "false": false, "0": false,
		"": true, "yes": true, "forever": true, "30m": false} {
		var want []string
		if protects {
			want = []string{"Deployment shop/web"}
		}
		cases = append(cases, ruleCase{"do-not-disrupt-forever", "annotated " + value,
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 1, annotated(apisv1.AnnotationDoNotDisrupt, value))}}, want})
	}
	return cases
}

// podLevel sets pod-level resources (spec.resources); "" leaves a quantity out.
func podLevel(cpu, memory, memoryLimit string) podOption {
	return func(t *corev1.PodTemplateSpec) {
		r := &corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
		for name, q := range map[corev1.ResourceName]string{corev1.ResourceCPU: cpu, corev1.ResourceMemory: memory} {
			if q != "" {
				r.Requests[name] = resource.MustParse(q)
			}
		}
		if memoryLimit != "" {
			r.Limits[corev1.ResourceMemory] = resource.MustParse(memoryLimit)
		}
		t.Spec.Resources = r
	}
}

// nodeAffinity adds a required node-affinity term of one expression (terms are ORed).
func nodeAffinity(key string, op corev1.NodeSelectorOperator, values ...string) podOption {
	return func(t *corev1.PodTemplateSpec) {
		if t.Spec.Affinity == nil {
			t.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}
		sel := t.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		sel.NodeSelectorTerms = append(sel.NodeSelectorTerms, corev1.NodeSelectorTerm{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}},
		})
	}
}

func nodeSelected(key, value string) podOption {
	return func(t *corev1.PodTemplateSpec) { t.Spec.NodeSelector = map[string]string{key: value} }
}

func tolerating(key string) podOption {
	return func(t *corev1.PodTemplateSpec) {
		t.Spec.Tolerations = append(t.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists})
	}
}

func restartPolicy(policy corev1.RestartPolicy) podOption {
	return func(t *corev1.PodTemplateSpec) { t.Spec.RestartPolicy = policy }
}

func tainted(key string, effect corev1.TaintEffect) poolOption {
	return func(p *apisv1.NodePool) {
		p.Spec.Template.Spec.Taints = append(p.Spec.Template.Spec.Taints, corev1.Taint{Key: key, Value: "true", Effect: effect})
	}
}
