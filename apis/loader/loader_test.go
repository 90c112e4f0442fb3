package loader

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/apis/conversion"
	v1 "github.com/nodewright/nodewright/apis/v1"
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

// nodeClass is a minimal valid EC2NodeClass named default.
const nodeClass = `
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
  role: NodeRole
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: test}}]
`

func newLoader(t *testing.T) *Loader {
	t.Helper()
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func load(t *testing.T, manifest string) (*Manifest, error) {
	t.Helper()
	return newLoader(t).Load(context.Background(), []byte(manifest))
}

// pool wraps a spec body (indented two spaces) into a NodePool document whose template
// already names the default EC2NodeClass; extra is appended to the template spec.
func pool(name, templateSpec, spec string) string {
	head := "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata:\n"
	if name != "" {
		head += "  name: " + name + "\n"
	} else {
		head += "  labels: {a: b}\n"
	}
	return head + `spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}` + templateSpec + spec + nodeClass
}

func TestLoadReadsTheKarpenterDocsExample(t *testing.T) {
	m, err := load(t, docsExample)
	if err != nil {
		t.Fatalf("load docs example: %v", err)
	}
	if len(m.NodePools) != 2 || len(m.NodeClasses) != 1 {
		t.Fatalf("got %d NodePools and %d EC2NodeClasses, want 2 and 1", len(m.NodePools), len(m.NodeClasses))
	}
	def := m.NodePools[0]
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
	if b := def.Spec.Disruption.Budgets; len(b) != 2 || b[1].Duration == nil || b[1].Duration.Duration != 8*time.Hour ||
		len(b[1].Reasons) != 2 || b[1].Reasons[0] != v1.DisruptionReasonDrifted {
		t.Errorf("budgets = %+v, want the two written", b)
	}
	if tgp := def.Spec.Template.Spec.TerminationGracePeriod; tgp == nil || tgp.Duration != 48*time.Hour {
		t.Errorf("terminationGracePeriod not read: %v", tgp)
	}
	class := m.NodeClasses[0]
	if class.Spec.Role != "KarpenterNodeRole-my-cluster" || class.Spec.AMISelectorTerms[0].Alias != "al2023@latest" {
		t.Errorf("EC2NodeClass not read as written: %+v", class.Spec)
	}
}

func TestLoadAppliesKarpenterDefaults(t *testing.T) {
	m, err := load(t, docsExample)
	if err != nil {
		t.Fatalf("load docs example: %v", err)
	}
	spot := m.NodePools[1]
	if e := spot.Spec.Template.Spec.ExpireAfter; !e.Set || e.Never || e.Duration != 720*time.Hour {
		t.Errorf("expireAfter = %+v, want the 720h default", e)
	}
	if p := spot.Spec.Disruption.ConsolidationPolicy; p != v1.ConsolidationPolicyWhenEmptyOrUnderutilized {
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
	mo := m.NodeClasses[0].Spec.MetadataOptions
	if mo == nil || *mo.HTTPTokens != "required" || *mo.HTTPPutResponseHopLimit != 1 {
		t.Errorf("metadataOptions = %+v, want IMDSv2 with a hop limit of 1", mo)
	}
}

func TestLoadKeepsNeverAsWritten(t *testing.T) {
	m, err := load(t, pool("never", "\n      expireAfter: Never", "\n  disruption:\n    consolidateAfter: Never\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !m.NodePools[0].Spec.Template.Spec.ExpireAfter.Never || !m.NodePools[0].Spec.Disruption.ConsolidateAfter.Never {
		t.Errorf("Never was replaced by a default: %+v %+v", m.NodePools[0].Spec.Template.Spec.ExpireAfter, m.NodePools[0].Spec.Disruption.ConsolidateAfter)
	}
}

func TestLoadOfAFileWithoutNodePoolsIsEmpty(t *testing.T) {
	m, err := load(t, "---\n# nothing here\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
	if err != nil || len(m.NodePools) != 0 {
		t.Fatalf("got %+v, err %v; want no pools and no error", m, err)
	}
}

// The seed's v1beta1 NodePools, as the EKS Best Practices Guide wrote them, load as Karpenter
// v1.0 converts them.
func TestLoadConvertsTheSeedsV1beta1NodePools(t *testing.T) {
	data, err := os.ReadFile("testdata/seed-v1beta1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := load(t, string(data))
	if err != nil {
		t.Fatalf("seed v1beta1 file: %v", err)
	}
	if len(m.NodePools) != 2 || len(m.NodeClasses) != 1 {
		t.Fatalf("got %d pools and %d classes, want 2 and 1", len(m.NodePools), len(m.NodeClasses))
	}
	gpu, general := m.NodePools[0], m.NodePools[1]
	wantRef := v1.NodeClassReference{Group: awsv1.Group, Kind: awsv1.KindEC2NodeClass, Name: "default"}
	for _, p := range m.NodePools {
		if p.APIVersion != "karpenter.sh/v1" || *p.Spec.Template.Spec.NodeClassRef != wantRef {
			t.Errorf("%s: apiVersion %s nodeClassRef %+v, want karpenter.sh/v1 with %+v", p.Name, p.APIVersion, p.Spec.Template.Spec.NodeClassRef, wantRef)
		}
		if !p.Spec.Template.Spec.ExpireAfter.Never {
			t.Errorf("%s: expireAfter %+v, want Never moved from spec.disruption", p.Name, p.Spec.Template.Spec.ExpireAfter)
		}
		if p.Annotations[conversion.AnnotationNodeClassReference] != `{"name":"default"}` {
			t.Errorf("%s: annotations %v, want the v1beta1 reference kept", p.Name, p.Annotations)
		}
	}
	if d := gpu.Spec.Disruption; d.ConsolidationPolicy != v1.ConsolidationPolicyWhenEmpty || d.ConsolidateAfter.Duration != time.Minute {
		t.Errorf("gpu disruption %+v, want WhenEmpty after 1m", d)
	}
	if len(gpu.Spec.Template.Spec.Taints) != 1 || gpu.Spec.Template.Spec.Taints[0].Key != "nvidia.com/gpu" {
		t.Errorf("gpu taints %+v", gpu.Spec.Template.Spec.Taints)
	}
	if d := general.Spec.Disruption; d.ConsolidationPolicy != v1.ConsolidationPolicyWhenEmptyOrUnderutilized || !d.ConsolidateAfter.Set || d.ConsolidateAfter.Duration != 0 {
		t.Errorf("generalcompute disruption %+v, want the v1beta1 default WhenUnderutilized as WhenEmptyOrUnderutilized after 0s", d)
	}
	if len(general.Spec.Template.Spec.Requirements) != 4 || general.Spec.Template.ObjectMeta.Labels["billing-team"] != "my-team" {
		t.Errorf("generalcompute template not kept: %+v", general.Spec.Template)
	}
	class := m.NodeClasses[0]
	if class.APIVersion != "karpenter.k8s.aws/v1" || len(class.Spec.AMISelectorTerms) != 1 || class.Spec.AMISelectorTerms[0].Alias != "al2023@latest" || class.Spec.AMIFamily != nil {
		t.Errorf("EC2NodeClass %+v, want amiFamily AL2023 turned into alias al2023@latest", class.Spec)
	}
}

func TestLoadWarnsAboutWhatV1Dropped(t *testing.T) {
	m, err := load(t, `apiVersion: karpenter.sh/v1beta1
kind: NodePool
metadata:
  name: tuned
spec:
  disruption:
    consolidationPolicy: WhenUnderutilized
    consolidateAfter: Never
  template:
    spec:
      nodeClassRef: {name: default}
      kubelet:
        maxPods: 110
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot]}
`+nodeClass)
	if err != nil {
		t.Fatal(err)
	}
	warnings := strings.Join(m.Warnings, "\n")
	for _, want := range []string{
		`document 1: NodePool "tuned": spec.template.spec.kubelet: v1 keeps kubelet settings on the EC2NodeClass`,
		`spec.disruption.consolidateAfter: Never with WhenUnderutilized becomes 0s`,
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings\n%s\nshould contain\n%s", warnings, want)
		}
	}
	k, err := conversion.KubeletFor(&m.NodePools[0], &m.NodeClasses[0])
	if err != nil || k == nil || *k.MaxPods != 110 {
		t.Errorf("the pool's kubelet is %+v (%v), want maxPods 110 kept for its nodes", k, err)
	}
}

func TestLoadRejectsMistakesNamingTheField(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		want     []string
	}{
		{
			name:     "an unknown operator names the field and the allowed operators",
			manifest: pool("default", "\n        - {key: kubernetes.io/os, operator: Foo, values: [linux]}", ""),
			want:     []string{`NodePool.karpenter.sh "default" is invalid`, `spec.template.spec.requirements[1].operator: Unsupported value: "Foo": supported values: "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte"`},
		},
		{
			name:     "weight above 100",
			manifest: pool("default", "", "\n  weight: 200\n"),
			want:     []string{`spec.weight: Invalid value: 200: spec.weight in body should be less than or equal to 100`},
		},
		{
			name:     "weight zero",
			manifest: pool("default", "", "\n  weight: 0\n"),
			want:     []string{`spec.weight: Invalid value: 0: spec.weight in body should be greater than or equal to 1`},
		},
		{
			name:     "a budget schedule that is not cron at all",
			manifest: pool("default", "", "\n  disruption:\n    consolidateAfter: 0s\n    budgets:\n      - {nodes: \"0\", schedule: \"every monday\", duration: 1h}\n"),
			want:     []string{`spec.disruption.budgets[0].schedule: Invalid value: "every monday": spec.disruption.budgets[0].schedule in body should match`},
		},
		{
			name:     "a budget schedule of five fields that cron cannot read",
			manifest: pool("default", "", "\n  disruption:\n    consolidateAfter: 0s\n    budgets:\n      - {nodes: \"0\", schedule: \"61 * * * *\", duration: 1h}\n"),
			want:     []string{`spec.disruption.budgets[0].schedule: Invalid value: "61 * * * *": not a cron schedule`},
		},
		{
			name:     "a budget schedule that is a time zone alone",
			manifest: pool("default", "", "\n  disruption:\n    consolidateAfter: 0s\n    budgets:\n      - {nodes: \"0\", schedule: \"TZ=UTC\", duration: 1h}\n"),
			want:     []string{`spec.disruption.budgets[0].schedule: Invalid value: "TZ=UTC"`},
		},
		{
			name:     "a negative limit",
			manifest: pool("default", "", "\n  limits: {cpu: \"-10\"}\n"),
			want:     []string{`spec.limits[cpu]: Invalid value: "-10": must not be negative`},
		},
		{
			name:     "budget nodes must be a count or percentage",
			manifest: pool("default", "", "\n  disruption:\n    consolidateAfter: 0s\n    budgets:\n      - nodes: abc\n"),
			want:     []string{`spec.disruption.budgets[0].nodes: Invalid value: "abc"`},
		},
		{
			name:     "budget percentages stop at 100",
			manifest: pool("default", "", "\n  disruption:\n    consolidateAfter: 0s\n    budgets:\n      - nodes: 101%\n"),
			want:     []string{`spec.disruption.budgets[0].nodes: Invalid value: "101%"`},
		},
		{
			name:     "a schedule without a duration",
			manifest: pool("default", "", "\n  disruption:\n    consolidateAfter: 0s\n    budgets:\n      - {nodes: \"0\", schedule: \"@daily\"}\n"),
			want:     []string{`spec.disruption.budgets: Invalid value: 'schedule' must be set with 'duration'`},
		},
		{
			name:     "an unknown budget reason",
			manifest: pool("default", "", "\n  disruption:\n    consolidateAfter: 0s\n    budgets:\n      - {nodes: \"1\", reasons: [Expired]}\n"),
			want:     []string{`spec.disruption.budgets[0].reasons[0]: Unsupported value: "Expired": supported values: "Underutilized", "Empty", "Drifted"`},
		},
		{
			name:     "a disruption block without consolidateAfter",
			manifest: pool("default", "", "\n  disruption:\n    consolidationPolicy: WhenEmpty\n"),
			want:     []string{`spec.disruption.consolidateAfter: Required value`},
		},
		{
			name:     "a missing name",
			manifest: pool("", "", "\n  weight: 5\n"),
			want:     []string{`metadata.name: Required value`},
		},
		{
			name:     "two pools with one name",
			manifest: pool("default", "", "\n  weight: 5\n") + "---\n" + strings.SplitN(pool("default", "", "\n  weight: 6\n"), "\n---\n", 2)[0],
			want:     []string{`NodePool "default" is defined twice (documents 1 and 3)`},
		},
		{
			name:     "In without values",
			manifest: pool("default", "\n        - {key: karpenter.k8s.aws/instance-family, operator: In}", ""),
			want:     []string{`spec.template.spec.requirements: Invalid value: "array": no such key: values evaluating rule: requirements with operator 'In' must have a value defined`},
		},
		{
			name:     "Gt with two values",
			manifest: pool("default", "\n        - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: [\"2\", \"3\"]}", ""),
			want:     []string{`requirements operator 'Gt', 'Lt', 'Gte', or 'Lte' must have a single positive integer value`},
		},
		{
			name:     "Exists with values",
			manifest: pool("default", "\n        - {key: karpenter.k8s.aws/instance-gpu-name, operator: Exists, values: [t4]}", ""),
			want:     []string{`spec.template.spec.requirements[1].values: Invalid value: ["t4"]: must be empty for operator Exists`},
		},
		{
			name:     "minValues above the number of In values",
			manifest: pool("default", "\n        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m5, c5], minValues: 3}", ""),
			want:     []string{`requirements with 'minValues' must have at least that many values specified in the 'values' field`},
		},
		{
			name:     "a capacity type no node can have",
			manifest: strings.Replace(pool("default", "", ""), "values: [on-demand]", "values: [ondemand]", 1),
			want:     []string{`spec.template.spec.requirements[0].values: Unsupported value: ["ondemand"]: supported values: "on-demand", "spot", "reserved"`},
		},
		{
			name:     "a taint with an unknown effect",
			manifest: pool("default", "\n      taints:\n        - {key: dedicated, value: gpu, effect: NoScheduleNow}", ""),
			want:     []string{`spec.template.spec.taints[0].effect: Unsupported value: "NoScheduleNow": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`},
		},
		{
			name:     "a template label Nodewright sets",
			manifest: strings.Replace(pool("default", "", ""), "  template:\n", "  template:\n    metadata:\n      labels:\n        karpenter.sh/nodepool: other\n", 1),
			want:     []string{`label "karpenter.sh/nodepool" is restricted`},
		},
		{
			name:     "an unknown consolidation policy",
			manifest: pool("default", "", "\n  disruption:\n    consolidationPolicy: Always\n    consolidateAfter: 0s\n"),
			want:     []string{`spec.disruption.consolidationPolicy: Unsupported value: "Always": supported values: "WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"`},
		},
		{
			name:     "a NodePool of an apiVersion Nodewright does not serve",
			manifest: strings.Replace(pool("legacy", "", ""), "karpenter.sh/v1", "karpenter.sh/v1alpha5", 1),
			want:     []string{`apiVersion: Unsupported value: "karpenter.sh/v1alpha5": supported values: "karpenter.sh/v1", "karpenter.sh/v1beta1"`},
		},
		{
			name:     "an expireAfter that is not a duration",
			manifest: pool("default", "\n      expireAfter: 30 days", ""),
			want:     []string{`spec.template.spec.expireAfter: Invalid value: "30 days": spec.template.spec.expireAfter in body should match '^(([0-9]+(s|m|h))+|Never)$'`},
		},
		{
			name:     "a misspelt field",
			manifest: pool("default", "\n      expireAfterr: 1h", ""),
			want:     []string{`NodePool "default": strict decoding error: unknown field "spec.template.spec.expireAfterr"`},
		},
		{
			name:     "a pool without a node class",
			manifest: strings.Replace(pool("default", "", ""), "      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}\n", "", 1),
			want:     []string{`spec.template.spec.nodeClassRef: Required value`},
		},
		{
			name:     "a pool naming a class the file does not hold",
			manifest: strings.Replace(pool("default", "", ""), "kind: EC2NodeClass, name: default}", "kind: EC2NodeClass, name: gpu}", 1),
			want:     []string{`NodePool "default": spec.template.spec.nodeClassRef: EC2NodeClass "gpu" is not in the file`},
		},
		{
			name:     "a class with both a role and an instance profile",
			manifest: pool("default", "", "") + "  instanceProfile: Existing\n",
			want:     []string{`EC2NodeClass.karpenter.k8s.aws "default" is invalid: spec: Invalid value: must specify exactly one of ['role', 'instanceProfile']`},
		},
		{
			name:     "a class with an alias of an unknown family",
			manifest: strings.Replace(pool("default", "", ""), "al2023@latest", "ubuntu@latest", 1),
			want:     []string{`family is not supported, must be one of the following`},
		},
		{
			name:     "a class tagging what Nodewright tags",
			manifest: pool("default", "", "") + "  tags:\n    karpenter.sh/nodepool: x\n",
			want:     []string{`spec.tags: Invalid value: tag contains a restricted tag matching karpenter.sh/nodepool`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := load(t, tc.manifest)
			if err == nil {
				t.Fatalf("loaded %d pools without error; want %q", len(m.NodePools), tc.want)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error\n  %v\nshould contain\n  %s", err, want)
				}
			}
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := load(t, pool("default", "", "\n  weight: 0\n  disruption:\n    consolidateAfter: 0s\n    budgets:\n      - nodes: abc\n"))
	if err == nil {
		t.Fatal("loaded an invalid pool")
	}
	for _, want := range []string{"spec.weight", "spec.disruption.budgets[0].nodes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestLoadAcceptsEveryOperatorUsedCorrectly(t *testing.T) {
	_, err := load(t, pool("ops", `
        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m5, c5], minValues: 2}
        - {key: b, operator: NotIn, values: [x]}
        - {key: c, operator: Exists}
        - {key: d, operator: DoesNotExist}
        - {key: e, operator: Gt, values: ["1"]}
        - {key: f, operator: Lt, values: ["9"]}
        - {key: g, operator: Gte, values: ["1"]}
        - {key: h, operator: Lte, values: ["9"]}`, `
  disruption:
    consolidateAfter: 0s
    budgets:
      - nodes: "100%"
      - nodes: "5"
        schedule: "@daily"
        duration: 1h30m
`))
	if err != nil {
		t.Fatalf("valid pool rejected: %v", err)
	}
}

// A NodePool the API server stored under a newer Karpenter's CRDs may hold fields these CRDs
// do not know: read from the API it is used, the field dropped with a warning; in a file the
// same field is refused, as kubectl's strict validation would.
func TestStoredObjectsDropFieldsTheseCRDsDoNotKnow(t *testing.T) {
	l := newLoader(t)
	doc := strings.SplitN(pool("newer", "", "\n  futureField: 3\n"), "\n---\n", 2)[0]
	obj, err := decodeDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, warnings, err := l.StoredNodePool(context.Background(), obj.DeepCopy().Object)
	if err != nil || p.Name != "newer" {
		t.Fatalf("stored pool refused: %v", err)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "spec.futureField") {
		t.Errorf("warnings %v, want the dropped field named", warnings)
	}
	if _, _, err := l.NodePool(context.Background(), obj.DeepCopy().Object); err == nil || !strings.Contains(err.Error(), `unknown field "spec.futureField"`) {
		t.Errorf("from a file: %v, want the unknown field refused", err)
	}
}

func TestObjectsDecodesEveryDocumentAndNamesABadOne(t *testing.T) {
	objs, err := Objects([]byte("# only a comment\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if strings.Join(got, ",") != "Pod/web,Deployment/api" {
		t.Errorf("objects = %v, want Pod/web and Deployment/api", got)
	}
	_, err = Objects([]byte("apiVersion: v1\nkind: Pod\n---\nname: loose\n"))
	if err == nil || !strings.Contains(err.Error(), "document 2") {
		t.Errorf("error = %v, want one naming document 2", err)
	}
}
