package activities

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// ClusterReader lists what every plan and every disruption pass reads of the cluster.
type ClusterReader interface {
	Pods(ctx context.Context) ([]corev1.Pod, error)
	Nodes(ctx context.Context) ([]corev1.Node, error)
	PodDisruptionBudgets(ctx context.Context) ([]policyv1.PodDisruptionBudget, error)
}

// APIReader lists from the API server on every call, with consistent reads: for one-off
// reads (the starter's plans), for tests without a cache, and for the Nodes of the
// disruption controller's passes.
type APIReader struct {
	Kube kubernetes.Interface
}

func (r APIReader) Pods(ctx context.Context) ([]corev1.Pod, error) {
	list, err := r.Kube.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	return list.Items, nil
}

func (r APIReader) Nodes(ctx context.Context) ([]corev1.Node, error) {
	list, err := r.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return list.Items, nil
}

func (r APIReader) PodDisruptionBudgets(ctx context.Context) ([]policyv1.PodDisruptionBudget, error) {
	list, err := r.Kube.PolicyV1().PodDisruptionBudgets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pod disruption budgets: %w", err)
	}
	return list.Items, nil
}

// ClusterCache keeps pods, Nodes and PodDisruptionBudgets in informer caches, one watch each,
// so that a plan or a disruption pass reads memory rather than listing thousands of objects
// from the API server every few seconds. What it returns is shallow copies of cached
// objects: readers must not change their maps and slices.
type ClusterCache struct {
	factory informers.SharedInformerFactory
	nodes   *NodeCache
	pods    cache.SharedIndexInformer
	pdbs    cache.SharedIndexInformer
	changes *clusterChanges
}

// NewInformerFactory is the factory of the worker's informers, shared so that each kind is
// watched and held once: the node cache, the cluster cache and the metrics' caches.
func NewInformerFactory(client kubernetes.Interface) informers.SharedInformerFactory {
	return informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(dropManagedFields))
}

// NewClusterCache builds the cache on the factory's informers and the worker's Node cache;
// Run fills it.
func NewClusterCache(factory informers.SharedInformerFactory, nodes *NodeCache) *ClusterCache {
	c := &ClusterCache{
		factory: factory,
		nodes:   nodes,
		pods:    factory.Core().V1().Pods().Informer(),
		pdbs:    factory.Policy().V1().PodDisruptionBudgets().Informer(),
		changes: &clusterChanges{},
	}
	c.changes.watch(c.pods, podChanged)
	c.changes.watch(c.pdbs, anyChange)
	c.changes.watch(nodes.informer, nodeChanged)
	return c
}

// Changes counts the changes the watches have seen that a disruption decision could see:
// while it stands still, the pods, Nodes and PodDisruptionBudgets a pass lists are as
// the last pass found them (or a watch is behind).
func (c *ClusterCache) Changes() uint64 { return c.changes.count() }

// NewDynamicInformerFactory is the factory of the worker's informers of its own kinds
// (NodePools, EC2NodeClasses, NodeClaims), shared as NewInformerFactory's, and like them
// without managed fields: every status write of a NodeClaim adds to them.
func NewDynamicInformerFactory(client dynamic.Interface) dynamicinformer.DynamicSharedInformerFactory {
	return withoutManagedFields{dynamicinformer.NewDynamicSharedInformerFactory(client, 0)}
}

type withoutManagedFields struct {
	dynamicinformer.DynamicSharedInformerFactory
}

func (f withoutManagedFields) ForResource(r schema.GroupVersionResource) informers.GenericInformer {
	inf := f.DynamicSharedInformerFactory.ForResource(r)
	transform := dropManagedFields
	if r == v1.NodeClaimResource {
		transform = dropClaimRequirements
	}
	// Refused only once the informer runs, and then its first ForResource has set it.
	_ = inf.Informer().SetTransform(transform)
	return inf
}

// dropClaimRequirements leaves out, besides managed fields, a cached NodeClaim's
// spec.requirements: up to 60 instance types and more, the largest part of a NodeClaim
// decoded as maps (about 1,700 of them after a 5,000-pod scale-out), which no reader of the
// cache uses. A status written from a cached NodeClaim is unaffected: the API server takes
// only the status of an update to /status, and keeps the stored spec. A reader that needs
// the requirements must get the NodeClaim from the API server.
func dropClaimRequirements(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		unstructured.RemoveNestedField(u.Object, "spec", "requirements")
	}
	return dropManagedFields(obj)
}

// dropManagedFields leaves out what no reader uses and what takes most of a cached object's
// memory.
func dropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// Run watches pods and PodDisruptionBudgets until ctx ends (the Node cache runs on its own);
// it fails if their first lists never complete.
func (c *ClusterCache) Run(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.pods.HasSynced, c.pdbs.HasSynced) && ctx.Err() == nil {
		return errors.New("the caches of pods and PodDisruptionBudgets did not sync")
	}
	<-ctx.Done()
	return nil
}

// Synced reports whether pods, Nodes and PodDisruptionBudgets have been listed once.
func (c *ClusterCache) Synced() bool {
	return c.pods.HasSynced() && c.pdbs.HasSynced() && c.nodes.Synced()
}

func (c *ClusterCache) Pods(context.Context) ([]corev1.Pod, error) {
	return cached[corev1.Pod](c.pods, "pods")
}

// Pod is the cached pod, if the cache has it.
func (c *ClusterCache) Pod(namespace, name string) (*corev1.Pod, bool) {
	obj, ok, err := c.pods.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return nil, false
	}
	pod, ok := obj.(*corev1.Pod)
	return pod, ok
}

func (c *ClusterCache) Nodes(context.Context) ([]corev1.Node, error) {
	return cached[corev1.Node](c.nodes.informer, "Nodes")
}

func (c *ClusterCache) PodDisruptionBudgets(context.Context) ([]policyv1.PodDisruptionBudget, error) {
	return cached[policyv1.PodDisruptionBudget](c.pdbs, "PodDisruptionBudgets")
}

// CachedNodeClaims lists the NodeClaims of a dynamic informer, the cached objects themselves,
// not copies: NodeClaims.CachedClaims. From NewDynamicInformerFactory's informer they carry
// no spec.requirements (dropClaimRequirements).
func CachedNodeClaims(informer cache.SharedIndexInformer) func() ([]*unstructured.Unstructured, error) {
	return func() ([]*unstructured.Unstructured, error) {
		if !informer.HasSynced() {
			return nil, errors.New("the cache of NodeClaims has not synced yet")
		}
		objs := informer.GetStore().List()
		out := make([]*unstructured.Unstructured, 0, len(objs))
		for _, obj := range objs {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				out = append(out, u)
			}
		}
		return out, nil
	}
}

// cached copies an informer's objects out; before its first list completes it fails rather
// than answer with an empty cluster (a plan would then see no nodes and launch too many).
func cached[T any](informer cache.SharedIndexInformer, what string) ([]T, error) {
	if !informer.HasSynced() {
		return nil, fmt.Errorf("the cache of %s has not synced yet", what)
	}
	objs := informer.GetStore().List()
	out := make([]T, 0, len(objs))
	for _, obj := range objs {
		if v, ok := obj.(*T); ok {
			out = append(out, *v)
		}
	}
	return out, nil
}
