package activities

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// NodeCache is the cluster's Nodes as one watch sees them, indexed by provider ID: node
// workflows waiting for their Node to register and become Ready look here, so a thousand
// claims booting at once cost one watch instead of a thousand lists every poll.
type NodeCache struct {
	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
}

const byProviderID = "providerID"

// NewNodeCache builds the cache on the factory's Node informer; Run fills it.
func NewNodeCache(factory informers.SharedInformerFactory) *NodeCache {
	informer := factory.Core().V1().Nodes().Informer()
	_ = informer.AddIndexers(cache.Indexers{byProviderID: func(obj any) ([]string, error) {
		if n, ok := obj.(*corev1.Node); ok && n.Spec.ProviderID != "" {
			return []string{n.Spec.ProviderID}, nil
		}
		return nil, nil
	}})
	return &NodeCache{factory: factory, informer: informer}
}

// Run watches Nodes until ctx ends; it fails if the first list never completes.
func (c *NodeCache) Run(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced) && ctx.Err() == nil {
		return fmt.Errorf("the cache of Nodes did not sync")
	}
	<-ctx.Done()
	return nil
}

// Synced reports whether the cache has been filled once.
func (c *NodeCache) Synced() bool { return c.informer.HasSynced() }

// ByProviderID returns the Node of an instance, if one has registered.
func (c *NodeCache) ByProviderID(providerID string) (*corev1.Node, bool) {
	objs, err := c.informer.GetIndexer().ByIndex(byProviderID, providerID)
	if err != nil || len(objs) == 0 {
		return nil, false
	}
	return objs[0].(*corev1.Node), true
}

// Get returns the named Node, if it exists.
func (c *NodeCache) Get(name string) (*corev1.Node, bool) {
	obj, ok, err := c.informer.GetStore().GetByKey(name)
	if err != nil || !ok {
		return nil, false
	}
	return obj.(*corev1.Node), true
}
