package tests

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/nodewright/nodewright/apis/conversion"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/apis/v1beta1"
	"github.com/nodewright/nodewright/lab/kube"
)

// The seed's v1beta1 NodePools (gpu and generalcompute, from the EKS Best Practices Guide, as
// written there) and a v1beta1 EC2NodeClass apply with kubectl through the worker's conversion
// webhook, are stored as their v1 forms, and provision as those would.
func TestSeedV1beta1NodePoolsApplyAndProvision(t *testing.T) {
	seed, err := os.ReadFile("../apis/loader/testdata/seed-v1beta1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Neither pool may keep the generalcompute name to itself: the harness's pods go to the
	// first NodePool, gpu, which they reach with a toleration.
	// As a user does, the seed's placeholder cluster name becomes the cluster's, which the
	// lab's subnets and security group are tagged with.
	e := startAPIEnv(t, strings.ReplaceAll(string(seed), "my-cluster", "lab"))
	if e.pool != "gpu" {
		t.Fatalf("first pool %q, want gpu", e.pool)
	}

	// Stored as v1, converted as Karpenter v1.0 converts.
	gpu, general := e.nodePool("gpu"), e.nodePool("generalcompute")
	for _, p := range []v1.NodePool{gpu, general} {
		if !p.Spec.Template.Spec.ExpireAfter.Never || p.Spec.Template.Spec.NodeClassRef.Group != "karpenter.k8s.aws" ||
			p.Spec.Template.Spec.NodeClassRef.Kind != "EC2NodeClass" {
			t.Errorf("%s stored as %+v, want expireAfter Never moved to the template and nodeClassRef given group and kind", p.Name, p.Spec.Template.Spec)
		}
	}
	if d := general.Spec.Disruption; d.ConsolidationPolicy != v1.ConsolidationPolicyWhenEmptyOrUnderutilized || d.ConsolidateAfter.Duration != 0 || !d.ConsolidateAfter.Set {
		t.Errorf("generalcompute disruption %+v, want v1beta1's default WhenUnderutilized as WhenEmptyOrUnderutilized after 0s", d)
	}
	if d := gpu.Spec.Disruption; d.ConsolidationPolicy != v1.ConsolidationPolicyWhenEmpty || d.ConsolidateAfter.Duration != time.Minute {
		t.Errorf("gpu disruption %+v, want WhenEmpty after 1m", d)
	}
	// Read back as v1beta1, through the webhook the other way.
	u, err := dynamicClient(t).Resource(v1beta1.SchemeGroupVersion.WithResource("nodepools")).Get(e.ctx, "generalcompute", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get generalcompute as v1beta1: %v", err)
	}
	if policy, _, _ := unstructured.NestedString(u.Object, "spec", "disruption", "consolidationPolicy"); policy != "WhenUnderutilized" {
		t.Errorf("generalcompute read as v1beta1 has consolidationPolicy %q, want WhenUnderutilized", policy)
	}
	if got := general.Annotations[conversion.AnnotationNodeClassReference]; got != `{"name":"default"}` {
		t.Errorf("generalcompute keeps its v1beta1 nodeClassRef as %q", got)
	}

	// GPU pods tolerate the gpu pool's taint and land on p3 nodes; the rest on
	// generalcompute's instance types, labelled for billing.
	e.deploy("train", 1, "4", func(p *corev1.PodTemplateSpec) {
		p.Spec.NodeSelector = map[string]string{v1.LabelNodePool: "gpu"}
		p.Spec.Tolerations = []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		p.Spec.Containers[0].Resources.Requests["nvidia.com/gpu"] = resource.MustParse("1")
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
	})
	e.deploy("web", 3, "500m", func(p *corev1.PodTemplateSpec) {
		p.Spec.NodeSelector = map[string]string{"billing-team": "my-team"}
	})
	e.allBound(4)
	for _, p := range e.pods() {
		n, err := lab.Kube.Client.CoreV1().Nodes().Get(e.ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		typ := n.Labels[v1.LabelInstanceType]
		switch {
		case strings.HasPrefix(p.Name, "train"):
			if n.Labels[v1.LabelNodePool] != "gpu" || !slices.Contains([]string{"p3.8xlarge", "p3.16xlarge"}, typ) {
				t.Errorf("gpu pod on %s (%s, pool %s), want a p3 node of pool gpu", n.Name, typ, n.Labels[v1.LabelNodePool])
			}
			if !hasTaint(n, "nvidia.com/gpu") {
				t.Errorf("gpu node %s lacks the pool's nvidia.com/gpu taint", n.Name)
			}
		default:
			want := []string{"m5.large", "m5.xlarge", "m5.2xlarge", "c5.large", "c5.xlarge", "c5a.large", "c5a.xlarge", "r5.large", "r5.xlarge"}
			if n.Labels[v1.LabelNodePool] != "generalcompute" || !slices.Contains(want, typ) || n.Labels["billing-team"] != "my-team" ||
				n.Labels[v1.LabelCapacityType] != v1.CapacityTypeOnDemand {
				t.Errorf("web pod on %s (%s, pool %s, labels %v), want an on-demand generalcompute node of its listed types", n.Name, typ, n.Labels[v1.LabelNodePool], n.Labels)
			}
		}
	}
}

// An invalid NodePool is refused by the API server with the field named, whatever version it
// is applied in, and the worker goes on.
func TestInvalidNodePoolsAreRefusedNamingTheField(t *testing.T) {
	e := startAPIEnv(t, poolYAML("valid", "", "consolidateAfter: Never"))
	base := strings.Split(poolYAML("invalid", "", "consolidateAfter: Never"), "\n---\n")[0]
	tests := []struct {
		name, manifest, want string
	}{
		{"an unknown operator", strings.Replace(base, "operator: Gt", "operator: Foo", 1),
			`spec.template.spec.requirements[1].operator: Unsupported value: "Foo"`},
		{"weight 200", base + "\n  weight: 200\n", `spec.weight: Invalid value: 200: spec.weight in body should be less than or equal to 100`},
		{"a budget schedule that is not cron", strings.Replace(base, "    consolidateAfter: Never", "    consolidateAfter: Never\n    budgets:\n      - {nodes: \"0\", schedule: \"every monday\", duration: 1h}", 1),
			`spec.disruption.budgets[0].schedule: Invalid value: "every monday"`},
		{"a v1beta1 pool with consolidateAfter and WhenUnderutilized", `apiVersion: karpenter.sh/v1beta1
kind: NodePool
metadata:
  name: invalid-beta
spec:
  disruption:
    consolidationPolicy: WhenUnderutilized
    consolidateAfter: 5m
  template:
    spec:
      nodeClassRef: {name: invalid}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot]}
`, `consolidateAfter cannot be combined with consolidationPolicy=WhenUnderutilized`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kube.Apply(e.ctx, lab.Kube.Admin, []byte(tc.manifest))
			if err == nil {
				deleteManifest(t, tc.manifest)
				t.Fatalf("the API server accepted it; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n  %v\nshould contain\n  %s", err, tc.want)
			}
		})
	}
	// The worker still serves the valid pool.
	e.deploy("web", 1, "500m")
	e.allBound(1)
}
