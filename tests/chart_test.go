package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/nodewright/nodewright/charts"
	"github.com/nodewright/nodewright/lab/kube"
)

// chartDir is the chart a user installs, relative to this package.
var chartDir = filepath.Join("..", "charts", "nodewright")

// chartInstall is one way a user installs the chart: a release, its namespace and values.
type chartInstall struct {
	name, release, namespace string
	values                   string
	// dryRun applies with a server-side dry run: the release would take over the lab worker's
	// own ServiceAccount and ClusterRole, which other tests run with.
	dryRun bool
	check  func(t *testing.T, r rendered)
}

// The chart's default install, one with IRSA and one for Temporal Cloud with an API key. The
// last two live outside kube-system, so their webhook is off (the CRDs call kube-system's).
var chartInstalls = []chartInstall{
	{
		name: "defaults", release: "nodewright", namespace: "kube-system", dryRun: true,
		values: `settings: {clusterName: lab}`,
		check:  checkDefaultInstall,
	},
	{
		name: "IRSA on a managed node group", release: "nodewright-irsa", namespace: "nodewright-irsa",
		values: `
settings: {clusterName: lab}
webhook: {enabled: false}
serviceAccount:
  annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/nodewright"}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions: [{key: eks.amazonaws.com/nodegroup, operator: Exists}]
`,
		check: checkIRSAInstall,
	},
	{
		name: "Temporal Cloud with an API key", release: "nodewright-cloud", namespace: "nodewright-cloud",
		values: `
settings: {clusterName: lab}
webhook: {enabled: false}
temporal:
  address: us-east-1.aws.api.temporal.io:7233
  namespace: nodewright.a1b2c
  apiKey: {secretName: temporal-cloud, secretKey: key}
`,
		check: checkCloudInstall,
	},
	{
		name: "dev Temporal and the monitoring hooks", release: "nodewright-dev", namespace: "nodewright-dev",
		values: `
settings: {clusterName: lab}
webhook: {enabled: false}
devTemporal: {enabled: true}
serviceMonitor: {enabled: true}
prometheusRule: {enabled: true}
dashboard: {enabled: true}
`,
		check: checkDevInstall,
	},
}

// The chart renders what the issue asks, every object it renders is one the API server
// takes, and its ServiceAccount may do what the worker does and nothing a stolen token should.
func TestChartInstallsOnTheLabCluster(t *testing.T) {
	ch := loadChart(t)
	installCRDsAsHelm(t, ch)
	for _, in := range chartInstalls {
		t.Run(in.name, func(t *testing.T) {
			r, err := renderChart(ch, in.release, in.namespace, in.values)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			in.check(t, r)
			applyRelease(t, in, r)
			if !in.dryRun {
				checkServiceAccountRights(t, in.namespace, r.deployment(t, in.release).Spec.Template.Spec.ServiceAccountName)
			}
		})
	}
}

// Without a cluster name the worker cannot tag its instances: rendering stops and says which
// value to set.
func TestChartRequiresClusterName(t *testing.T) {
	_, err := renderChart(loadChart(t), "nodewright", "kube-system", `temporal: {address: "temporal:7233"}`)
	if err == nil || !strings.Contains(err.Error(), "settings.clusterName") {
		t.Fatalf("render without settings.clusterName: got %v, want an error naming settings.clusterName", err)
	}
}

// settings.clusterLimits and settings.maxHourlyCost reach the worker as the environment its
// flags default from; left empty they set nothing, and 0 is a limit.
func TestChartPassesClusterLimitsToTheWorker(t *testing.T) {
	base := `settings: {clusterName: lab`
	for _, tt := range []struct {
		values string
		want   map[string]string
	}{
		{values: base + `}`, want: map[string]string{"CLUSTER_LIMIT_CPU": "", "CLUSTER_LIMIT_MEMORY": "", "CLUSTER_LIMIT_NODES": "", "MAX_HOURLY_COST": ""}},
		{values: base + `, clusterLimits: {cpu: "512", memory: 2Ti, nodes: 40}, maxHourlyCost: "40.00"}`,
			want: map[string]string{"CLUSTER_LIMIT_CPU": "512", "CLUSTER_LIMIT_MEMORY": "2Ti", "CLUSTER_LIMIT_NODES": "40", "MAX_HOURLY_COST": "40.00"}},
		// A 0 written as a number is a limit that launches nothing, not an empty value.
		{values: base + `, clusterLimits: {cpu: 0, nodes: 0}, maxHourlyCost: 0}`,
			want: map[string]string{"CLUSTER_LIMIT_CPU": "0", "CLUSTER_LIMIT_MEMORY": "", "CLUSTER_LIMIT_NODES": "0", "MAX_HOURLY_COST": "0"}},
		// Numbers Helm reads as float64 are written as plain decimals, never as 1e+06.
		{values: base + `, clusterLimits: {cpu: 1000000, memory: 2.5, nodes: 100}, maxHourlyCost: 1000000}`,
			want: map[string]string{"CLUSTER_LIMIT_CPU": "1000000", "CLUSTER_LIMIT_MEMORY": "2.5", "CLUSTER_LIMIT_NODES": "100", "MAX_HOURLY_COST": "1000000"}},
		{values: base + `, maxHourlyCost: 12.75}`, want: map[string]string{"MAX_HOURLY_COST": "12.75"}},
	} {
		r, err := renderChart(loadChart(t), "nodewright", "kube-system", tt.values)
		if err != nil {
			t.Fatalf("render %s: %v", tt.values, err)
		}
		worker := workerContainer(t, r.deployment(t, "nodewright").Spec.Template.Spec)
		for name, want := range tt.want {
			if got := envValue(worker, name); got != want {
				t.Errorf("values %s: %s %q, want %q", tt.values, name, got, want)
			}
		}
	}
}

func checkDefaultInstall(t *testing.T, r rendered) {
	spec := r.deployment(t, "nodewright").Spec
	if spec.Replicas == nil || *spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2: replicas share the task queue", ptr.Deref(spec.Replicas, 1))
	}
	pod := spec.Template.Spec
	if pod.PriorityClassName != "system-cluster-critical" {
		t.Errorf("priorityClassName %q, want system-cluster-critical", pod.PriorityClassName)
	}
	checkZoneSpread(t, pod, spec.Selector.MatchLabels)
	checkNeverOnManagedNodes(t, pod)
	worker := workerContainer(t, pod)
	checkLockedDown(t, worker)
	for name, port := range map[string]int32{"http-metrics": 8080, "http-health": 8081, "https-webhook": 8443} {
		if !slices.ContainsFunc(worker.Ports, func(p corev1.ContainerPort) bool { return p.Name == name && p.ContainerPort == port }) {
			t.Errorf("worker ports %v lack %s %d", worker.Ports, name, port)
		}
	}
	if worker.LivenessProbe == nil || worker.LivenessProbe.HTTPGet == nil || worker.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want GET /healthz", worker.LivenessProbe)
	}
	if got := envValue(worker, "CLUSTER_NAME"); got != "lab" {
		t.Errorf("CLUSTER_NAME %q, want lab", got)
	}
	pdb := decodeAs[policyv1.PodDisruptionBudget](t, r.one(t, "PodDisruptionBudget"))
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, want 1", pdb.Spec.MaxUnavailable)
	}
	svc := decodeAs[corev1.Service](t, r.one(t, "Service"))
	if svc.Name != "nodewright" || svc.Namespace != "kube-system" || !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == 8443 }) {
		t.Errorf("Service %s/%s ports %v: the CRDs call kube-system/nodewright:8443", svc.Namespace, svc.Name, svc.Spec.Ports)
	}
	if !svc.Spec.PublishNotReadyAddresses {
		t.Error("the Service leaves out workers that are not ready: a Temporal blip would stop v1beta1 conversions")
	}
}

func checkIRSAInstall(t *testing.T, r rendered) {
	sa := r.one(t, "ServiceAccount")
	if got := sa.GetAnnotations()["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::111122223333:role/nodewright" {
		t.Errorf("ServiceAccount role-arn annotation %q, want the IRSA role", got)
	}
	pod := r.deployment(t, "nodewright-irsa").Spec.Template.Spec
	checkNeverOnManagedNodes(t, pod)
	terms := pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || !slices.ContainsFunc(terms[0].MatchExpressions, func(e corev1.NodeSelectorRequirement) bool { return e.Key == "eks.amazonaws.com/nodegroup" }) {
		t.Errorf("node selector terms %+v lost the user's eks.amazonaws.com/nodegroup requirement", terms)
	}
	if r.has("Secret") || slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == "webhook-cert" }) {
		t.Errorf("webhook.enabled=false still renders the webhook's certificate")
	}
}

func checkCloudInstall(t *testing.T, r rendered) {
	worker := workerContainer(t, r.deployment(t, "nodewright-cloud").Spec.Template.Spec)
	var apiKey *corev1.EnvVar
	for i := range worker.Env {
		if worker.Env[i].Name == "TEMPORAL_API_KEY" {
			apiKey = &worker.Env[i]
		}
	}
	if apiKey == nil || apiKey.Value != "" || apiKey.ValueFrom == nil || apiKey.ValueFrom.SecretKeyRef == nil ||
		apiKey.ValueFrom.SecretKeyRef.Name != "temporal-cloud" || apiKey.ValueFrom.SecretKeyRef.Key != "key" {
		t.Errorf("TEMPORAL_API_KEY %+v, want it from Secret temporal-cloud key key", apiKey)
	}
	for name, want := range map[string]string{
		"TEMPORAL_TLS": "true", "TEMPORAL_ADDRESS": "us-east-1.aws.api.temporal.io:7233", "TEMPORAL_NAMESPACE": "nodewright.a1b2c",
	} {
		if got := envValue(worker, name); got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
}

func checkDevInstall(t *testing.T, r rendered) {
	worker := workerContainer(t, r.deployment(t, "nodewright-dev").Spec.Template.Spec)
	for name, want := range map[string]string{
		"TEMPORAL_ADDRESS": "nodewright-dev-dev-temporal.nodewright-dev.svc:7233", "CREATE_SEARCH_ATTRIBUTES": "true",
	} {
		if got := envValue(worker, name); got != want {
			t.Errorf("%s %q, want %q: the worker uses the dev server", name, got, want)
		}
	}
	server := r.deployment(t, "nodewright-dev-dev-temporal").Spec.Template.Spec
	checkNeverOnManagedNodes(t, server)
	if args := strings.Join(server.Containers[0].Args, " "); !strings.HasPrefix(args, "server start-dev --ip=0.0.0.0") {
		t.Errorf("dev server args %q, want temporal server start-dev listening on every interface", args)
	}
	dashboard := decodeAs[corev1.ConfigMap](t, r.one(t, "ConfigMap"))
	if dashboard.Labels["grafana_dashboard"] != "1" || dashboard.Data["nodewright.json"] == "" {
		t.Errorf("dashboard ConfigMap labels %v, data keys %d: want grafana_dashboard \"1\" and the dashboard", dashboard.Labels, len(dashboard.Data))
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(r.one(t, "PrometheusRule").Object, "spec", "groups"); !found {
		t.Errorf("PrometheusRule has no spec.groups from files/alerts.yaml")
	}
	r.one(t, "ServiceMonitor")
}

func checkZoneSpread(t *testing.T, pod corev1.PodSpec, selector map[string]string) {
	t.Helper()
	for _, c := range pod.TopologySpreadConstraints {
		if c.TopologyKey == corev1.LabelTopologyZone && c.MaxSkew == 1 && c.WhenUnsatisfiable == corev1.ScheduleAnyway &&
			c.LabelSelector != nil && fmt.Sprint(c.LabelSelector.MatchLabels) == fmt.Sprint(selector) {
			return
		}
	}
	t.Errorf("topology spread %+v, want maxSkew 1 across zones, ScheduleAnyway, selecting the worker's pods %v", pod.TopologySpreadConstraints, selector)
}

// checkNeverOnManagedNodes: every required node selector term (they are ORed) keeps the
// worker off the nodes it manages.
func checkNeverOnManagedNodes(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	if pod.Affinity == nil || pod.Affinity.NodeAffinity == nil || pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		t.Fatalf("no required node affinity: the worker could run on a node it manages")
	}
	terms := pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		t.Errorf("no required node selector terms: the worker could run on a node it manages")
	}
	for i, term := range terms {
		if !slices.ContainsFunc(term.MatchExpressions, func(e corev1.NodeSelectorRequirement) bool {
			return e.Key == "karpenter.sh/nodepool" && e.Operator == corev1.NodeSelectorOpDoesNotExist
		}) {
			t.Errorf("node selector term %d %+v lacks karpenter.sh/nodepool DoesNotExist", i, term.MatchExpressions)
		}
	}
}

func checkLockedDown(t *testing.T, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) ||
		ptr.Deref(sc.AllowPrivilegeEscalation, true) || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("worker security context %+v, want non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp", sc)
	}
}

func workerContainer(t *testing.T, pod corev1.PodSpec) corev1.Container {
	t.Helper()
	for _, c := range pod.Containers {
		if c.Name == "worker" {
			return c
		}
	}
	t.Fatalf("no worker container among %d", len(pod.Containers))
	return corev1.Container{}
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// rendered is a release's objects, in the order of the chart's template files.
type rendered []*unstructured.Unstructured

func (r rendered) has(kind string) bool {
	return slices.ContainsFunc(r, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind })
}

// one is the release's only object of the kind.
func (r rendered) one(t *testing.T, kind string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range r {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the chart rendered %d objects of kind %s, want 1", len(found), kind)
	}
	return found[0]
}

// deployment is the release's Deployment of that name.
func (r rendered) deployment(t *testing.T, name string) appsv1.Deployment {
	t.Helper()
	for _, o := range r {
		if o.GetKind() == "Deployment" && o.GetName() == name {
			return decodeAs[appsv1.Deployment](t, o)
		}
	}
	t.Fatalf("the chart rendered no Deployment %s", name)
	return appsv1.Deployment{}
}

func decodeAs[T any](t *testing.T, o *unstructured.Unstructured) T {
	t.Helper()
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &v, true); err != nil {
		t.Fatalf("rendered %s %s is not a valid %T: %v", o.GetKind(), o.GetName(), v, err)
	}
	return v
}

func loadChart(t *testing.T) *chartv2.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart %s: %v", chartDir, err)
	}
	return ch
}

// renderChart renders the chart as `helm template --namespace <namespace> <release>` does,
// with values given as YAML.
func renderChart(ch *chartv2.Chart, release, namespace, values string) (rendered, error) {
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(values), &vals); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	top, err := chartutil.ToRenderValues(ch, vals, common.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true}, nil)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		if strings.HasSuffix(name, ".yaml") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var objs rendered
	for _, name := range names {
		for _, doc := range strings.Split(files[name], "\n---") {
			obj := map[string]any{}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if len(obj) > 0 {
				objs = append(objs, &unstructured.Unstructured{Object: obj})
			}
		}
	}
	return objs, nil
}

// installCRDsAsHelm installs the chart's crds/ as `helm install` does: created when absent,
// never changed when present (the lab installed the same files, which charts' own test keeps
// equal to crds/, and a worker may have set their CA bundle since).
func installCRDsAsHelm(t *testing.T, ch *chartv2.Chart) {
	t.Helper()
	client, err := apiextensionsclient.NewForConfig(lab.Kube.Admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t, time.Minute)
	crds := ch.CRDObjects()
	if len(crds) == 0 {
		t.Fatalf("the chart has no crds/")
	}
	for _, c := range crds {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(c.File.Data, crd); err != nil {
			t.Fatalf("chart CRD %s: %v", c.Filename, err)
		}
		if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{FieldManager: "helm-test"}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("install chart CRD %s: %v", crd.Name, err)
		}
	}
}

// applyRelease applies the release's objects with server-side apply, as Helm 4 does, into
// its namespace (created as by --create-namespace), and removes them after the test.
func applyRelease(t *testing.T, in chartInstall, r rendered) {
	t.Helper()
	ctx := testContext(t, time.Minute)
	if !in.dryRun {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.namespace}}
		if _, err := lab.Kube.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create namespace %s: %v", in.namespace, err)
		}
		t.Cleanup(func() { deleteRelease(t, in.namespace, r) })
	}
	opts := metav1.PatchOptions{FieldManager: "helm-test"}
	if in.dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, obj := range r {
		if !served(t, obj.GetAPIVersion()) {
			// The Prometheus Operator's kinds, off by default; the lab has no such CRDs.
			t.Logf("skip %s %s: the lab serves no %s", obj.GetKind(), obj.GetName(), obj.GetAPIVersion())
			continue
		}
		data, err := yaml.Marshal(obj.Object)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kube.ApplyWith(ctx, lab.Kube.Admin, data, opts); err != nil {
			t.Errorf("the API server refused the chart's %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
}

// served reports whether the API server serves the group version.
func served(t *testing.T, groupVersion string) bool {
	t.Helper()
	_, err := lab.Kube.Client.Discovery().ServerResourcesForGroupVersion(groupVersion)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("discover %s: %v", groupVersion, err)
	}
	return err == nil
}

// deleteRelease removes a release's cluster-wide objects and its namespace's workloads; the
// lab has no namespace controller to empty a deleted namespace.
func deleteRelease(t *testing.T, namespace string, r rendered) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := lab.Kube.Client
	for _, obj := range r {
		switch obj.GetKind() {
		case "ClusterRole":
			_ = c.RbacV1().ClusterRoles().Delete(ctx, obj.GetName(), metav1.DeleteOptions{})
		case "ClusterRoleBinding":
			_ = c.RbacV1().ClusterRoleBindings().Delete(ctx, obj.GetName(), metav1.DeleteOptions{})
		case "FlowSchema":
			_ = c.FlowcontrolV1().FlowSchemas().Delete(ctx, obj.GetName(), metav1.DeleteOptions{})
		}
	}
	_ = c.AppsV1().Deployments(namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	_ = c.AppsV1().ReplicaSets(namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	_ = c.CoreV1().Pods(namespace).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, metav1.ListOptions{})
	if err := c.CoreV1().Namespaces().Delete(ctx, namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Logf("clean-up: delete namespace %s: %v", namespace, err)
	}
}

// access is one `kubectl auth can-i` question: may the worker do verb on resource?
type access struct {
	verb, group, resource, subresource, name, namespace string
}

func (a access) String() string {
	s := a.verb + " " + a.resource
	if a.group != "" {
		s += "." + a.group
	}
	if a.subresource != "" {
		s += "/" + a.subresource
	}
	if a.name != "" {
		s += " " + a.name
	}
	if a.namespace != "" {
		s += " in " + a.namespace
	} else {
		s += " in every namespace"
	}
	return s
}

// checkServiceAccountRights asks the API server, as `kubectl auth can-i --as` does, what the
// release's ServiceAccount may do: every verb of the chart's rules, and none of the writes a
// stolen token could turn into the cluster (Secrets, workloads, RBAC).
func checkServiceAccountRights(t *testing.T, namespace, serviceAccount string) {
	t.Helper()
	allowed, err := accessesGrantedByRules()
	if err != nil {
		t.Fatal(err)
	}
	allowed = append(allowed,
		access{verb: "create", resource: "events", namespace: namespace},
		access{verb: "create", resource: "pods", subresource: "eviction", namespace: "default"},
		access{verb: "update", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "ec2nodeclasses.karpenter.k8s.aws"},
	)
	var denied []access
	for _, verb := range []string{"create", "update", "patch", "delete"} {
		denied = append(denied,
			access{verb: verb, resource: "secrets"},
			access{verb: verb, resource: "secrets", namespace: namespace},
			access{verb: verb, resource: "configmaps", namespace: "kube-system"},
			access{verb: verb, resource: "configmaps", namespace: "default"},
			access{verb: verb, group: "apps", resource: "deployments", namespace: namespace},
			access{verb: verb, group: "apps", resource: "deployments"},
		)
		for _, rbac := range []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"} {
			denied = append(denied, access{verb: verb, group: "rbac.authorization.k8s.io", resource: rbac})
		}
	}
	denied = append(denied,
		access{verb: "get", resource: "secrets", namespace: namespace},
		access{verb: "list", resource: "secrets"},
		access{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
		access{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
		access{verb: "update", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "nodeclaims.karpenter.sh"},
	)
	user := "system:serviceaccount:" + namespace + ":" + serviceAccount
	for _, a := range allowed {
		if !mayDo(t, user, namespace, a) {
			t.Errorf("%s may not %s, which the worker does", user, a)
		}
	}
	for _, a := range denied {
		if mayDo(t, user, namespace, a) {
			t.Errorf("%s may %s, which the worker never does", user, a)
		}
	}
}

// accessesGrantedByRules lists every verb of every resource the chart's rules name.
func accessesGrantedByRules() ([]access, error) {
	rules, err := charts.WorkerRules()
	if err != nil {
		return nil, err
	}
	var out []access
	for _, rule := range rules {
		names := rule.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, group := range rule.APIGroups {
			for _, res := range rule.Resources {
				resource, sub, _ := strings.Cut(res, "/")
				for _, verb := range rule.Verbs {
					for _, name := range names {
						out = append(out, access{verb: verb, group: group, resource: resource, subresource: sub, name: name})
					}
				}
			}
		}
	}
	return out, nil
}

// mayDo asks the API server whether the service account user may do a, with the groups its
// token carries.
func mayDo(t *testing.T, user, namespace string, a access) bool {
	t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   user,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Name: a.name, Namespace: a.namespace,
		},
	}}
	got, err := lab.Kube.Client.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), review, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("ask whether %s may %s: %v", user, a, err)
	}
	return got.Status.Allowed
}
