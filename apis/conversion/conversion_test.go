package conversion

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	awsv1beta1 "github.com/nodewright/nodewright/apis/aws/v1beta1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/apis/v1beta1"
)

// Tests of what Nodewright promises beyond Karpenter v1.0 (doc.go): v1 settings survive a
// trip through v1beta1, a v1beta1 edit wins over what was kept, warnings name what moved or
// was dropped, and bad input is an error.

// TestRoundTripFromV1KeepsWhatV1beta1CannotHold converts v1 objects to v1beta1 and back. Each
// row holds a setting v1beta1 has no field for; it must come back, carried by the annotation
// the row names, and must be lost when that annotation is removed (so the row really tests
// the annotation, not a field v1beta1 happens to have).
func TestRoundTripFromV1KeepsWhatV1beta1CannotHold(t *testing.T) {
	tests := []struct {
		name      string
		in        runtime.Object
		carriedBy string
	}{
		{name: "a pool's terminationGracePeriod", carriedBy: AnnotationV1Fields,
			in: pool(func(p *v1.NodePool) {
				p.Spec.Template.Spec.TerminationGracePeriod = &metav1.Duration{Duration: 90 * time.Minute}
			})},
		{name: "budget reasons", carriedBy: AnnotationV1Fields,
			in: pool(withBudgets(budget("10%", v1.DisruptionReasonDrifted), scheduledBudget("0", "0 9 * * mon-fri", 8*time.Hour, v1.DisruptionReasonUnderutilized, v1.DisruptionReasonEmpty)))},
		{name: "consolidateAfter with WhenEmptyOrUnderutilized", carriedBy: AnnotationV1Fields,
			in: pool(withConsolidation(v1.ConsolidationPolicyWhenEmptyOrUnderutilized, "5m"))},
		{name: "consolidateAfter Never with WhenEmptyOrUnderutilized", carriedBy: AnnotationV1Fields,
			in: pool(withConsolidation(v1.ConsolidationPolicyWhenEmptyOrUnderutilized, "Never"))},
		{name: "the Balanced policy", carriedBy: AnnotationV1Fields,
			in: pool(withConsolidation(v1.ConsolidationPolicyBalanced, "0s"))},
		{name: "the Balanced policy with a consolidateAfter", carriedBy: AnnotationV1Fields,
			in: pool(withConsolidation(v1.ConsolidationPolicyBalanced, "10m"))},
		{name: "a static pool's replicas", carriedBy: AnnotationV1Fields,
			in: pool(func(p *v1.NodePool) { p.Spec.Replicas = ptr.To[int64](3) })},
		{name: "a node class of another group", carriedBy: AnnotationV1Fields,
			in: pool(func(p *v1.NodePool) {
				p.Spec.Template.Spec.NodeClassRef = &v1.NodeClassReference{Group: "example.com", Kind: "OtherNodeClass", Name: "other"}
			})},
		{name: "every v1-only pool setting at once", carriedBy: AnnotationV1Fields,
			in: pool(withConsolidation(v1.ConsolidationPolicyBalanced, "10m"), withBudgets(budget("1", v1.DisruptionReasonDrifted)),
				func(p *v1.NodePool) {
					p.Spec.Template.Spec.TerminationGracePeriod = &metav1.Duration{Duration: time.Hour}
					p.Spec.Template.Spec.NodeClassRef.Group = "example.com"
				})},
		{name: "a class's kubelet", carriedBy: AnnotationV1Fields,
			in: class(func(c *awsv1.EC2NodeClass) {
				c.Spec.Kubelet = &awsv1.KubeletConfiguration{
					MaxPods: ptr.To[int32](58), SystemReserved: map[string]string{"cpu": "100m"},
					EvictionSoft:            map[string]string{"memory.available": "10%"},
					EvictionSoftGracePeriod: map[string]metav1.Duration{"memory.available": {Duration: 2 * time.Minute}},
					CPUCFSQuota:             ptr.To(false),
				}
			})},
		{name: "capacityReservationSelectorTerms", carriedBy: AnnotationV1Fields,
			in: class(func(c *awsv1.EC2NodeClass) {
				c.Spec.CapacityReservationSelectorTerms = []awsv1.CapacityReservationSelectorTerm{{ID: "cr-0123"}, {Tags: map[string]string{"team": "ml"}, OwnerID: "123456789012"}}
			})},
		{name: "ipPrefixCount", carriedBy: AnnotationV1Fields,
			in: class(func(c *awsv1.EC2NodeClass) { c.Spec.IPPrefixCount = ptr.To[int32](2) })},
		{name: "placementGroupSelector", carriedBy: AnnotationV1Fields,
			in: class(func(c *awsv1.EC2NodeClass) {
				c.Spec.PlacementGroupSelector = &awsv1.PlacementGroupSelector{Name: "cluster-pg"}
			})},
		{name: "networkInterfaces", carriedBy: AnnotationV1Fields,
			in: class(func(c *awsv1.EC2NodeClass) {
				c.Spec.NetworkInterfaces = []awsv1.NetworkInterface{{InterfaceType: "interface"}, {NetworkCardIndex: 1, InterfaceType: "efa-only"}}
			})},
		{name: "connectionTracking", carriedBy: AnnotationV1Fields,
			in: class(func(c *awsv1.EC2NodeClass) {
				c.Spec.ConnectionTracking = &awsv1.ConnectionTracking{TCPEstablishedTimeout: ptr.To[int32](600)}
			})},
		{name: "cpuOptions", carriedBy: AnnotationV1Fields,
			in: class(func(c *awsv1.EC2NodeClass) { c.Spec.CPUOptions = &awsv1.CPUOptions{NestedVirtualization: "enabled"} })},
		{name: "a Custom amiFamily with an alias", carriedBy: AnnotationV1Fields,
			in: class(withAMIs("Custom", awsv1.AMISelectorTerm{Alias: "al2023@latest"}))},
		{name: "a Custom amiFamily with a pinned alias", carriedBy: AnnotationV1Fields,
			in: class(withAMIs("Custom", awsv1.AMISelectorTerm{Alias: "bottlerocket@v1.20.0"}))},
		{name: "a pinned alias", carriedBy: AnnotationAliasVersion,
			in: class(withAMIs("", awsv1.AMISelectorTerm{Alias: "al2023@v20240807"}))},
		{name: "an amiFamily with a pinned alias of the same family", carriedBy: AnnotationV1Fields,
			in: class(withAMIs("AL2023", awsv1.AMISelectorTerm{Alias: "al2023@v20240807"}))},
		{name: "a Windows2025 alias", carriedBy: AnnotationV1Fields,
			in: class(withAMIs("", awsv1.AMISelectorTerm{Alias: "windows2025@latest"}))},
		{name: "an AMI selected by SSM parameter", carriedBy: AnnotationV1Fields,
			in: class(withAMIs("AL2023", awsv1.AMISelectorTerm{SSMParameter: "/my/ami/id"}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := toUnstructured(t, tt.in)
			down := mustConvert(t, in, in.GroupVersionKind().Group+"/v1beta1")
			back := mustConvert(t, down, in.GetAPIVersion())
			for _, d := range roundTripDiff(in, back) {
				t.Errorf("v1 -> v1beta1 -> v1 loses a setting: want %s", d)
			}
			if _, ok := down.GetAnnotations()[tt.carriedBy]; !ok {
				t.Fatalf("the v1beta1 form has no annotation %s; its annotations: %v", tt.carriedBy, down.GetAnnotations())
			}
			stripped := down.DeepCopy()
			annotations := stripped.GetAnnotations()
			delete(annotations, tt.carriedBy)
			stripped.SetAnnotations(annotations)
			if len(roundTripDiff(in, mustConvert(t, stripped, in.GetAPIVersion()))) == 0 {
				t.Errorf("the object comes back without the annotation %s too, so the row does not test what carries the setting", tt.carriedBy)
			}
		})
	}
}

// TestRoundTripFromV1beta1 converts v1beta1 objects whose settings v1 holds differently to v1
// and back.
func TestRoundTripFromV1beta1(t *testing.T) {
	tests := []struct {
		name string
		in   runtime.Object
	}{
		{name: "a pool with a kubelet", in: betaPool(func(p *v1beta1.NodePool) {
			p.Spec.Template.Spec.Kubelet = &awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](110), KubeReserved: map[string]string{"cpu": "200m"}}
		})},
		{name: "a pool with WhenUnderutilized", in: betaPool(func(p *v1beta1.NodePool) {
			p.Spec.Disruption.ConsolidationPolicy = v1beta1.ConsolidationPolicyWhenUnderutilized
			p.Spec.Disruption.ConsolidateAfter = nil
		})},
		{name: "a pool whose nodeClassRef has an apiVersion", in: betaPool(func(p *v1beta1.NodePool) {
			p.Spec.Template.Spec.NodeClassRef = &v1beta1.NodeClassReference{APIVersion: "karpenter.k8s.aws/v1beta1", Kind: "EC2NodeClass", Name: "default"}
		})},
		{name: "a class with an amiFamily and no AMI terms", in: betaClass()},
		{name: "a Custom class", in: betaClass(func(c *awsv1beta1.EC2NodeClass) {
			c.Spec.AMIFamily = ptr.To("Custom")
			c.Spec.AMISelectorTerms = []awsv1beta1.AMISelectorTerm{{Name: "my-ami-*", Owner: "self"}}
		})},
		{name: "an Ubuntu class without AMI terms", in: betaClass(func(c *awsv1beta1.EC2NodeClass) { c.Spec.AMIFamily = ptr.To("Ubuntu") })},
		{name: "an Ubuntu class with AMI terms and volumes", in: betaClass(func(c *awsv1beta1.EC2NodeClass) {
			c.Spec.AMIFamily = ptr.To("Ubuntu")
			c.Spec.AMISelectorTerms = []awsv1beta1.AMISelectorTerm{{ID: "ami-0123"}}
			c.Spec.BlockDeviceMappings = []*awsv1.BlockDeviceMapping{{DeviceName: ptr.To("/dev/sda1"), EBS: &awsv1.BlockDevice{VolumeSize: ptr.To(mustQuantity("100Gi"))}}}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := toUnstructured(t, tt.in)
			up := mustConvert(t, in, in.GroupVersionKind().Group+"/v1")
			back := mustConvert(t, up, in.GetAPIVersion())
			for _, d := range roundTripDiff(in, back) {
				t.Errorf("v1beta1 -> v1 -> v1beta1 changes the object: want %s", d)
			}
		})
	}
}

// TestV1beta1EditsWinOverKeptV1Fields converts a v1 pool to v1beta1, edits it there as a
// v1beta1 client would, and converts it back: what the client changed must win over what
// nodewright.io/v1-fields kept, and what it left alone must come back.
func TestV1beta1EditsWinOverKeptV1Fields(t *testing.T) {
	drifted, busy := budget("10%", v1.DisruptionReasonDrifted), scheduledBudget("0", "0 9 * * mon-fri", 8*time.Hour, v1.DisruptionReasonUnderutilized)
	tests := []struct {
		name string
		in   *v1.NodePool
		edit func(*v1beta1.NodePool)
		want func(*v1.NodePool)
	}{
		{name: "a budget changed on v1beta1 loses its reasons, the others keep theirs",
			in:   pool(withBudgets(drifted, busy)),
			edit: func(p *v1beta1.NodePool) { p.Spec.Disruption.Budgets[0].Nodes = "20%" },
			want: func(p *v1.NodePool) { p.Spec.Disruption.Budgets[0] = v1.Budget{Nodes: "20%"} }},
		{name: "a budget added on v1beta1 has no reasons",
			in: pool(withBudgets(drifted, busy)),
			edit: func(p *v1beta1.NodePool) {
				p.Spec.Disruption.Budgets = append(p.Spec.Disruption.Budgets, v1beta1.Budget{Nodes: "5"})
			},
			want: func(p *v1.NodePool) {
				p.Spec.Disruption.Budgets = append(p.Spec.Disruption.Budgets, v1.Budget{Nodes: "5"})
			}},
		{name: "a budget deleted on v1beta1 does not hand its reasons to the one that takes its place",
			in:   pool(withBudgets(drifted, budget("10%"))),
			edit: func(p *v1beta1.NodePool) { p.Spec.Disruption.Budgets = p.Spec.Disruption.Budgets[1:] },
			want: func(p *v1.NodePool) { p.Spec.Disruption.Budgets = []v1.Budget{{Nodes: "10%"}} }},
		{name: "switching to WhenEmpty on v1beta1 drops the kept consolidateAfter",
			in: pool(withConsolidation(v1.ConsolidationPolicyWhenEmptyOrUnderutilized, "5m")),
			edit: func(p *v1beta1.NodePool) {
				p.Spec.Disruption.ConsolidationPolicy = v1beta1.ConsolidationPolicyWhenEmpty
				p.Spec.Disruption.ConsolidateAfter = ptr.To(duration("1m"))
			},
			want: withConsolidation(v1.ConsolidationPolicyWhenEmpty, "1m")},
		{name: "switching to WhenEmpty on v1beta1 drops the kept Balanced policy",
			in: pool(withConsolidation(v1.ConsolidationPolicyBalanced, "10m")),
			edit: func(p *v1beta1.NodePool) {
				p.Spec.Disruption.ConsolidationPolicy = v1beta1.ConsolidationPolicyWhenEmpty
				p.Spec.Disruption.ConsolidateAfter = ptr.To(duration("30s"))
			},
			want: withConsolidation(v1.ConsolidationPolicyWhenEmpty, "30s")},
		{name: "a nodeClassRef apiVersion set on v1beta1 wins over the kept group",
			in: pool(func(p *v1.NodePool) { p.Spec.Template.Spec.NodeClassRef.Group = "example.com" }),
			edit: func(p *v1beta1.NodePool) {
				p.Spec.Template.Spec.NodeClassRef.APIVersion = "karpenter.k8s.aws/v1beta1"
			},
			want: func(p *v1.NodePool) {
				p.Spec.Template.Spec.NodeClassRef.Group = awsv1.Group
				p.Annotations = map[string]string{AnnotationNodeClassReference: `{"kind":"EC2NodeClass","name":"default","apiVersion":"karpenter.k8s.aws/v1beta1"}`}
			}},
		{name: "a kubelet changed on v1beta1 replaces the pool's kubelet annotation",
			in:   pool(withKubeletAnnotation(awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](110)})),
			edit: func(p *v1beta1.NodePool) { p.Spec.Template.Spec.Kubelet.MaxPods = ptr.To[int32](50) },
			want: withKubeletAnnotation(awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](50)})},
		{name: "a kubelet removed on v1beta1 removes the pool's kubelet annotation",
			in:   pool(withKubeletAnnotation(awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](110)})),
			edit: func(p *v1beta1.NodePool) { p.Spec.Template.Spec.Kubelet = nil },
			want: func(p *v1.NodePool) { delete(p.Annotations, AnnotationKubelet) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			down, _, err := NodePoolToV1beta1(tt.in)
			if err != nil {
				t.Fatalf("convert to v1beta1: %v", err)
			}
			tt.edit(down)
			got, _, err := NodePoolToV1(down)
			if err != nil {
				t.Fatalf("convert the edited pool back to v1: %v", err)
			}
			want := tt.in.DeepCopy()
			tt.want(want)
			for _, d := range roundTripDiff(toUnstructured(t, want), toUnstructured(t, got)) {
				t.Errorf("after the v1beta1 edit, want %s", d)
			}
		})
	}
}

// TestV1beta1EditsOfAClassWin does the same for an EC2NodeClass.
func TestV1beta1EditsOfAClassWin(t *testing.T) {
	tests := []struct {
		name string
		in   *awsv1.EC2NodeClass
		edit func(*awsv1beta1.EC2NodeClass)
		want func(*awsv1.EC2NodeClass)
	}{
		{name: "AMI terms added on v1beta1 replace a Custom class's kept alias",
			in: class(withAMIs("Custom", awsv1.AMISelectorTerm{Alias: "al2023@latest"})),
			edit: func(c *awsv1beta1.EC2NodeClass) {
				c.Spec.AMISelectorTerms = []awsv1beta1.AMISelectorTerm{{ID: "ami-0123"}}
			},
			want: withAMIs("Custom", awsv1.AMISelectorTerm{ID: "ami-0123"})},
		{name: "an amiFamily changed on v1beta1 gives that family's alias",
			in:   class(withAMIs("", awsv1.AMISelectorTerm{Alias: "al2023@latest"})),
			edit: func(c *awsv1beta1.EC2NodeClass) { c.Spec.AMIFamily = ptr.To("Bottlerocket") },
			want: withAMIs("", awsv1.AMISelectorTerm{Alias: "bottlerocket@latest"})},
		{name: "AMI terms added on v1beta1 to a family with an alias replace the alias",
			in: class(withAMIs("", awsv1.AMISelectorTerm{Alias: "al2023@latest"})),
			edit: func(c *awsv1beta1.EC2NodeClass) {
				c.Spec.AMISelectorTerms = []awsv1beta1.AMISelectorTerm{{ID: "ami-0123"}}
			},
			want: withAMIs("AL2023", awsv1.AMISelectorTerm{ID: "ami-0123"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			down, _, err := EC2NodeClassToV1beta1(tt.in)
			if err != nil {
				t.Fatalf("convert to v1beta1: %v", err)
			}
			tt.edit(down)
			got, _, err := EC2NodeClassToV1(down)
			if err != nil {
				t.Fatalf("convert the edited class back to v1: %v", err)
			}
			want := tt.in.DeepCopy()
			tt.want(want)
			for _, d := range roundTripDiff(toUnstructured(t, want), toUnstructured(t, got)) {
				t.Errorf("after the v1beta1 edit, want %s", d)
			}
		})
	}
}

// TestWarningsNameWhatMovesOrIsDropped: each conversion that moves a setting out of its
// field, keeps it only in an annotation, or drops it says so, naming the setting; one that
// moves nothing says nothing.
func TestWarningsNameWhatMovesOrIsDropped(t *testing.T) {
	tests := []struct {
		name string
		in   runtime.Object
		want []string // each must appear in some warning; none means no warning at all
	}{
		{name: "a v1 pool v1beta1 can hold whole", in: pool()},
		{name: "a v1beta1 pool v1 can hold whole", in: betaPool()},
		{name: "a v1 class v1beta1 can hold whole", in: class()},
		{name: "a v1beta1 class v1 can hold whole", in: betaClass(func(c *awsv1beta1.EC2NodeClass) {
			c.Spec.AMISelectorTerms = []awsv1beta1.AMISelectorTerm{{ID: "ami-0123"}}
		})},
		{name: "terminationGracePeriod", in: pool(func(p *v1.NodePool) {
			p.Spec.Template.Spec.TerminationGracePeriod = &metav1.Duration{Duration: time.Hour}
		}),
			want: []string{"spec.template.spec.terminationGracePeriod"}},
		{name: "budget reasons", in: pool(withBudgets(budget("10%", v1.DisruptionReasonDrifted))), want: []string{"budgets[].reasons"}},
		{name: "replicas", in: pool(func(p *v1.NodePool) { p.Spec.Replicas = ptr.To[int64](2) }), want: []string{"spec.replicas"}},
		{name: "Balanced", in: pool(withConsolidation(v1.ConsolidationPolicyBalanced, "0s")), want: []string{"Balanced"}},
		{name: "consolidateAfter with WhenEmptyOrUnderutilized", in: pool(withConsolidation(v1.ConsolidationPolicyWhenEmptyOrUnderutilized, "5m")),
			want: []string{"spec.disruption.consolidateAfter 5m"}},
		{name: "a nodeClassRef group v1beta1 cannot name",
			in:   pool(func(p *v1.NodePool) { p.Spec.Template.Spec.NodeClassRef.Group = "example.com" }),
			want: []string{"nodeClassRef"}},
		{name: "a v1beta1 pool's kubelet", in: betaPool(func(p *v1beta1.NodePool) {
			p.Spec.Template.Spec.Kubelet = &awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](20)}
		}),
			want: []string{"spec.template.spec.kubelet", AnnotationKubelet, `EC2NodeClass "default"`}},
		{name: "consolidateAfter Never with WhenUnderutilized", in: betaPool(func(p *v1beta1.NodePool) {
			p.Spec.Disruption.ConsolidationPolicy = v1beta1.ConsolidationPolicyWhenUnderutilized
			p.Spec.Disruption.ConsolidateAfter = ptr.To(v1.Never)
		}), want: []string{"spec.disruption.consolidateAfter", "Never"}},
		{name: "expireAfter, which v1 keeps on the template", in: betaPool(func(p *v1beta1.NodePool) { p.Spec.Disruption.ExpireAfter = duration("24h") }),
			want: []string{"spec.disruption.expireAfter", "spec.template.spec.expireAfter"}},
		{name: "every v1-only class setting", in: class(func(c *awsv1.EC2NodeClass) {
			c.Spec.Kubelet = &awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](20)}
			c.Spec.CapacityReservationSelectorTerms = []awsv1.CapacityReservationSelectorTerm{{ID: "cr-0123"}}
			c.Spec.IPPrefixCount = ptr.To[int32](1)
			c.Spec.PlacementGroupSelector = &awsv1.PlacementGroupSelector{ID: "pg-0123"}
			c.Spec.NetworkInterfaces = []awsv1.NetworkInterface{{InterfaceType: "interface"}}
			c.Spec.ConnectionTracking = &awsv1.ConnectionTracking{UDPTimeout: ptr.To[int32](30)}
			c.Spec.CPUOptions = &awsv1.CPUOptions{NestedVirtualization: "disabled"}
		}), want: []string{"spec.kubelet", "spec.capacityReservationSelectorTerms", "spec.ipPrefixCount", "spec.placementGroupSelector",
			"spec.networkInterfaces", "spec.connectionTracking", "spec.cpuOptions"}},
		{name: "a Custom class's alias", in: class(withAMIs("Custom", awsv1.AMISelectorTerm{Alias: "al2023@latest"})),
			want: []string{"alias al2023@latest", "Custom"}},
		{name: "an AMI term by SSM parameter", in: class(withAMIs("AL2023", awsv1.AMISelectorTerm{SSMParameter: "/my/ami/id"})),
			want: []string{"ssmParameter"}},
		{name: "Ubuntu", in: betaClass(func(c *awsv1beta1.EC2NodeClass) { c.Spec.AMIFamily = ptr.To("Ubuntu") }),
			want: []string{"spec.amiFamily", "Ubuntu", "selects no AMI"}},
		{name: "the tag eks:eks-cluster-name", in: betaClass(func(c *awsv1beta1.EC2NodeClass) { c.Spec.Tags = map[string]string{"eks:eks-cluster-name": "prod"} }),
			want: []string{"eks:eks-cluster-name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := toUnstructured(t, tt.in)
			to := in.GroupVersionKind().Group + "/v1"
			if in.GroupVersionKind().Version == "v1" {
				to = in.GroupVersionKind().Group + "/v1beta1"
			}
			_, warnings, err := Convert(in, to)
			if err != nil {
				t.Fatalf("convert to %s: %v", to, err)
			}
			if len(tt.want) == 0 && len(warnings) > 0 {
				t.Errorf("converting to %s warns, though nothing moves or is dropped: %q", to, warnings)
			}
			for _, w := range tt.want {
				if !containsIn(warnings, w) {
					t.Errorf("converting to %s: no warning names %q; the warnings: %q", to, w, warnings)
				}
			}
		})
	}
}

func containsIn(warnings []string, s string) bool {
	for _, w := range warnings {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}

// TestKubeletFor: a pool converted from v1beta1 keeps its own kubelet, as in Karpenter v1.0,
// and the class's applies otherwise.
func TestKubeletFor(t *testing.T) {
	poolKubelet := awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](110)}
	classKubelet := &awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](58), PodsPerCore: ptr.To[int32](4)}
	withClassKubelet := func(c *awsv1.EC2NodeClass) { c.Spec.Kubelet = classKubelet }
	tests := []struct {
		name    string
		pool    *v1.NodePool
		class   *awsv1.EC2NodeClass
		want    *awsv1.KubeletConfiguration
		wantErr string
	}{
		{name: "the pool's annotation wins over the class's kubelet",
			pool: pool(withKubeletAnnotation(poolKubelet)), class: class(withClassKubelet), want: &poolKubelet},
		{name: "the pool's annotation applies when the class has none",
			pool: pool(withKubeletAnnotation(poolKubelet)), class: class(), want: &poolKubelet},
		{name: "the class's kubelet applies to a pool without the annotation",
			pool: pool(), class: class(withClassKubelet), want: classKubelet},
		{name: "no kubelet when neither has one", pool: pool(), class: class(), want: nil},
		{name: "no kubelet without a class", pool: pool(), class: nil, want: nil},
		{name: "a corrupt annotation is an error that names the pool and the annotation",
			pool: pool(func(p *v1.NodePool) { p.Annotations = map[string]string{AnnotationKubelet: "maxPods=110"} }), class: class(withClassKubelet),
			wantErr: `NodePool default annotation ` + AnnotationKubelet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KubeletFor(tt.pool, tt.class)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("KubeletFor() error = %v, want one that says %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("KubeletFor(): %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("KubeletFor() = %s, want %s", show(got), show(tt.want))
			}
		})
	}
}

// TestConvertRefuses: Convert converts a NodePool or an EC2NodeClass within its group, and
// nothing else.
func TestConvertRefuses(t *testing.T) {
	tests := []struct {
		name       string
		apiVersion string
		kind       string
		to         string
		wantErr    string
	}{
		{name: "a NodePool to the AWS group", apiVersion: "karpenter.sh/v1beta1", kind: "NodePool", to: "karpenter.k8s.aws/v1", wantErr: "another group"},
		{name: "an EC2NodeClass to karpenter.sh", apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass", to: "karpenter.sh/v1beta1", wantErr: "another group"},
		{name: "a NodeClaim, which has no conversion", apiVersion: "karpenter.sh/v1beta1", kind: "NodeClaim", to: "karpenter.sh/v1", wantErr: "no conversion"},
		{name: "a kind of another group", apiVersion: "karpenter.sh/v1beta1", kind: "EC2NodeClass", to: "karpenter.sh/v1", wantErr: "no conversion"},
		{name: "a version that does not exist", apiVersion: "karpenter.sh/v1", kind: "NodePool", to: "karpenter.sh/v2", wantErr: "no conversion"},
		{name: "a malformed apiVersion", apiVersion: "karpenter.sh/v1", kind: "NodePool", to: "karpenter.sh/v1/beta", wantErr: "karpenter.sh/v1/beta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &unstructured.Unstructured{Object: map[string]any{"apiVersion": tt.apiVersion, "kind": tt.kind, "metadata": map[string]any{"name": "x"}}}
			out, _, err := Convert(in, tt.to)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Convert(%s %s, %s) error = %v, want one that says %q", tt.apiVersion, tt.kind, tt.to, err, tt.wantErr)
			}
			if out != nil {
				t.Errorf("Convert(%s %s, %s) returns an object with its error", tt.apiVersion, tt.kind, tt.to)
			}
		})
	}
}

// TestConvertToTheSameVersionCopies: the object Convert returns is the caller's to change.
func TestConvertToTheSameVersionCopies(t *testing.T) {
	in := toUnstructured(t, pool())
	out, warnings, err := Convert(in, in.GetAPIVersion())
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Convert to its own version: warnings %q, error %v", warnings, err)
	}
	if !reflect.DeepEqual(in.Object, out.Object) {
		t.Fatalf("Convert to its own version changes the pool: %s", matcher{}.diff("", in.Object, out.Object))
	}
	out.SetLabels(map[string]string{"changed": "yes"})
	if in.GetLabels()["changed"] != "" {
		t.Errorf("changing Convert's result changes its input")
	}
}

// TestCorruptAnnotationsAreErrors: an annotation that does not decode is an error that names
// it, never a panic.
func TestCorruptAnnotationsAreErrors(t *testing.T) {
	withAnnotation := func(key, value string) func(*unstructured.Unstructured) {
		return func(u *unstructured.Unstructured) { u.SetAnnotations(map[string]string{key: value}) }
	}
	tests := []struct {
		name     string
		in       runtime.Object
		corrupt  func(*unstructured.Unstructured)
		wantText string
	}{
		{name: "v1-fields that are no JSON, on a pool", in: betaPool(), corrupt: withAnnotation(AnnotationV1Fields, "{terminationGracePeriod: 1h"), wantText: AnnotationV1Fields},
		{name: "v1-fields of the wrong shape, on a pool", in: betaPool(), corrupt: withAnnotation(AnnotationV1Fields, `{"budgets":"all"}`), wantText: AnnotationV1Fields},
		{name: "v1-fields with a bad duration, on a pool", in: betaPool(func(p *v1beta1.NodePool) {
			p.Spec.Disruption.ConsolidationPolicy = v1beta1.ConsolidationPolicyWhenUnderutilized
			p.Spec.Disruption.ConsolidateAfter = nil
		}), corrupt: withAnnotation(AnnotationV1Fields, `{"consolidateAfter":"soon"}`), wantText: AnnotationV1Fields},
		{name: "a kubelet annotation that is no JSON", in: pool(), corrupt: withAnnotation(AnnotationKubelet, "maxPods=110"), wantText: AnnotationKubelet},
		{name: "a nodeclass-reference annotation that is no JSON", in: pool(), corrupt: withAnnotation(AnnotationNodeClassReference, `{"name":`), wantText: AnnotationNodeClassReference},
		{name: "v1-fields that are no JSON, on a class", in: betaClass(), corrupt: withAnnotation(AnnotationV1Fields, "["), wantText: AnnotationV1Fields},
		{name: "v1-fields of the wrong shape, on a class", in: betaClass(), corrupt: withAnnotation(AnnotationV1Fields, `{"kubelet":[1]}`), wantText: AnnotationV1Fields},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := toUnstructured(t, tt.in)
			tt.corrupt(in)
			to := in.GroupVersionKind().Group + "/v1"
			if in.GroupVersionKind().Version == "v1" {
				to = in.GroupVersionKind().Group + "/v1beta1"
			}
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
						t.Errorf("converting to %s panics: %v", to, r)
					}
				}()
				_, _, err = Convert(in, to)
			}()
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("converting to %s: error = %v, want one that names %s", to, err, tt.wantText)
			}
		})
	}
}

// TestTypedConversionsLeaveTheirInputAlone: Karpenter deletes annotations from the object it
// converts from; Nodewright's conversions must not touch theirs.
func TestTypedConversionsLeaveTheirInputAlone(t *testing.T) {
	tests := []struct {
		name    string
		in      runtime.Object
		convert func(runtime.Object) error
	}{
		{name: "a v1 pool with every annotation", in: pool(withKubeletAnnotation(awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](9)}), func(p *v1.NodePool) {
			p.Annotations[AnnotationNodeClassReference] = `{"name":"default"}`
			p.Annotations[AnnotationStoredVersionMigrated] = "true"
			p.Spec.Disruption.Budgets = []v1.Budget{budget("1", v1.DisruptionReasonEmpty)}
		}), convert: func(o runtime.Object) error { _, _, err := NodePoolToV1beta1(o.(*v1.NodePool)); return err }},
		{name: "a v1beta1 pool with kept v1 fields", in: betaPool(func(p *v1beta1.NodePool) {
			p.Annotations = map[string]string{AnnotationV1Fields: `{"replicas":2}`, AnnotationKubelet: `{"maxPods":3}`}
		}), convert: func(o runtime.Object) error { _, _, err := NodePoolToV1(o.(*v1beta1.NodePool)); return err }},
		{name: "a v1 Ubuntu class", in: class(withAMIs("AL2", awsv1.AMISelectorTerm{ID: "ami-placeholder"}), func(c *awsv1.EC2NodeClass) {
			c.Annotations = map[string]string{AnnotationUbuntu: "amiFamily,blockDeviceMappings,incompatible", AnnotationStoredVersionMigrated: "true"}
			c.Spec.BlockDeviceMappings = []*awsv1.BlockDeviceMapping{{DeviceName: ptr.To("/dev/sda1"), RootVolume: true}}
		}), convert: func(o runtime.Object) error { _, _, err := EC2NodeClassToV1beta1(o.(*awsv1.EC2NodeClass)); return err }},
		{name: "a v1beta1 class with a pinned alias and kept v1 fields", in: betaClass(func(c *awsv1beta1.EC2NodeClass) {
			c.Annotations = map[string]string{AnnotationAliasVersion: "v20240807", AnnotationV1Fields: `{"ipPrefixCount":1}`}
		}), convert: func(o runtime.Object) error { _, _, err := EC2NodeClassToV1(o.(*awsv1beta1.EC2NodeClass)); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.in.DeepCopyObject()
			if err := tt.convert(tt.in); err != nil {
				t.Fatalf("convert: %v", err)
			}
			if !reflect.DeepEqual(before, tt.in) {
				t.Errorf("the conversion changed its input: %s", matcher{}.diff("", toUnstructured(t, before).Object, toUnstructured(t, tt.in).Object))
			}
		})
	}
}
