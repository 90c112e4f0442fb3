package advise

import (
	"context"
	"errors"
	"fmt"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/apis/loader"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/apis/v1alpha1"
)

// FromCluster reads a snapshot through the API server: NodePools and EC2NodeClasses as the
// worker reads them (through the loader, so v1 with defaults), nodes, pods, Deployments,
// StatefulSets and PodDisruptionBudgets of every namespace. The warnings name objects the
// loader read with a remark or could not read (those are left out).
func FromCluster(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface, ld *loader.Loader) (Snapshot, []string, error) {
	s, warnings, err := NodePoolsFromCluster(ctx, dyn, ld)
	if err != nil {
		return s, nil, err
	}
	if err := listBuiltIn(ctx, kube, &s); err != nil {
		return s, nil, err
	}
	return s, warnings, nil
}

// NodePoolsFromCluster reads the cluster's NodePools and EC2NodeClasses, statuses included,
// as the worker reads them; the warnings name those read with a remark or left out.
func NodePoolsFromCluster(ctx context.Context, dyn dynamic.Interface, ld *loader.Loader) (Snapshot, []string, error) {
	var s Snapshot
	var warnings []string
	pools, err := listCustom(ctx, dyn, apisv1.NodePoolResource)
	if err != nil {
		return s, nil, err
	}
	for _, u := range pools {
		pool, w, err := ld.StoredNodePool(ctx, u.Object)
		warnings = append(warnings, remarks(apisv1.KindNodePool, u.GetName(), w, err)...)
		if err == nil {
			s.NodePools = append(s.NodePools, *pool)
		}
	}
	classes, err := listCustom(ctx, dyn, awsv1.EC2NodeClassResource)
	if err != nil {
		return s, nil, err
	}
	for _, u := range classes {
		class, w, err := ld.StoredEC2NodeClass(ctx, u.Object)
		warnings = append(warnings, remarks(awsv1.KindEC2NodeClass, u.GetName(), w, err)...)
		if err == nil {
			s.NodeClasses = append(s.NodeClasses, *class)
		}
	}
	return s, warnings, nil
}

// ClusterPoliciesFromCluster adds the cluster's ClusterPolicies to s; none when the API
// server does not serve them (the worker then plans within its flags' limits only).
func ClusterPoliciesFromCluster(ctx context.Context, dyn dynamic.Interface, s *Snapshot) ([]string, error) {
	policies, err := dyn.Resource(v1alpha1.ClusterPolicyResource).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", v1alpha1.ClusterPolicyResource.GroupResource(), err)
	}
	var warnings []string
	for i := range policies.Items {
		if err := decodeInto(&policies.Items[i], &s.ClusterPolicies); err != nil {
			warnings = append(warnings, fmt.Sprintf("%s %s is not read: %v", v1alpha1.KindClusterPolicy, policies.Items[i].GetName(), err))
		}
	}
	return warnings, nil
}

func listCustom(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource) ([]unstructured.Unstructured, error) {
	list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("the API server does not serve %s: install Nodewright's CRDs (kubectl apply -f crds/), or check files with -f", gvr.GroupResource())
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
	}
	return list.Items, nil
}

func listBuiltIn(ctx context.Context, kube kubernetes.Interface, s *Snapshot) error {
	all := metav1.ListOptions{}
	nodes, err := kube.CoreV1().Nodes().List(ctx, all)
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	pods, err := kube.CoreV1().Pods("").List(ctx, all)
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	deployments, err := kube.AppsV1().Deployments("").List(ctx, all)
	if err != nil {
		return fmt.Errorf("list deployments: %w", err)
	}
	statefulSets, err := kube.AppsV1().StatefulSets("").List(ctx, all)
	if err != nil {
		return fmt.Errorf("list statefulsets: %w", err)
	}
	pdbs, err := kube.PolicyV1().PodDisruptionBudgets("").List(ctx, all)
	if err != nil {
		return fmt.Errorf("list poddisruptionbudgets: %w", err)
	}
	s.Nodes = append(s.Nodes, nodes.Items...)
	s.Pods = append(s.Pods, pods.Items...)
	s.Deployments = append(s.Deployments, deployments.Items...)
	s.StatefulSets = append(s.StatefulSets, statefulSets.Items...)
	s.PodDisruptionBudgets = append(s.PodDisruptionBudgets, pdbs.Items...)
	return nil
}

func remarks(kind, name string, warnings []string, err error) []string {
	var out []string
	for _, w := range warnings {
		out = append(out, fmt.Sprintf("%s %s: %s", kind, name, w))
	}
	if err != nil {
		out = append(out, fmt.Sprintf("%s %s is not checked: %v", kind, name, err))
	}
	return out
}

// AddManifest adds the objects of a multi-document YAML manifest (kubectl's List included) to
// the snapshot: NodePools and EC2NodeClasses of any served version, read as `kubectl apply`
// would take them, and Pods, Nodes, Deployments, StatefulSets, PodDisruptionBudgets,
// ReplicaSets, Jobs, DaemonSets and ClusterPolicies. An object of the same kind, namespace
// and name as one already in the snapshot replaces it, as `kubectl apply` would: the same
// file given twice is judged once, and a file's object wins over the cluster's.
// Other kinds are skipped; a file of which nothing is read is a warning, since its
// "0 findings" would pass it unjudged. Errors name the file, the document and the object.
func AddManifest(ctx context.Context, ld *loader.Loader, file string, data []byte, s *Snapshot) ([]string, error) {
	objs, err := loader.Objects(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var warnings []string
	var errs []error
	read := 0
	for i, obj := range objs {
		for _, item := range itemsOf(obj) {
			ok, w, err := add(ctx, ld, item, s)
			where := fmt.Sprintf("%s: document %d: %s %s", file, i+1, item.GetKind(), item.GetName())
			for _, remark := range w {
				warnings = append(warnings, where+": "+remark)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
			if ok {
				read++
			}
		}
	}
	if n := countItems(objs); read == 0 && len(errs) == 0 {
		what := "the file holds no object"
		if n > 0 {
			what = fmt.Sprintf("none of its %d %s is a NodePool, EC2NodeClass, Node, Pod, Deployment, StatefulSet, PodDisruptionBudget, "+
				"ReplicaSet, Job, DaemonSet or ClusterPolicy", n, plural(n, "object", "objects"))
		}
		warnings = append(warnings, fmt.Sprintf("%s: nothing read: %s; check that it is the file you meant", file, what))
	}
	return warnings, errors.Join(errs...)
}

// countItems counts the objects of a file, a List's items each.
func countItems(objs []*unstructured.Unstructured) int {
	n := 0
	for _, obj := range objs {
		n += len(itemsOf(obj))
	}
	return n
}

// itemsOf expands a List (kubectl get -o yaml) into its items.
func itemsOf(obj *unstructured.Unstructured) []*unstructured.Unstructured {
	if !obj.IsList() {
		return []*unstructured.Unstructured{obj}
	}
	var out []*unstructured.Unstructured
	_ = obj.EachListItem(func(o runtime.Object) error {
		if u, ok := o.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
		return nil
	})
	return out
}

// add adds u to the snapshot, replacing an object of its kind, namespace and name; read
// says whether it did.
func add(ctx context.Context, ld *loader.Loader, u *unstructured.Unstructured, s *Snapshot) (read bool, warnings []string, err error) {
	gvk := u.GroupVersionKind()
	switch gvk.Kind {
	case apisv1.KindNodePool, awsv1.KindEC2NodeClass, v1alpha1.KindClusterPolicy, "Node":
		u.SetNamespace("") // cluster-scoped: kubectl apply drops a namespace given
	}
	switch gvk.GroupKind() {
	case schema.GroupKind{Group: apisv1.Group, Kind: apisv1.KindNodePool}:
		pool, w, err := ld.NodePool(ctx, u.Object)
		if err == nil {
			put(&s.NodePools, *pool)
		}
		return err == nil, w, err
	case schema.GroupKind{Group: awsv1.Group, Kind: awsv1.KindEC2NodeClass}:
		class, w, err := ld.EC2NodeClass(ctx, u.Object)
		if err == nil {
			put(&s.NodeClasses, *class)
		}
		return err == nil, w, err
	case schema.GroupKind{Group: v1alpha1.Group, Kind: v1alpha1.KindClusterPolicy}:
		if gvk.Version != v1alpha1.SchemeGroupVersion.Version {
			return false, nil, fmt.Errorf("%s is served as %s only", v1alpha1.KindClusterPolicy, v1alpha1.SchemeGroupVersion)
		}
		return decoded(decodeInto(u, &s.ClusterPolicies))
	}
	if u.GetNamespace() == "" && gvk.Kind != "Node" {
		u.SetNamespace(metav1.NamespaceDefault) // as kubectl apply places it
	}
	switch gvk {
	case corev1.SchemeGroupVersion.WithKind("Pod"):
		return decoded(decodeInto(u, &s.Pods))
	case corev1.SchemeGroupVersion.WithKind("Node"):
		return decoded(decodeInto(u, &s.Nodes))
	case appsv1.SchemeGroupVersion.WithKind("Deployment"):
		return decoded(decodeInto(u, &s.Deployments))
	case appsv1.SchemeGroupVersion.WithKind("StatefulSet"):
		return decoded(decodeInto(u, &s.StatefulSets))
	case policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"):
		return decoded(decodeInto(u, &s.PodDisruptionBudgets))
	case appsv1.SchemeGroupVersion.WithKind("ReplicaSet"):
		return decoded(decodeInto(u, &s.ReplicaSets))
	case batchv1.SchemeGroupVersion.WithKind("Job"):
		return decoded(decodeInto(u, &s.Jobs))
	case appsv1.SchemeGroupVersion.WithKind("DaemonSet"):
		return decoded(decodeInto(u, &s.DaemonSets))
	}
	// A kind read in another version (an old policy/v1beta1 PodDisruptionBudget) would be
	// dropped unseen, and judged absent; other kinds (Services, ConfigMaps) mean nothing here.
	for _, known := range readKinds() {
		if known.Kind == gvk.Kind {
			return false, []string{fmt.Sprintf("not read: a %s is read only as %s; convert it to that version", gvk.Kind, known.GroupVersion())}, nil
		}
	}
	// A kind no API server serves (a typo: Deploymnet) would be dropped unseen too, where
	// kubectl apply would refuse it.
	if unservedKind(gvk) {
		return false, []string{fmt.Sprintf("not read: %s has no kind %s; check the spelling of kind", gvk.GroupVersion(), gvk.Kind)}, nil
	}
	return false, nil, nil
}

func decoded(err error) (bool, []string, error) { return err == nil, nil, err }

// unservedKind reports a kind that is not one of its group's, in a group whose kinds are all
// known: Kubernetes' built-in groups and Karpenter's and Nodewright's.
func unservedKind(gvk schema.GroupVersionKind) bool {
	switch gvk.Group {
	case apisv1.Group, awsv1.Group, v1alpha1.Group:
		return true // the kinds of these groups return from add before
	}
	return kubescheme.Scheme.IsVersionRegistered(gvk.GroupVersion()) && !kubescheme.Scheme.Recognizes(gvk)
}

// readKinds are the workload kinds add reads, each in its one version.
func readKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{
		corev1.SchemeGroupVersion.WithKind("Pod"), corev1.SchemeGroupVersion.WithKind("Node"),
		appsv1.SchemeGroupVersion.WithKind("Deployment"), appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
		appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), appsv1.SchemeGroupVersion.WithKind("DaemonSet"),
		policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"), batchv1.SchemeGroupVersion.WithKind("Job"),
	}
}

// decodeInto decodes u and puts it in list; a field the type does not have is an error,
// as kubectl's strict field validation makes it.
func decodeInto[T any, P objectPtr[T]](u *unstructured.Unstructured, list *[]T) error {
	var obj T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, &obj, true); err != nil {
		return fmt.Errorf("%w (check the spelling and indentation against the %s API)", err, u.GetAPIVersion())
	}
	put[T, P](list, obj)
	return nil
}

// objectPtr is a pointer to an API object, whose namespace and name identify it.
type objectPtr[T any] interface {
	*T
	metav1.Object
}

// put replaces the object of list with obj's namespace and name (a list holds one kind), or
// appends obj: the later of two wins, as with `kubectl apply`.
func put[T any, P objectPtr[T]](list *[]T, obj T) {
	key := P(&obj)
	for i := range *list {
		if have := P(&(*list)[i]); have.GetNamespace() == key.GetNamespace() && have.GetName() == key.GetName() {
			(*list)[i] = obj
			return
		}
	}
	*list = append(*list, obj)
}

// Zones are the zones the snapshot's nodes and NodePools name, sorted; pools are judged
// against instance types offered there.
func Zones(s *Snapshot) []string {
	var out []string
	for _, n := range s.Nodes {
		if z := n.Labels[apisv1.LabelZone]; z != "" {
			out = append(out, z)
		}
	}
	for _, p := range s.NodePools {
		for _, r := range p.Spec.Template.Spec.Requirements {
			if r.Key == apisv1.LabelZone && r.Operator == corev1.NodeSelectorOpIn {
				out = append(out, r.Values...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(slices.DeleteFunc(out, func(z string) bool { return strings.TrimSpace(z) == "" }))
}
