package conversion

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	awsv1beta1 "github.com/nodewright/nodewright/apis/aws/v1beta1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/apis/v1beta1"
)

// Builders. The objects are what the API server would hold: defaulted, valid.

func pool(opts ...func(*v1.NodePool)) *v1.NodePool {
	p := &v1.NodePool{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1.SchemeGroupVersion.String(), Kind: v1.KindNodePool},
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
	}
	p.Spec.Template.Spec = v1.NodeClaimTemplateSpec{
		Requirements: []v1.NodeSelectorRequirementWithMinValues{{Key: "karpenter.sh/capacity-type", Operator: corev1.NodeSelectorOpIn, Values: []string{"on-demand"}}},
		NodeClassRef: &v1.NodeClassReference{Group: awsv1.Group, Kind: awsv1.KindEC2NodeClass, Name: "default"},
		ExpireAfter:  duration("720h"),
	}
	p.Spec.Disruption = v1.Disruption{
		ConsolidationPolicy: v1.ConsolidationPolicyWhenEmptyOrUnderutilized,
		ConsolidateAfter:    duration("0s"),
		Budgets:             []v1.Budget{{Nodes: "10%"}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withBudgets(b ...v1.Budget) func(*v1.NodePool) {
	return func(p *v1.NodePool) { p.Spec.Disruption.Budgets = b }
}

func withConsolidation(policy v1.ConsolidationPolicy, after string) func(*v1.NodePool) {
	return func(p *v1.NodePool) {
		p.Spec.Disruption.ConsolidationPolicy = policy
		p.Spec.Disruption.ConsolidateAfter = duration(after)
	}
}

func withKubeletAnnotation(k awsv1.KubeletConfiguration) func(*v1.NodePool) {
	return func(p *v1.NodePool) {
		data, err := json.Marshal(k)
		if err != nil {
			panic(err)
		}
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[AnnotationKubelet] = string(data)
	}
}

func budget(nodes string, reasons ...v1.DisruptionReason) v1.Budget {
	return v1.Budget{Nodes: nodes, Reasons: reasons}
}

func scheduledBudget(nodes, schedule string, d time.Duration, reasons ...v1.DisruptionReason) v1.Budget {
	return v1.Budget{Nodes: nodes, Schedule: &schedule, Duration: &metav1.Duration{Duration: d}, Reasons: reasons}
}

func betaPool(opts ...func(*v1beta1.NodePool)) *v1beta1.NodePool {
	p := &v1beta1.NodePool{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.SchemeGroupVersion.String(), Kind: v1.KindNodePool},
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
	}
	p.Spec.Template.Spec = v1beta1.NodeClaimSpec{
		Requirements: []v1.NodeSelectorRequirementWithMinValues{{Key: "karpenter.sh/capacity-type", Operator: corev1.NodeSelectorOpIn, Values: []string{"spot"}}},
		NodeClassRef: &v1beta1.NodeClassReference{Name: "default"},
	}
	p.Spec.Disruption = v1beta1.Disruption{
		ConsolidationPolicy: v1beta1.ConsolidationPolicyWhenEmpty,
		ConsolidateAfter:    ptr.To(duration("30s")),
		Budgets:             []v1beta1.Budget{{Nodes: "10%"}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func class(opts ...func(*awsv1.EC2NodeClass)) *awsv1.EC2NodeClass {
	c := &awsv1.EC2NodeClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: awsv1.SchemeGroupVersion.String(), Kind: awsv1.KindEC2NodeClass},
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: awsv1.EC2NodeClassSpec{
			Role:                       "KarpenterNodeRole-prod",
			SubnetSelectorTerms:        []awsv1.SubnetSelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": "prod"}}},
			SecurityGroupSelectorTerms: []awsv1.SecurityGroupSelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": "prod"}}},
			AMISelectorTerms:           []awsv1.AMISelectorTerm{{Alias: "al2023@latest"}},
			MetadataOptions: &awsv1.MetadataOptions{
				HTTPEndpoint: ptr.To("enabled"), HTTPProtocolIPv6: ptr.To("disabled"), HTTPPutResponseHopLimit: ptr.To[int64](1), HTTPTokens: ptr.To("required"),
			},
		},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// withAMIs sets the class's AMI terms and its amiFamily ("" for none).
func withAMIs(family string, terms ...awsv1.AMISelectorTerm) func(*awsv1.EC2NodeClass) {
	return func(c *awsv1.EC2NodeClass) {
		c.Spec.AMIFamily = nil
		if family != "" {
			c.Spec.AMIFamily = ptr.To(family)
		}
		c.Spec.AMISelectorTerms = terms
	}
}

func betaClass(opts ...func(*awsv1beta1.EC2NodeClass)) *awsv1beta1.EC2NodeClass {
	c := &awsv1beta1.EC2NodeClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: awsv1beta1.SchemeGroupVersion.String(), Kind: awsv1.KindEC2NodeClass},
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: awsv1beta1.EC2NodeClassSpec{
			AMIFamily:                  ptr.To("AL2023"),
			Role:                       "KarpenterNodeRole-prod",
			SubnetSelectorTerms:        []awsv1.SubnetSelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": "prod"}}},
			SecurityGroupSelectorTerms: []awsv1.SecurityGroupSelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": "prod"}}},
		},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// duration reads a duration as the API server hands it over, keeping its text.
func duration(s string) v1.NillableDuration {
	var d v1.NillableDuration
	if err := json.Unmarshal([]byte(`"`+s+`"`), &d); err != nil {
		panic(err)
	}
	return d
}

func toUnstructured(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatalf("to unstructured: %v", err)
	}
	return &unstructured.Unstructured{Object: content}
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
