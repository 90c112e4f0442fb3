package kube

import (
	"context"
	"fmt"

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
	factory.Start(ctx.Done())
	go pdbc.Run(ctx, 2)
	go dc.Run(ctx, 5)
	go rsc.Run(ctx, 5)
	go sac.Run(ctx, 1)
	return nil
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
