package v1

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// docsExample follows the NodePool and EC2NodeClass examples on karpenter.sh, in one file as
// users keep them.
const docsExample = `# Karpenter getting-started manifest
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    metadata:
      labels:
        billing-team: my-team
      annotations:
        example.com/owner: "my-team"
    spec:
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
      taints:
        - key: example.com/special-taint
          effect: NoSchedule
      startupTaints:
        - key: example.com/another-taint
          effect: NoSchedule
      expireAfter: 720h
      terminationGracePeriod: 48h
      requirements:
        - key: "karpenter.k8s.aws/instance-category"
          operator: In
          values: ["c", "m", "r"]
          minValues: 2
        - key: "karpenter.k8s.aws/instance-family"
          operator: In
          values: ["m5","m5d","c5","c5d","c4","r4"]
          minValues: 5
        - key: "karpenter.k8s.aws/instance-cpu"
          operator: In
          values: ["4", "8", "16", "32"]
        - key: "karpenter.k8s.aws/instance-hypervisor"
          operator: In
          values: ["nitro"]
        - key: "karpenter.k8s.aws/instance-generation"
          operator: Gt
          values: ["2"]
        - key: "topology.kubernetes.io/zone"
          operator: In
          values: ["us-west-2a", "us-west-2b"]
        - key: "kubernetes.io/arch"
          operator: In
          values: ["arm64", "amd64"]
        - key: "karpenter.sh/capacity-type"
          operator: In
          values: ["spot", "on-demand"]
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 1m
    budgets:
    - nodes: 10%
    - schedule: "0 9 * * mon-fri"
      duration: 8h
      nodes: "0"
      reasons: ["Drifted", "Underutilized"]
  limits:
    cpu: "1000"
    memory: 1000Gi
  weight: 10
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  role: "KarpenterNodeRole-my-cluster"
  amiSelectorTerms:
    - alias: al2023@latest
  subnetSelectorTerms:
    - tags:
        karpenter.sh/discovery: "my-cluster"
  securityGroupSelectorTerms:
    - tags:
        karpenter.sh/discovery: "my-cluster"
---
# a second pool relying on every default
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: spot-only
spec:
  template:
    spec:
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
      requirements:
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["spot"]
`

func TestLoadNodePoolsReadsTheKarpenterDocsExample(t *testing.T) {
	pools, err := LoadNodePools([]byte(docsExample))
	if err != nil {
		t.Fatalf("load docs example: %v", err)
	}
	if len(pools) != 2 {
		t.Fatalf("got %d NodePools, want 2 (the EC2NodeClass is skipped)", len(pools))
	}
	def := pools[0]
	if def.Name != "default" || def.WeightOrZero() != 10 {
		t.Errorf("first pool = %q weight %d, want default weight 10", def.Name, def.WeightOrZero())
	}
	if got := def.Spec.Template.ObjectMeta.Labels["billing-team"]; got != "my-team" {
		t.Errorf("template label billing-team = %q, want my-team", got)
	}
	reqs := def.Spec.Template.Spec.Requirements
	if len(reqs) != 8 || reqs[0].MinValues == nil || *reqs[0].MinValues != 2 || reqs[4].Operator != corev1.NodeSelectorOpGt {
		t.Errorf("requirements not read as written: %+v", reqs)
	}
	if cpu, ok := def.LimitFor(corev1.ResourceCPU); !ok || cpu.Cmp(resource.MustParse("1000")) != 0 {
		t.Errorf("cpu limit = %v (set %v), want 1000", cpu.String(), ok)
	}
	if d := def.Spec.Disruption.ConsolidateAfter; !d.Set || d.Duration != time.Minute {
		t.Errorf("consolidateAfter = %+v, want 1m as written", d)
	}
	if b := def.Spec.Disruption.Budgets; len(b) != 2 || b[1].Duration == nil || b[1].Duration.Duration != 8*time.Hour {
		t.Errorf("budgets = %+v, want the two written", b)
	}
	if def.Spec.Template.Spec.TerminationGracePeriod == nil || def.Spec.Template.Spec.TerminationGracePeriod.Duration != 48*time.Hour {
		t.Errorf("terminationGracePeriod not read: %v", def.Spec.Template.Spec.TerminationGracePeriod)
	}
}

func TestLoadNodePoolsAppliesKarpenterDefaults(t *testing.T) {
	pools, err := LoadNodePools([]byte(docsExample))
	if err != nil {
		t.Fatalf("load docs example: %v", err)
	}
	spot := pools[1]
	if e := spot.Spec.Template.Spec.ExpireAfter; !e.Set || e.Never || e.Duration != 720*time.Hour {
		t.Errorf("expireAfter = %+v, want the 720h default", e)
	}
	if p := spot.Spec.Disruption.ConsolidationPolicy; p != ConsolidationPolicyWhenEmptyOrUnderutilized {
		t.Errorf("consolidationPolicy = %q, want WhenEmptyOrUnderutilized", p)
	}
	if c := spot.Spec.Disruption.ConsolidateAfter; !c.Set || c.Never || c.Duration != 0 {
		t.Errorf("consolidateAfter = %+v, want 0s", c)
	}
	if b := spot.Spec.Disruption.Budgets; len(b) != 1 || b[0].Nodes != "10%" {
		t.Errorf("budgets = %+v, want [{nodes: 10%%}]", b)
	}
	if spot.WeightOrZero() != 0 {
		t.Errorf("weight = %d, want 0 when unset", spot.WeightOrZero())
	}
}

func TestLoadNodePoolsKeepsNeverAsWritten(t *testing.T) {
	pools, err := LoadNodePools([]byte(pool("never", `
  template:
    spec:
      expireAfter: Never
  disruption:
    consolidateAfter: Never
`)))
	if err != nil {
		t.Fatal(err)
	}
	if !pools[0].Spec.Template.Spec.ExpireAfter.Never || !pools[0].Spec.Disruption.ConsolidateAfter.Never {
		t.Errorf("Never was replaced by a default: %+v %+v", pools[0].Spec.Template.Spec.ExpireAfter, pools[0].Spec.Disruption.ConsolidateAfter)
	}
}

func TestLoadNodePoolsOfAFileWithoutNodePoolsIsEmpty(t *testing.T) {
	pools, err := LoadNodePools([]byte("---\n# nothing here\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"))
	if err != nil || len(pools) != 0 {
		t.Fatalf("got %d pools, err %v; want none and no error", len(pools), err)
	}
}

// pool wraps a spec body (indented two spaces) into a NodePool document.
func pool(name, spec string) string {
	head := "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata:\n"
	if name != "" {
		head += "  name: " + name + "\n"
	} else {
		head += "  labels: {a: b}\n"
	}
	return head + "spec:" + spec
}

func TestLoadNodePoolsRejectsMistakesWithAClearMessage(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		want     string
	}{
		{
			name: "an unknown operator names the field and the allowed operators",
			manifest: pool("default", `
  template:
    spec:
      requirements:
        - {key: kubernetes.io/arch, operator: In, values: [amd64]}
        - {key: kubernetes.io/os, operator: Inn, values: [linux]}
`),
			want: `nodepool "default": spec.template.spec.requirements[1].operator "Inn" is not one of In, NotIn, Exists, DoesNotExist, Gt, Lt, Gte, Lte`,
		},
		{
			name:     "weight zero says to omit it",
			manifest: pool("default", "\n  weight: 0\n"),
			want:     `nodepool "default": spec.weight 0 must be between 1 and 100 (omit it for 0)`,
		},
		{
			name:     "weight above 100 is out of range",
			manifest: pool("default", "\n  weight: 101\n"),
			want:     `spec.weight 101 must be between 1 and 100`,
		},
		{
			name: "budget nodes must be a count or percentage",
			manifest: pool("default", `
  disruption:
    budgets:
      - nodes: abc
`),
			want: `nodepool "default": spec.disruption.budgets[0].nodes "abc" must be a count like "5" or a percentage like "10%"`,
		},
		{
			name: "budget percentages stop at 100",
			manifest: pool("default", `
  disruption:
    budgets:
      - nodes: 101%
`),
			want: `spec.disruption.budgets[0].nodes "101%" must be a count`,
		},
		{
			name: "a schedule without a duration",
			manifest: pool("default", `
  disruption:
    budgets:
      - nodes: "0"
        schedule: "@daily"
`),
			want: `spec.disruption.budgets[0] has a schedule but no duration; schedule and duration must be set together`,
		},
		{
			name: "a duration without a schedule",
			manifest: pool("default", `
  disruption:
    budgets:
      - nodes: "0"
        duration: 1h
`),
			want: `spec.disruption.budgets[0] has a duration but no schedule; schedule and duration must be set together`,
		},
		{
			name: "a schedule that is not cron",
			manifest: pool("default", `
  disruption:
    budgets:
      - nodes: "0"
        schedule: "every monday"
        duration: 1h
`),
			want: `spec.disruption.budgets[0].schedule "every monday" is not a cron schedule`,
		},
		{
			name: "an unknown budget reason",
			manifest: pool("default", `
  disruption:
    budgets:
      - nodes: "1"
        reasons: [Expired]
`),
			want: `spec.disruption.budgets[0].reasons[0] "Expired" is not one of Underutilized, Empty, Drifted`,
		},
		{
			name:     "a missing name",
			manifest: pool("", "\n  weight: 5\n"),
			want:     `nodepool in document 1: metadata.name is missing; every NodePool needs a unique name`,
		},
		{
			name:     "two pools with one name",
			manifest: pool("default", "\n  weight: 5\n") + "---\n" + pool("default", "\n  weight: 6\n"),
			want:     `nodepool "default": metadata.name is defined twice (documents 1 and 2); NodePool names must be unique`,
		},
		{
			name: "In without values",
			manifest: pool("default", `
  template:
    spec:
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In}
`),
			want: `nodepool "default": spec.template.spec.requirements[0].values is empty; operator In needs at least one value`,
		},
		{
			name: "Gt with two values",
			manifest: pool("default", `
  template:
    spec:
      requirements:
        - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ["2", "3"]}
`),
			want: `spec.template.spec.requirements[0].values must hold exactly one integer for operator Gt (got 2 values)`,
		},
		{
			name: "Lt with a word",
			manifest: pool("default", `
  template:
    spec:
      requirements:
        - {key: karpenter.k8s.aws/instance-cpu, operator: Lt, values: ["many"]}
`),
			want: `spec.template.spec.requirements[0].values "many" is not an integer; operator Lt compares numbers`,
		},
		{
			name: "Exists with values",
			manifest: pool("default", `
  template:
    spec:
      requirements:
        - {key: karpenter.k8s.aws/instance-gpu-name, operator: Exists, values: [t4]}
`),
			want: `spec.template.spec.requirements[0].values must be empty for operator Exists`,
		},
		{
			name: "minValues above the number of In values",
			manifest: pool("default", `
  template:
    spec:
      requirements:
        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m5, c5], minValues: 3}
`),
			want: `spec.template.spec.requirements[0].minValues 3 is more than the 2 values listed; list more values or lower minValues`,
		},
		{
			name: "a requirement without a key",
			manifest: pool("default", `
  template:
    spec:
      requirements:
        - {operator: Exists}
`),
			want: `spec.template.spec.requirements[0].key is missing`,
		},
		{
			name: "a taint with an unknown effect",
			manifest: pool("default", `
  template:
    spec:
      taints:
        - {key: dedicated, value: gpu, effect: NoScheduleNow}
`),
			want: `spec.template.spec.taints[0].effect "NoScheduleNow" is not one of NoSchedule, PreferNoSchedule, NoExecute`,
		},
		{
			name: "a template label Nodewright owns",
			manifest: pool("default", `
  template:
    metadata:
      labels:
        karpenter.sh/nodepool: other
`),
			want: `spec.template.metadata.labels[karpenter.sh/nodepool] is set by Nodewright itself`,
		},
		{
			name: "an unknown consolidation policy",
			manifest: pool("default", `
  disruption:
    consolidationPolicy: Always
`),
			want: `spec.disruption.consolidationPolicy "Always" is not one of WhenEmpty, WhenEmptyOrUnderutilized`,
		},
		{
			name:     "a NodePool of an older apiVersion",
			manifest: strings.Replace(pool("legacy", "\n  weight: 5\n"), "karpenter.sh/v1", "karpenter.sh/v1beta1", 1),
			want:     `nodepool "legacy": apiVersion "karpenter.sh/v1beta1" is not supported; set apiVersion: karpenter.sh/v1`,
		},
		{
			name: "an expireAfter that is not a duration",
			manifest: pool("default", `
  template:
    spec:
      expireAfter: 30 days
`),
			want: `use a Go duration such as "720h" or "Never"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pools, err := LoadNodePools([]byte(tc.manifest))
			if err == nil {
				t.Fatalf("loaded %d pools without error; want %q", len(pools), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n  %v\nshould contain\n  %s", err, tc.want)
			}
		})
	}
}

func TestLoadNodePoolsReportsEveryProblemAtOnce(t *testing.T) {
	_, err := LoadNodePools([]byte(pool("default", `
  weight: 0
  disruption:
    budgets:
      - nodes: abc
`)))
	if err == nil || !IsValidationError(err) {
		t.Fatalf("err = %v, want validation errors", err)
	}
	for _, want := range []string{"spec.weight", "spec.disruption.budgets[0].nodes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestLoadNodePoolsAcceptsEveryOperatorUsedCorrectly(t *testing.T) {
	_, err := LoadNodePools([]byte(pool("ops", `
  template:
    spec:
      requirements:
        - {key: a, operator: In, values: [x, y], minValues: 2}
        - {key: b, operator: NotIn, values: [x]}
        - {key: c, operator: Exists}
        - {key: d, operator: DoesNotExist}
        - {key: e, operator: Gt, values: ["1"]}
        - {key: f, operator: Lt, values: ["9"]}
        - {key: g, operator: Gte, values: ["1"]}
        - {key: h, operator: Lte, values: ["9"]}
  disruption:
    budgets:
      - nodes: "100%"
      - nodes: "5"
        schedule: "@daily"
        duration: 1h30m
`)))
	if err != nil {
		t.Fatalf("valid pool rejected: %v", err)
	}
}
