package advise

import (
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// Builders for tests: every builder makes an object that follows every practice, and options
// break one: pool("a", spot(), withoutLimits()), deployment("shop", "web", 3, noRequests()).

var catalogTypes = sync.OnceValues(func() ([]schedulerengine.InstanceType, error) {
	types, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	return catalog.InstanceTypes(types, []string{"us-east-1a", "us-east-1b"}), nil
})

func config(t *testing.T) Config {
	t.Helper()
	types, err := catalogTypes()
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	return Config{InstanceTypes: types}
}

type poolOption func(*apisv1.NodePool)

// pool is an on-demand pool of the c, m and r families with limits and a budget.
func pool(name string, opts ...poolOption) apisv1.NodePool {
	p := apisv1.NodePool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: apisv1.NodePoolSpec{
			Template: apisv1.NodeClaimTemplate{Spec: apisv1.NodeClaimTemplateSpec{
				Requirements: []apisv1.NodeSelectorRequirementWithMinValues{
					{Key: apisv1.LabelCapacityType, Operator: corev1.NodeSelectorOpIn, Values: []string{apisv1.CapacityTypeOnDemand}},
					{Key: catalog.LabelInstanceCategory, Operator: corev1.NodeSelectorOpIn, Values: []string{"c", "m", "r"}},
				},
				NodeClassRef: &apisv1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"},
			}},
			Disruption: apisv1.Disruption{
				ConsolidationPolicy: apisv1.ConsolidationPolicyWhenEmptyOrUnderutilized,
				ConsolidateAfter:    apisv1.DurationOf(0),
				Budgets:             []apisv1.Budget{{Nodes: "10%"}},
			},
			Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1000")},
		},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func weight(w int32) poolOption { return func(p *apisv1.NodePool) { p.Spec.Weight = &w } }

// require replaces the pool's requirement on key (or adds one).
func require(key string, op corev1.NodeSelectorOperator, values ...string) poolOption {
	return func(p *apisv1.NodePool) {
		reqs := p.Spec.Template.Spec.Requirements[:0:0]
		for _, r := range p.Spec.Template.Spec.Requirements {
			if r.Key != key {
				reqs = append(reqs, r)
			}
		}
		p.Spec.Template.Spec.Requirements = append(reqs, apisv1.NodeSelectorRequirementWithMinValues{Key: key, Operator: op, Values: values})
	}
}

func spot() poolOption {
	return require(apisv1.LabelCapacityType, corev1.NodeSelectorOpIn, apisv1.CapacityTypeSpot)
}

func withoutLimits() poolOption { return func(p *apisv1.NodePool) { p.Spec.Limits = nil } }

// costCapped sets the pool's nodewright.io/max-hourly-cost.
func costCapped(dollars string) poolOption {
	return func(p *apisv1.NodePool) {
		p.Annotations = map[string]string{apisv1.AnnotationMaxHourlyCost: dollars}
	}
}

func withoutBudgets() poolOption { return func(p *apisv1.NodePool) { p.Spec.Disruption.Budgets = nil } }

func expireNever() poolOption {
	return func(p *apisv1.NodePool) { p.Spec.Template.Spec.ExpireAfter = apisv1.Never }
}

func whenEmpty() poolOption {
	return func(p *apisv1.NodePool) {
		p.Spec.Disruption.ConsolidationPolicy = apisv1.ConsolidationPolicyWhenEmpty
	}
}

type podOption func(*corev1.PodTemplateSpec)

// template is a pod template asking for 100m CPU and 128Mi of memory, limited to that memory.
func template(app string, opts ...podOption) corev1.PodTemplateSpec {
	t := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
		}}}},
	}
	for _, o := range opts {
		o(&t)
	}
	return t
}

func noRequests() podOption {
	return func(t *corev1.PodTemplateSpec) { t.Spec.Containers[0].Resources = corev1.ResourceRequirements{} }
}

// limitsOnly sets limits and no requests, which the API server copies into requests.
func limitsOnly() podOption {
	return func(t *corev1.PodTemplateSpec) {
		r := &t.Spec.Containers[0].Resources
		r.Limits = r.Requests
		r.Requests = nil
	}
}

func memoryLimit(q string) podOption {
	return func(t *corev1.PodTemplateSpec) {
		t.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse(q)
	}
}

func annotated(key, value string) podOption {
	return func(t *corev1.PodTemplateSpec) {
		if t.Annotations == nil {
			t.Annotations = map[string]string{}
		}
		t.Annotations[key] = value
	}
}

func labelled(key, value string) podOption {
	return func(t *corev1.PodTemplateSpec) { t.Labels[key] = value }
}

func pinnedTo(pool string) podOption {
	return func(t *corev1.PodTemplateSpec) { t.Spec.NodeSelector = map[string]string{apisv1.LabelNodePool: pool} }
}

// offManagedNodes adds the chart's node affinity: no node a NodePool manages.
func offManagedNodes() podOption {
	return func(t *corev1.PodTemplateSpec) {
		t.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: apisv1.LabelNodePool, Operator: corev1.NodeSelectorOpDoesNotExist},
			}}},
		}}}
	}
}

func deployment(ns, name string, replicas int32, opts ...podOption) appsv1.Deployment {
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: template(name, opts...),
		},
	}
}

// podOf is a running pod of a Deployment's ReplicaSet, or of another controller kind, on a
// node ("" for pending).
func podOf(kind, ns, owner, name, node string, opts ...podOption) corev1.Pod {
	t := template(owner, opts...)
	p := corev1.Pod{ObjectMeta: t.ObjectMeta, Spec: t.Spec, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	p.Namespace, p.Name, p.Spec.NodeName = ns, name, node
	ownerName := owner
	if kind == "Deployment" {
		kind, ownerName = "ReplicaSet", owner+"-7d9f"
		p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "7d9f"
	}
	if kind != "" {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: ownerName, Controller: ptr.To(true)}}
	}
	return p
}

func node(name, pool string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if pool != "" {
		n.Labels[apisv1.LabelNodePool] = pool
	}
	return n
}

func pdb(ns, app string, maxUnavailable, minAvailable *intstr.IntOrString) policyv1.PodDisruptionBudget {
	return policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app},
		Spec: policyv1.PodDisruptionBudgetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			MaxUnavailable: maxUnavailable,
			MinAvailable:   minAvailable,
		},
	}
}

func count(n int) *intstr.IntOrString { return ptr.To(intstr.FromInt32(int32(n))) }

func percent(s string) *intstr.IntOrString { return ptr.To(intstr.FromString(s)) }
