package advise

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
)

// ruleCase is a snapshot and the objects one rule should name: one finding per entry, its
// objects joined by ", "; none when the rule should stay silent.
type ruleCase struct {
	rule string
	name string
	snap Snapshot
	want []string
}

// skippedNamespace is the namespace the rule cases tell Check to skip.
const skippedNamespace = "kube-system"

// worker labels a pod template as the chart labels the worker's.
func worker() podOption { return labelled(LabelAppName, DefaultWorkerName) }

// ruleCases are the cases of every rule: these, and those of edge cases in rules_edge_test.go.
func ruleCases() []ruleCase { return append(baseRuleCases(), edgeRuleCases()...) }

func baseRuleCases() []ruleCase {
	good := pool("default")
	return []ruleCase{
		{"pod-requests", "a Deployment whose container requests nothing",
			Snapshot{NodePools: []apisv1.NodePool{good}, Deployments: []appsv1.Deployment{deployment("shop", "web", 1, noRequests())}},
			[]string{"Deployment shop/web"}},
		{"pod-requests", "a bare pod without requests, named once",
			Snapshot{Pods: []corev1.Pod{podOf("", "shop", "debug", "debug", "", noRequests())}},
			[]string{"Pod shop/debug"}},
		{"pod-requests", "a Deployment with requests, and its pods",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 1)}, Pods: []corev1.Pod{podOf("Deployment", "shop", "web", "web-1", "")}},
			nil},
		{"pod-requests", "limits only, which the API server copies into requests",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 1, limitsOnly())}},
			nil},
		{"pod-requests", "a template without requests whose pods a LimitRange gave them",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 1, noRequests())}, Pods: []corev1.Pod{podOf("Deployment", "shop", "web", "web-1", "")}},
			nil},
		{"pod-requests", "a namespace the user skips (" + skippedNamespace + ")",
			Snapshot{Deployments: []appsv1.Deployment{deployment(skippedNamespace, "kube-proxy", 1, noRequests())}},
			nil},

		{"memory-limit-equals-request", "a memory limit above the request where the pool consolidates",
			Snapshot{NodePools: []apisv1.NodePool{good}, Deployments: []appsv1.Deployment{deployment("shop", "web", 1, memoryLimit("512Mi"))}},
			[]string{"Deployment shop/web, NodePool default"}},
		{"memory-limit-equals-request", "a pod running on a consolidating pool's node",
			Snapshot{NodePools: []apisv1.NodePool{good, pool("quiet", whenEmpty(), weight(5))}, Nodes: []corev1.Node{node("n1", "default")},
				Pods: []corev1.Pod{podOf("Job", "batch", "report", "report-1", "n1", memoryLimit("1Gi"))}},
			[]string{"Job batch/report, NodePool default"}},
		{"memory-limit-equals-request", "the same limit where the pool consolidates only empty nodes",
			Snapshot{NodePools: []apisv1.NodePool{pool("default", whenEmpty())}, Deployments: []appsv1.Deployment{deployment("shop", "web", 1, memoryLimit("512Mi"))}},
			nil},
		{"memory-limit-equals-request", "pinned to a pool that does not consolidate underutilized nodes",
			Snapshot{NodePools: []apisv1.NodePool{good, pool("quiet", whenEmpty(), weight(5))},
				Deployments: []appsv1.Deployment{deployment("shop", "web", 1, memoryLimit("512Mi"), pinnedTo("quiet"))}},
			nil},
		{"memory-limit-equals-request", "a pod on a node no NodePool manages",
			Snapshot{NodePools: []apisv1.NodePool{good}, Nodes: []corev1.Node{node("static-1", "")},
				Pods: []corev1.Pod{podOf("", "shop", "tool", "tool", "static-1", memoryLimit("1Gi"))}},
			nil},

		{"nodepool-overlap", "two pools of equal weight allowing the same offerings",
			Snapshot{NodePools: []apisv1.NodePool{pool("b"), pool("a")}},
			[]string{"NodePool a, NodePool b"}},
		{"nodepool-overlap", "the same two pools with distinct weights",
			Snapshot{NodePools: []apisv1.NodePool{pool("a", weight(10)), pool("b")}},
			nil},
		{"nodepool-overlap", "equal weights but disjoint architectures",
			Snapshot{NodePools: []apisv1.NodePool{
				pool("arm", require(apisv1.LabelArch, corev1.NodeSelectorOpIn, "arm64")),
				pool("amd", require(apisv1.LabelArch, corev1.NodeSelectorOpIn, "amd64"))}},
			nil},

		{"spot-instance-types", "a spot pool naming two instance types",
			Snapshot{NodePools: []apisv1.NodePool{pool("spot", spot(), require(apisv1.LabelInstanceType, corev1.NodeSelectorOpIn, "m5.large", "m5.xlarge"))}},
			[]string{"NodePool spot"}},
		{"spot-instance-types", "a spot pool of three families",
			Snapshot{NodePools: []apisv1.NodePool{pool("spot", spot())}},
			nil},
		{"spot-instance-types", "an on-demand pool naming two instance types",
			Snapshot{NodePools: []apisv1.NodePool{pool("od", require(apisv1.LabelInstanceType, corev1.NodeSelectorOpIn, "m5.large", "m5.xlarge"))}},
			nil},

		{"nodepool-limits", "a pool without limits",
			Snapshot{NodePools: []apisv1.NodePool{pool("open", withoutLimits())}},
			[]string{"NodePool open"}},
		{"nodepool-limits", "a pool with limits", Snapshot{NodePools: []apisv1.NodePool{good}}, nil},
		{"nodepool-limits", "a pool capped by its hourly cost", Snapshot{NodePools: []apisv1.NodePool{pool("capped", withoutLimits(), costCapped("25.00"))}}, nil},

		{"disruption-budgets", "a pool with no budget",
			Snapshot{NodePools: []apisv1.NodePool{pool("default", withoutBudgets())}},
			[]string{"NodePool default"}},
		{"disruption-budgets", "a pool with a budget", Snapshot{NodePools: []apisv1.NodePool{good}}, nil},

		{"worker-on-managed-node", "a worker pod on a node of a NodePool",
			Snapshot{NodePools: []apisv1.NodePool{good}, Nodes: []corev1.Node{node("n1", "default")},
				Pods: []corev1.Pod{podOf("Deployment", "kube-system", "nodewright", "nodewright-1", "n1", worker(), offManagedNodes())}},
			[]string{"Pod kube-system/nodewright-1, Node n1, NodePool default"}},
		{"worker-on-managed-node", "a worker Deployment free to land on managed nodes",
			Snapshot{Deployments: []appsv1.Deployment{deployment("kube-system", "nodewright", 1, worker())}},
			[]string{"Deployment kube-system/nodewright"}},
		{"worker-on-managed-node", "the chart's worker on a node no NodePool manages",
			Snapshot{NodePools: []apisv1.NodePool{good}, Nodes: []corev1.Node{node("system-1", "")},
				Deployments: []appsv1.Deployment{deployment("kube-system", "nodewright", 1, worker(), offManagedNodes())},
				Pods:        []corev1.Pod{podOf("Deployment", "kube-system", "nodewright", "nodewright-1", "system-1", worker(), offManagedNodes())}},
			nil},

		{"pdb-missing", "three replicas and no PodDisruptionBudget",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 3)}},
			[]string{"Deployment shop/web"}},
		{"pdb-missing", "three replicas covered by a PodDisruptionBudget",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 3)}, PodDisruptionBudgets: []policyv1.PodDisruptionBudget{pdb("shop", "web", count(1), nil)}},
			nil},
		{"pdb-missing", "a budget of another namespace does not count",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 3)}, PodDisruptionBudgets: []policyv1.PodDisruptionBudget{pdb("other", "web", count(1), nil)}},
			[]string{"Deployment shop/web"}},
		{"pdb-missing", "a single replica", Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 1)}}, nil},

		{"pdb-blocks-eviction", "minAvailable 100%",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 3)}, PodDisruptionBudgets: []policyv1.PodDisruptionBudget{pdb("shop", "web", nil, percent("100%"))}},
			[]string{"PodDisruptionBudget shop/web, Deployment shop/web"}},
		{"pdb-blocks-eviction", "maxUnavailable 0",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 3)}, PodDisruptionBudgets: []policyv1.PodDisruptionBudget{pdb("shop", "web", count(0), nil)}},
			[]string{"PodDisruptionBudget shop/web, Deployment shop/web"}},
		{"pdb-blocks-eviction", "minAvailable equal to the replicas",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 3)}, PodDisruptionBudgets: []policyv1.PodDisruptionBudget{pdb("shop", "web", nil, count(3))}},
			[]string{"PodDisruptionBudget shop/web, Deployment shop/web"}},
		{"pdb-blocks-eviction", "minAvailable 60% of three leaves one",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 3)}, PodDisruptionBudgets: []policyv1.PodDisruptionBudget{pdb("shop", "web", nil, percent("60%"))}},
			nil},
		{"pdb-blocks-eviction", "maxUnavailable 1",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 3)}, PodDisruptionBudgets: []policyv1.PodDisruptionBudget{pdb("shop", "web", count(1), nil)}},
			nil},

		{"do-not-disrupt-forever", "a Deployment's pods annotated do-not-disrupt=true",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 1, annotated(apisv1.AnnotationDoNotDisrupt, "true"))}},
			[]string{"Deployment shop/web"}},
		{"do-not-disrupt-forever", "a pod annotated by hand, its Deployment not",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 1)},
				Pods: []corev1.Pod{podOf("Deployment", "shop", "web", "web-1", "", annotated(apisv1.AnnotationDoNotDisrupt, "true"))}},
			[]string{"Pod shop/web-1"}},
		{"do-not-disrupt-forever", "a Job's pod, which finishes",
			Snapshot{Pods: []corev1.Pod{podOf("Job", "batch", "report", "report-1", "", annotated(apisv1.AnnotationDoNotDisrupt, "true"))}},
			nil},
		{"do-not-disrupt-forever", "a duration, which ends",
			Snapshot{Deployments: []appsv1.Deployment{deployment("shop", "web", 1, annotated(apisv1.AnnotationDoNotDisrupt, "30m"))}},
			nil},

		{"spot-expire-never", "a spot pool whose nodes never expire",
			Snapshot{NodePools: []apisv1.NodePool{pool("spot", spot(), expireNever())}},
			[]string{"NodePool spot"}},
		{"spot-expire-never", "an on-demand pool whose nodes never expire",
			Snapshot{NodePools: []apisv1.NodePool{pool("od", expireNever())}},
			nil},
		{"spot-expire-never", "a spot pool with the default expiry",
			Snapshot{NodePools: []apisv1.NodePool{pool("spot", spot())}},
			nil},
	}
}

func TestEachRuleFiresOnItsBreachOnly(t *testing.T) {
	cfg := config(t)
	cfg.SkipNamespaces = []string{skippedNamespace}
	for _, tc := range ruleCases() {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			findings, err := Check(tc.snap, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range findings {
				if f.Rule == tc.rule {
					got = append(got, objectList(f.Objects))
					if f.Message == "" || f.Fix == "" {
						t.Errorf("finding %+v lacks a message or a fix", f)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("rule %s found %q, want %q (all findings: %s)", tc.rule, got, tc.want, describe(findings))
			}
		})
	}
}

// TestEveryRuleHasACaseThatFiresAndOneThatDoesNot keeps the table honest as rules are added.
func TestEveryRuleHasACaseThatFiresAndOneThatDoesNot(t *testing.T) {
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range ruleCases() {
		if len(tc.want) > 0 {
			fires[tc.rule] = true
		} else {
			silent[tc.rule] = true
		}
	}
	for _, r := range Rules() {
		if !fires[r.ID] || !silent[r.ID] {
			t.Errorf("rule %s: a case that fires %v, one that does not %v; add the missing one to ruleCases", r.ID, fires[r.ID], silent[r.ID])
		}
	}
}

func TestAClusterFollowingEveryPracticeRaisesNothing(t *testing.T) {
	snap := Snapshot{
		NodePools: []apisv1.NodePool{pool("default", weight(10)), pool("spot", spot())},
		Nodes:     []corev1.Node{node("n1", "default"), node("system-1", "")},
		Deployments: []appsv1.Deployment{
			deployment("shop", "web", 3),
			deployment("kube-system", "nodewright", 2, worker(), offManagedNodes()),
		},
		Pods: []corev1.Pod{
			podOf("Deployment", "shop", "web", "web-1", "n1"),
			podOf("Deployment", "kube-system", "nodewright", "nodewright-1", "system-1", worker(), offManagedNodes()),
			podOf("Job", "batch", "report", "report-1", "n1", annotated(apisv1.AnnotationDoNotDisrupt, "true")),
		},
		PodDisruptionBudgets: []policyv1.PodDisruptionBudget{pdb("shop", "web", count(1), nil), pdb("kube-system", "nodewright", nil, count(1))},
	}
	findings, err := Check(snap, config(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) > 0 {
		t.Errorf("a clean cluster raised %s", describe(findings))
	}
}

func TestFindingsComeErrorsFirstInAFixedOrder(t *testing.T) {
	snap := Snapshot{
		NodePools:   []apisv1.NodePool{pool("b", withoutLimits()), pool("a", withoutLimits(), weight(3))},
		Deployments: []appsv1.Deployment{deployment("shop", "web", 3, noRequests()), deployment("shop", "api", 1, noRequests())},
	}
	var first string
	for i := range 20 {
		// Shuffle the input: the report must not depend on the order objects were listed.
		slices.Reverse(snap.NodePools)
		slices.Reverse(snap.Deployments)
		findings, err := Check(snap, config(t))
		if err != nil {
			t.Fatal(err)
		}
		got := describe(findings)
		if i == 0 {
			first = got
			if !HasErrors(findings) || findings[0].Severity != Error || findings[len(findings)-1].Severity == Error {
				t.Errorf("findings not errors first: %s", got)
			}
		} else if got != first {
			t.Fatalf("report changed with the input order:\n%s\nthen\n%s", first, got)
		}
	}
	want := "error pod-requests [Deployment shop/api]; error pod-requests [Deployment shop/web]; " +
		"warning nodepool-limits [NodePool a]; warning nodepool-limits [NodePool b]; warning pdb-missing [Deployment shop/web]"
	if first != want {
		t.Errorf("report\n %s\nwant\n %s", first, want)
	}
}

func TestABadRequirementIsAnError(t *testing.T) {
	_, err := Check(Snapshot{NodePools: []apisv1.NodePool{pool("bad", require("karpenter.k8s.aws/instance-cpu", corev1.NodeSelectorOpGt, "many"))}}, config(t))
	if err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("error = %v, want one naming NodePool bad", err)
	}
}

func describe(fs []Finding) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s %s [%s]", f.Severity, f.Rule, objectList(f.Objects))
	}
	return strings.Join(parts, "; ")
}
