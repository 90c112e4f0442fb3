package schedulerengine

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Builders for tests: pod(withCPU("2"), withSelector(k, v)), nodePool("a", withWeight(10)).

type podOption func(*corev1.Pod)

func pod(opts ...podOption) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pod"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{}}}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withName(name string) podOption { return func(p *corev1.Pod) { p.Name = name } }

func withCPU(q string) podOption { return withRequest(corev1.ResourceCPU, q) }

func withMemory(q string) podOption { return withRequest(corev1.ResourceMemory, q) }

func withRequest(name corev1.ResourceName, q string) podOption {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests[name] = resource.MustParse(q) }
}

func withInitContainer(cpu string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{
			Name:      "init" + strconv.Itoa(len(p.Spec.InitContainers)),
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}},
		})
	}
}

func withSidecar(cpu string) podOption {
	always := corev1.ContainerRestartPolicyAlways
	return func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{
			Name:          "sidecar" + strconv.Itoa(len(p.Spec.InitContainers)),
			RestartPolicy: &always,
			Resources:     corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}},
		})
	}
}

func withOverhead(cpu string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
}

func withSelector(key, value string) podOption {
	return func(p *corev1.Pod) {
		if p.Spec.NodeSelector == nil {
			p.Spec.NodeSelector = map[string]string{}
		}
		p.Spec.NodeSelector[key] = value
	}
}

// withAffinity adds one required node affinity term (terms are ORed) of the given expressions.
func withAffinity(exprs ...corev1.NodeSelectorRequirement) podOption {
	return func(p *corev1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &corev1.Affinity{}
		}
		if p.Spec.Affinity.NodeAffinity == nil {
			p.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}
		}
		ns := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		ns.NodeSelectorTerms = append(ns.NodeSelectorTerms, corev1.NodeSelectorTerm{MatchExpressions: exprs})
	}
}

func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func withToleration(key, value string, effect corev1.TaintEffect) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpEqual, Value: value, Effect: effect})
	}
}

type poolOption func(*v1.NodePool)

func nodePool(name string, opts ...poolOption) v1.NodePool {
	p := v1.NodePool{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func withWeight(w int32) poolOption { return func(p *v1.NodePool) { p.Spec.Weight = &w } }

func withPoolRequirement(key string, op corev1.NodeSelectorOperator, values ...string) poolOption {
	return func(p *v1.NodePool) {
		p.Spec.Template.Spec.Requirements = append(p.Spec.Template.Spec.Requirements,
			v1.NodeSelectorRequirementWithMinValues{Key: key, Operator: op, Values: values})
	}
}

func withPoolLabel(key, value string) poolOption {
	return func(p *v1.NodePool) {
		if p.Spec.Template.ObjectMeta.Labels == nil {
			p.Spec.Template.ObjectMeta.Labels = map[string]string{}
		}
		p.Spec.Template.ObjectMeta.Labels[key] = value
	}
}

func withPoolTaint(key, value string, effect corev1.TaintEffect) poolOption {
	return func(p *v1.NodePool) {
		p.Spec.Template.Spec.Taints = append(p.Spec.Template.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func withAnnotation(key, value string) poolOption {
	return func(p *v1.NodePool) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[key] = value
	}
}

func withLimit(name corev1.ResourceName, q string) poolOption {
	return func(p *v1.NodePool) {
		if p.Spec.Limits == nil {
			p.Spec.Limits = corev1.ResourceList{}
		}
		p.Spec.Limits[name] = resource.MustParse(q)
	}
}

const (
	zoneA     = "test-1a"
	zoneB     = "test-1b"
	gpuLabel  = "karpenter.k8s.aws/instance-gpu-count"
	cpuLabel  = "karpenter.k8s.aws/instance-cpu"
	nvidiaGPU = corev1.ResourceName("nvidia.com/gpu")
)

// instanceType builds a type sold on-demand in zones a and b at price, and as spot at a third
// of it. Allocatable equals capacity to keep the arithmetic in tests obvious.
func instanceType(name, arch string, cpu, memory string, pods int64, price float64, extra ...corev1.ResourceName) InstanceType {
	rl := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(memory),
		corev1.ResourcePods:   *resource.NewQuantity(pods, resource.DecimalSI),
	}
	labels := map[string]string{v1.LabelInstanceType: name, v1.LabelArch: arch, v1.LabelOS: "linux", cpuLabel: rl.Cpu().String()}
	for _, e := range extra {
		rl[e] = resource.MustParse("1")
		labels[gpuLabel] = "1"
	}
	var offerings []Offering
	for _, z := range []string{zoneA, zoneB} {
		offerings = append(offerings,
			Offering{Zone: z, CapacityType: v1.CapacityTypeOnDemand, PricePerHour: price, Available: true},
			Offering{Zone: z, CapacityType: v1.CapacityTypeSpot, PricePerHour: price / 3, Available: true})
	}
	return InstanceType{Name: name, Labels: labels, Capacity: rl, Allocatable: rl.DeepCopy(), Offerings: offerings}
}

// smallCatalog: two amd64 sizes, one cheaper arm64 size, one GPU type.
func smallCatalog() []InstanceType {
	return []InstanceType{
		instanceType("small.amd", "amd64", "2", "4Gi", 10, 0.10),
		instanceType("large.amd", "amd64", "8", "32Gi", 50, 0.40),
		instanceType("small.arm", "arm64", "2", "4Gi", 10, 0.08),
		instanceType("gpu.amd", "amd64", "8", "32Gi", 50, 2.00, nvidiaGPU),
	}
}

func existingNode(name string, cpu string, labels map[string]string, taints ...corev1.Taint) ExistingNode {
	return ExistingNode{
		Name:   name,
		Labels: labels,
		Taints: taints,
		Available: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(cpu),
			corev1.ResourceMemory: resource.MustParse("16Gi"),
			corev1.ResourcePods:   resource.MustParse("20"),
		},
	}
}

func withNamespace(ns string) podOption { return func(p *corev1.Pod) { p.Namespace = ns } }

func withLabels(kv ...string) podOption {
	return func(p *corev1.Pod) {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

// selector builds a label selector from key, value pairs.
func selector(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

type spreadOption func(*corev1.TopologySpreadConstraint)

func withSpread(key string, maxSkew int32, sel *metav1.LabelSelector, opts ...spreadOption) podOption {
	return func(p *corev1.Pod) {
		sc := corev1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: sel}
		for _, o := range opts {
			o(&sc)
		}
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, sc)
	}
}

func minDomains(n int32) spreadOption {
	return func(sc *corev1.TopologySpreadConstraint) { sc.MinDomains = &n }
}

func nodeAffinityPolicy(policy corev1.NodeInclusionPolicy) spreadOption {
	return func(sc *corev1.TopologySpreadConstraint) { sc.NodeAffinityPolicy = &policy }
}

func nodeTaintsPolicy(policy corev1.NodeInclusionPolicy) spreadOption {
	return func(sc *corev1.TopologySpreadConstraint) { sc.NodeTaintsPolicy = &policy }
}

func matchLabelKeys(keys ...string) spreadOption {
	return func(sc *corev1.TopologySpreadConstraint) { sc.MatchLabelKeys = keys }
}

func scheduleAnyway() spreadOption {
	return func(sc *corev1.TopologySpreadConstraint) { sc.WhenUnsatisfiable = corev1.ScheduleAnyway }
}

type termOption func(*corev1.PodAffinityTerm)

func inNamespaces(ns ...string) termOption {
	return func(t *corev1.PodAffinityTerm) { t.Namespaces = ns }
}

func namespaceSelector(sel *metav1.LabelSelector) termOption {
	return func(t *corev1.PodAffinityTerm) { t.NamespaceSelector = sel }
}

func podAffinityTerm(key string, sel *metav1.LabelSelector, opts ...termOption) corev1.PodAffinityTerm {
	t := corev1.PodAffinityTerm{TopologyKey: key, LabelSelector: sel}
	for _, o := range opts {
		o(&t)
	}
	return t
}

func ensureAffinity(p *corev1.Pod) *corev1.Affinity {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &corev1.Affinity{}
	}
	return p.Spec.Affinity
}

func withPodAffinity(key string, sel *metav1.LabelSelector, opts ...termOption) podOption {
	return func(p *corev1.Pod) {
		a := ensureAffinity(p)
		if a.PodAffinity == nil {
			a.PodAffinity = &corev1.PodAffinity{}
		}
		a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, podAffinityTerm(key, sel, opts...))
	}
}

func withAntiAffinity(key string, sel *metav1.LabelSelector, opts ...termOption) podOption {
	return func(p *corev1.Pod) {
		a := ensureAffinity(p)
		if a.PodAntiAffinity == nil {
			a.PodAntiAffinity = &corev1.PodAntiAffinity{}
		}
		a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, podAffinityTerm(key, sel, opts...))
	}
}

func withPreferredPodAffinity(weight int32, key string, sel *metav1.LabelSelector) podOption {
	return func(p *corev1.Pod) {
		a := ensureAffinity(p)
		if a.PodAffinity == nil {
			a.PodAffinity = &corev1.PodAffinity{}
		}
		a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
			corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: podAffinityTerm(key, sel)})
	}
}

func withPreferredAntiAffinity(weight int32, key string, sel *metav1.LabelSelector) podOption {
	return func(p *corev1.Pod) {
		a := ensureAffinity(p)
		if a.PodAntiAffinity == nil {
			a.PodAntiAffinity = &corev1.PodAntiAffinity{}
		}
		a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
			corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: podAffinityTerm(key, sel)})
	}
}

func withPreferredNodeAffinity(weight int32, exprs ...corev1.NodeSelectorRequirement) podOption {
	return func(p *corev1.Pod) {
		a := ensureAffinity(p)
		if a.NodeAffinity == nil {
			a.NodeAffinity = &corev1.NodeAffinity{}
		}
		a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
			corev1.PreferredSchedulingTerm{Weight: weight, Preference: corev1.NodeSelectorTerm{MatchExpressions: exprs}})
	}
}

func withHostPort(port int32, protocol corev1.Protocol) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: port, HostPort: port, Protocol: protocol})
	}
}

// existingNodeWith is existingNode in zone, hostname its name, running pods.
func existingNodeWith(name, zone string, pods ...*corev1.Pod) ExistingNode {
	n := existingNode(name, "4", map[string]string{v1.LabelArch: "amd64", v1.LabelZone: zone, v1.LabelHostname: name})
	n.Pods = pods
	return n
}
