package kube

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/controller-manager/pkg/informerfactory"
	"k8s.io/kubernetes/pkg/controller/garbagecollector"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/controller/deployment"
	"k8s.io/kubernetes/pkg/controller/disruption"
	"k8s.io/kubernetes/pkg/controller/replicaset"
	"k8s.io/kubernetes/pkg/controller/serviceaccount"
)

// startControllers runs the slice of kube-controller-manager a workload needs in the lab:
// Deployments make ReplicaSets, ReplicaSets make Pods, every namespace gets the "default"
// service account the ServiceAccount admission plugin insists on, and PodDisruptionBudgets get
// the status the Eviction API decides by.
func startControllers(ctx context.Context, client kubernetes.Interface, cfg *rest.Config) error {
	factory := informers.NewSharedInformerFactory(client, 0)
	apps := factory.Apps().V1()
	core := factory.Core().V1()

	dc, err := deployment.NewDeploymentController(ctx, apps.Deployments(), apps.ReplicaSets(), core.Pods(), client)
	if err != nil {
		return fmt.Errorf("deployment controller: %w", err)
	}
	rsc := replicaset.NewReplicaSetController(ctx, apps.ReplicaSets(), core.Pods(), client, replicaset.BurstReplicas)
	sac, err := serviceaccount.NewServiceAccountsController(klog.FromContext(ctx), core.ServiceAccounts(), core.Namespaces(), client, serviceaccount.DefaultServiceAccountsControllerOptions())
	if err != nil {
		return fmt.Errorf("service account controller: %w", err)
	}
	pdbc, err := disruptionController(ctx, factory, client, cfg)
	if err != nil {
		return err
	}
	gc, informersStarted, err := garbageCollector(ctx, factory, client, cfg)
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	close(informersStarted)
	go gc.Run(ctx, 5, gcSyncPeriod)
	go gc.Sync(ctx, client.Discovery(), gcSyncPeriod)
	go pdbc.Run(ctx, 2)
	go dc.Run(ctx, 5)
	go rsc.Run(ctx, 5)
	go sac.Run(ctx, 1)
	return nil
}

// gcSyncPeriod is how often the garbage collector looks for new resources (a CRD installed
// after start) to follow.
const gcSyncPeriod = 5 * time.Second

// garbageCollector deletes objects whose owners are gone, as kube-controller-manager does:
// deleting a NodePool deletes its NodeClaims through their owner references. Events are left
// alone, as by default.
func garbageCollector(ctx context.Context, factory informers.SharedInformerFactory, client kubernetes.Interface, cfg *rest.Config) (*garbagecollector.GarbageCollector, chan struct{}, error) {
	metadataClient, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("garbage collector: metadata client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	started := make(chan struct{})
	objects := informerfactory.NewInformerFactory(factory, metadatainformer.NewSharedInformerFactory(metadataClient, 0))
	ignored := map[schema.GroupResource]struct{}{{Group: "", Resource: "events"}: {}, {Group: "events.k8s.io", Resource: "events"}: {}}
	gc, err := garbagecollector.NewGarbageCollector(ctx, client, metadataClient, mapper, ignored, objects, started)
	if err != nil {
		return nil, nil, fmt.Errorf("garbage collector: %w", err)
	}
	// The collector starts the informers it adds for each resource once started is closed.
	return gc, started, nil
}

// disruptionController keeps PodDisruptionBudget status (disruptionsAllowed) current; without
// it every eviction of a covered pod would be refused.
func disruptionController(ctx context.Context, factory informers.SharedInformerFactory, client kubernetes.Interface, cfg *rest.Config) (*disruption.DisruptionController, error) {
	groups, err := restmapper.GetAPIGroupResources(client.Discovery())
	if err != nil {
		return nil, fmt.Errorf("disruption controller: discover API groups: %w", err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	scales, err := scale.NewForConfig(cfg, mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(client.Discovery()))
	if err != nil {
		return nil, fmt.Errorf("disruption controller: scale client: %w", err)
	}
	core, apps := factory.Core().V1(), factory.Apps().V1()
	return disruption.NewDisruptionController(ctx, core.Pods(), factory.Policy().V1().PodDisruptionBudgets(),
		core.ReplicationControllers(), apps.ReplicaSets(), apps.Deployments(), apps.StatefulSets(),
		client, mapper, scales, client.Discovery()), nil
}
