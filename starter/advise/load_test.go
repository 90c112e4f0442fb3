package advise

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/apis/loader"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
)

// manifest holds a v1beta1 NodePool without limits, a Deployment whose container requests
// nothing, a kubectl List with a pod, and a Service, which advise does not read.
const manifest = `apiVersion: karpenter.sh/v1beta1
kind: NodePool
metadata:
  name: legacy
spec:
  template:
    spec:
      nodeClassRef:
        name: default
      requirements:
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["on-demand"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: app
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: debug, namespace: tools}
    spec:
      containers:
        - name: sh
          image: busybox
          resources:
            requests: {cpu: 10m, memory: 16Mi}
            limits: {memory: 16Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports: [{port: 80}]
`

func newLoader(t *testing.T) *loader.Loader {
	t.Helper()
	ld, err := loader.New()
	if err != nil {
		t.Fatal(err)
	}
	return ld
}

func TestAddManifestReadsPoolsOfAnyVersionAndWorkloads(t *testing.T) {
	var s Snapshot
	if _, err := AddManifest(context.Background(), newLoader(t), "cluster.yaml", []byte(manifest), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.NodePools) != 1 || len(s.Deployments) != 1 || len(s.Pods) != 1 {
		t.Fatalf("read %d pools, %d deployments, %d pods; want 1 of each", len(s.NodePools), len(s.Deployments), len(s.Pods))
	}
	if s.Deployments[0].Namespace != "default" || s.Pods[0].Namespace != "tools" {
		t.Errorf("namespaces %q and %q, want default (as kubectl places it) and tools", s.Deployments[0].Namespace, s.Pods[0].Namespace)
	}
	findings, err := Check(s, config(t))
	if err != nil {
		t.Fatal(err)
	}
	got := describe(findings)
	want := "error pod-requests [Deployment default/web]; warning nodepool-limits [NodePool legacy]"
	if got != want {
		t.Errorf("findings\n %s\nwant\n %s", got, want)
	}
}

func TestAddManifestNamesTheFileDocumentAndField(t *testing.T) {
	bad := "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec: {containers: [{name: a, image: a}]}\n---\n" +
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: typo}\nspec: {replica: 3}\n"
	var s Snapshot
	_, err := AddManifest(context.Background(), newLoader(t), "app.yaml", []byte(bad), &s)
	if err == nil || !strings.Contains(err.Error(), "app.yaml: document 2: Deployment typo") || !strings.Contains(err.Error(), "replica") {
		t.Errorf("error = %v, want one naming app.yaml, document 2, Deployment typo and the field replica", err)
	}
}

// TestAddManifestWarnsOfKindsItDoesNotRead: an object dropped unseen would be judged
// absent (an old PodDisruptionBudget would make pdb-missing report the workload it covers),
// while kinds that mean nothing to a plan or to advice pass without a word.
func TestAddManifestWarnsOfKindsItDoesNotRead(t *testing.T) {
	tests := []struct {
		name, doc, want string // want "" for no warning
	}{
		{"an old PodDisruptionBudget", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}\n",
			"app.yaml: document 1: PodDisruptionBudget web: not read: a PodDisruptionBudget is read only as policy/v1"},
		{"a misspelled Deployment", "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: web}\nspec: {replicas: 3}\n",
			"app.yaml: document 1: Deploymnet web: not read: apps/v1 has no kind Deploymnet; check the spelling of kind"},
		{"a misspelled core kind", "apiVersion: v1\nkind: pod\nmetadata: {name: web}\n",
			"app.yaml: document 1: pod web: not read: v1 has no kind pod; check the spelling of kind"},
		{"a misspelled NodePool", "apiVersion: karpenter.sh/v1\nkind: NodePol\nmetadata: {name: web}\n",
			"app.yaml: document 1: NodePol web: not read: karpenter.sh/v1 has no kind NodePol; check the spelling of kind"},
		{"a Service", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n", ""},
		{"a CronJob", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: web}\n", ""},
		{"another project's kind", "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: web}\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A pod read besides, so the file is not one of which nothing is read.
			doc := tc.doc + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec: {containers: [{name: a, image: a}]}\n"
			checkWarnings(t, "app.yaml", doc, tc.want)
		})
	}
}

func TestFromClusterReadsEveryKindThroughTheLoader(t *testing.T) {
	pool := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": map[string]any{"name": "default"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"nodeClassRef": map[string]any{"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
			"requirements": []any{},
		}}},
	}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		apisv1.NodePoolResource: "NodePoolList", awsv1.EC2NodeClassResource: "EC2NodeClassList",
	}, pool)
	kube := kubefake.NewClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{apisv1.LabelNodePool: "default", apisv1.LabelZone: "us-east-1b"}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "bare"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app"}}}},
	)
	s, _, err := FromCluster(context.Background(), kube, dyn, newLoader(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.NodePools) != 1 || len(s.Nodes) != 1 || len(s.Pods) != 1 {
		t.Fatalf("read %d pools, %d nodes, %d pods; want 1 of each", len(s.NodePools), len(s.Nodes), len(s.Pods))
	}
	if got := s.NodePools[0].Spec.Disruption.Budgets; len(got) != 1 || got[0].Nodes != apisv1.DefaultBudgetNodes {
		t.Errorf("budgets %+v: the loader's defaults were not applied", got)
	}
	if zones := Zones(&s); len(zones) != 1 || zones[0] != "us-east-1b" {
		t.Errorf("zones = %v, want the node's us-east-1b", zones)
	}
}

// TestAnObjectGivenTwiceIsJudgedOnce: as with kubectl apply, a later object of one kind,
// namespace and name replaces the earlier, so a file given twice, or a file's pool over the
// cluster's, is neither reported as overlapping itself nor counted twice.
func TestAnObjectGivenTwiceIsJudgedOnce(t *testing.T) {
	ctx, ld := context.Background(), newLoader(t)
	var twice Snapshot
	for range 2 {
		if _, err := AddManifest(ctx, ld, "cluster.yaml", []byte(manifest), &twice); err != nil {
			t.Fatal(err)
		}
	}
	if len(twice.NodePools) != 1 || len(twice.Deployments) != 1 || len(twice.Pods) != 1 {
		t.Errorf("a file given twice: %d pools, %d deployments, %d pods; want 1 of each", len(twice.NodePools), len(twice.Deployments), len(twice.Pods))
	}

	// A cluster-scoped object given with a namespace is the same object: kubectl drops it.
	if _, err := AddManifest(ctx, ld, "namespaced.yaml", []byte(strings.Replace(manifest, "  name: legacy\n", "  name: legacy\n  namespace: team-a\n", 1)), &twice); err != nil {
		t.Fatal(err)
	}
	if len(twice.NodePools) != 1 {
		t.Errorf("%d pools after the pool was given again with a namespace, want 1", len(twice.NodePools))
	}

	// A Deployment of the same name in another namespace is another object.
	other := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: other}\n" +
		"spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: a, image: a}]}}}\n"
	if _, err := AddManifest(ctx, ld, "other.yaml", []byte(other), &twice); err != nil {
		t.Fatal(err)
	}
	if len(twice.Deployments) != 2 {
		t.Errorf("%d deployments, want web of default and of other", len(twice.Deployments))
	}

	// The cluster's pool is read first; the file's, with limits, replaces it.
	cluster := Snapshot{NodePools: []apisv1.NodePool{pool("legacy", withoutLimits())}}
	if _, err := AddManifest(ctx, ld, "pool.yaml", []byte(strings.Replace(manifest, "spec:\n  template:", "spec:\n  limits: {cpu: \"10\"}\n  template:", 1)), &cluster); err != nil {
		t.Fatal(err)
	}
	if len(cluster.NodePools) != 1 || len(cluster.NodePools[0].Spec.Limits) == 0 {
		t.Fatalf("pools %+v, want the file's legacy alone", cluster.NodePools)
	}
	findings, err := Check(cluster, config(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describe(findings), "error pod-requests [Deployment default/web]"; got != want {
		t.Errorf("findings\n %s\nwant\n %s", got, want)
	}
}

// TestAFileOfWhichNothingIsReadIsAWarning: "0 findings" for a file advise read nothing of
// would pass it unjudged.
func TestAFileOfWhichNothingIsReadIsAWarning(t *testing.T) {
	configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n"
	tests := []struct {
		name, doc, want string // want "" for no warning
	}{
		{"an empty file", "", "empty.yaml: nothing read: the file holds no object"},
		{"comments only", "# pools go here\n---\n", "empty.yaml: nothing read: the file holds no object"},
		{"ConfigMaps only", configMap + "---\n" + configMap, "empty.yaml: nothing read: none of its 2 objects is a NodePool"},
		{"a List of ConfigMaps", "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n",
			"empty.yaml: nothing read: none of its 1 object is a NodePool"},
		{"a ConfigMap and a Job", configMap + "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\n" +
			"spec: {template: {spec: {restartPolicy: Never, containers: [{name: a, image: a}]}}}\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkWarnings(t, "empty.yaml", tc.doc, tc.want)
		})
	}
}

// checkWarnings adds doc, read from file, to an empty snapshot and checks its warnings: none
// when want is empty, else one starting with want.
func checkWarnings(t *testing.T, file, doc, want string) {
	t.Helper()
	var s Snapshot
	warnings, err := AddManifest(context.Background(), newLoader(t), file, []byte(doc), &s)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case want == "" && len(warnings) > 0:
		t.Errorf("warnings %q, want none", warnings)
	case want != "" && (len(warnings) != 1 || !strings.HasPrefix(warnings[0], want)):
		t.Errorf("warnings %q, want one starting %q", warnings, want)
	}
}
