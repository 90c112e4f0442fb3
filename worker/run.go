package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/nodewright/nodewright/activities"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/apis/loader"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
	"github.com/nodewright/nodewright/worker/clusterpolicy"
	"github.com/nodewright/nodewright/worker/nodeclaims"
	"github.com/nodewright/nodewright/worker/nodepools"
	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// Run runs the worker until ctx ends. It returns an error only for a setup failure or a
// component that stopped on its own.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Probes first: the kubelet asks from the start, and a start takes a while.
	var probing *startingProbes
	if cfg.HealthProbeAddr != "" {
		probing = newStartingProbes()
		srv, err := serve(cfg.HealthProbeAddr, "--health-probe-addr", probeMux(probing), log)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	// Temporal first: a worker that cannot run its workflows (unreachable, refused, search
	// attributes missing) says so at once, before minutes of cache and market reads.
	m := newMetrics()
	sdkMetrics, sdkMetricsCloser := newSDKMetricsHandler(m, log.With("component", "temporal"))
	defer sdkMetricsCloser.Close()
	tc, err := dialTemporal(ctx, cfg.Temporal, sdkMetrics, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := ensureSearchAttributes(ctx, tc.OperatorService(), cfg.Temporal, cfg.CreateSearchAttributes, log); err != nil {
		return err
	}
	ld, err := loader.New()
	if err != nil {
		return err
	}
	types, err := catalog.Load()
	if err != nil {
		return err
	}
	kubeCfg, err := kubeConfig(cfg)
	if err != nil {
		return err
	}
	kube, eventsKube, err := kubeClients(kubeCfg)
	if err != nil {
		return err
	}
	recorder, err := newRecorder(ctx, eventsKube)
	if err != nil {
		return err
	}
	ec2Client, err := newEC2Client(ctx, cfg)
	if err != nil {
		return err
	}
	// The market is read before launches can run: a type it lists beyond the catalog is
	// labelled from what EC2 says of it.
	live, err := startMarket(ctx, cfg, ec2Client, types, log.With("component", "market"))
	if err != nil {
		return err
	}
	typeLabels := instanceTypeLabels(types, cfg.Region, live.Snapshot)
	joining := &nodeCluster{cfg: cfg}
	if _, err := joining.Get(ctx); err != nil {
		// Launches ask again; draining, terminating and interruptions need none of it.
		log.Warn("the cluster's endpoint, CA and service CIDR are not known yet; launches wait for them", "error", err)
	}
	resolver, err := classResolver(ctx, cfg, ec2Client, kube)
	if err != nil {
		return err
	}
	ec2Acts := &activities.EC2{API: ec2Client, ClusterName: cfg.ClusterName, ClusterFrom: joining.Get, InstanceTypeLabels: typeLabels, Metrics: m.activities}
	nodeClaims := &activities.NodeClaims{Kube: kube, Recorder: recorder, InstanceTypeLabels: typeLabels, Nominations: activities.NewNominationLimiter()}

	// Unschedulable pods go to the Provisioner; it runs once the worker is up.
	watcher := newPodWatcher(kube, provisionerSignal(tc, cfg), m, log.With("component", "podwatcher"))

	// Each kind is watched and cached once for the whole worker: a second informer of pods,
	// Nodes or NodeClaims would double both the memory and the API server's watch traffic.
	// Every reader of the factory's informers is built before the first Run starts it: an
	// indexer is best added to an informer that has not started.
	informerFactory := activities.NewInformerFactory(kube)
	nodeCache := activities.NewNodeCache(informerFactory)
	clusterCache := activities.NewClusterCache(informerFactory, nodeCache)
	watcher.planned = clusterCache.Pod // signal a pod once the plans' cache shows it pending

	// NodePools come from the file, or live from the API server with NodeClaims beside them.
	errc := make(chan error, 9)
	var pools activities.NodePoolSource
	var caches []cacheCheck
	// Cluster-wide limits come from the flags, and from a ClusterPolicy when the pools are live.
	var limits activities.ClusterLimitsSource = activities.StaticClusterLimits(cfg.ClusterLimits)
	if cfg.NodePoolsFile != "" {
		var classes *fileClasses
		if pools, classes, err = loadNodePoolsFile(ctx, ld, cfg.NodePoolsFile, cfg.NodeClassGroup, resolver, log); err != nil {
			return err
		}
		ec2Acts.Classes = classes
		go func() { errc <- named("EC2NodeClass lookups", classes.Run(ctx)) }()
	} else {
		if err := requireNodeAPIs(kube); err != nil {
			return err
		}
		dyn, err := newDynamic(kubeCfg)
		if err != nil {
			return err
		}
		switch {
		case cfg.NodeClassGroup != awsv1.Group:
			// Beside a Karpenter the CRDs are its own: pointing their conversion at this
			// worker would take them from it.
			log.Info("conversion webhook not served: the CRDs belong to the Karpenter beside this worker", "nodeclassGroup", cfg.NodeClassGroup)
		case cfg.WebhookAddr != "":
			if err := serveWebhook(ctx, cfg, kubeCfg, log); err != nil {
				return err
			}
		}
		policies := clusterpolicy.New(dyn, cfg.ClusterLimits, recorder, log.With("component", "clusterpolicy"))
		policies.OnChange(watcher.resignal)
		go func() { errc <- named("ClusterPolicy watch", policies.Run(ctx)) }()
		caches = append(caches, cacheCheck{name: "ClusterPolicy", synced: policies.Synced})
		limits = policies
		dynFactory := activities.NewDynamicInformerFactory(dyn)
		poolCtl := nodepools.New(dyn, dynFactory, ld, recorder, log.With("component", "nodepools"), cfg.NodeClassGroup)
		poolCtl.ResolveWith(resolver)
		poolCtl.OnClassDeleted(func(ctx context.Context, class *awsv1.EC2NodeClass) error {
			return errors.Join(ec2Acts.DeleteLaunchTemplates(ctx, class.Name), resolver.Profiles.Delete(ctx, class))
		})
		poolCtl.OnPoolReady(watcher.resignal)
		deletions := nodeclaims.New(dyn, kube, nodeclaims.Caches{Dynamic: dynFactory, Kube: informerFactory}, tc, activities.InstanceOwners{EC2: ec2Acts}, cfg.NodeClassGroup, log.With("component", "nodeclaims"))
		go func() { errc <- named("NodePool watch", poolCtl.Run(ctx)) }()
		go func() { errc <- named("NodeClaim deletion watch", deletions.Run(ctx)) }()
		pools, nodeClaims.Client, ec2Acts.Classes = poolCtl, dyn, poolCtl
		nodeClaims.CachedClaims = activities.CachedNodeClaims(dynFactory.ForResource(apisv1.NodeClaimResource).Informer())
		caches = append(caches, cacheCheck{name: "NodePool", synced: poolCtl.Synced}, cacheCheck{name: "NodeClaim", synced: deletions.Synced})
	}

	// Without OnFatalError the SDK worker would stop polling for good while the process,
	// its pod watch and /healthz carried on as if all were well.
	stopped := newWorkerStop()
	w := sdkworker.New(tc, cfg.TaskQueue, cfg.Tuning.sdkOptions(stopped.report))
	if err := registerMarketMetrics(m.registry, live); err != nil {
		return err
	}
	followMarket(ec2Acts, live)
	// The pods of the claims this worker's Provisioner starts are remembered as it starts
	// them, so that the plans after a large scale-out's first need not read hundreds of node
	// workflow histories; claims started elsewhere (another worker, a replacement, before a
	// restart) are still read from their histories.
	claimPods := &activities.NodeWorkflowPods{Client: tc, WorkflowID: workflows.NodeWorkflowID}
	planner := &activities.Planner{Kube: kube, Market: live, Pools: pools, Classes: ec2Acts.Classes, Zones: cfg.Zones, Catalog: types, Recorder: newPodRecorder(ctx, eventsKube), Metrics: m.activities,
		Log:       log.With("component", "planner"),
		ClaimPods: claimPods,
		Limits:    limits}
	podEvents := activities.NewPodEvents()
	w.RegisterWorkflow(workflows.ProvisionerWorkflow)
	w.RegisterWorkflow(workflows.NodeLifecycleWorkflow)
	w.RegisterWorkflow(workflows.DisruptionWorkflow)
	w.RegisterWorkflow(workflows.GarbageCollectorWorkflow)
	w.RegisterActivity(ec2Acts)
	go collectLaunchTemplates(ctx, ec2Acts, log.With("component", "launchtemplates"))
	go func() { errc <- named("Node watch", nodeCache.Run(ctx)) }()
	caches = append(caches, cacheCheck{name: "Node", synced: nodeCache.Synced})
	go func() { errc <- named("pod and PodDisruptionBudget watch", clusterCache.Run(ctx)) }()
	caches = append(caches, cacheCheck{name: "pod and PodDisruptionBudget", synced: clusterCache.Synced})
	planner.Cluster = clusterCache
	nodeClaims.CachedPod, nodeClaims.CachedNode = clusterCache.Pod, nodeCache.Get
	w.RegisterActivity(&activities.Kube{Client: kube, Recorder: recorder, InstanceTypeLabels: typeLabels, Nodes: nodeCache,
		TerminationFinalizer: nodeClaims.Client != nil})
	w.RegisterActivity(nodeClaims)
	w.RegisterActivity(planner)
	w.RegisterActivity(&activities.Disruption{Planner: planner, PodEvents: podEvents, NodeClaims: nodeClaims, Metrics: m.activities, Changes: clusterCache.Changes})
	w.RegisterWorkflow(workflows.InterruptionWorkflow)
	w.RegisterActivity(&activities.Nodes{Client: tc})
	host, _ := os.Hostname() // the SDK client's own identity, for the workflows it starts
	w.RegisterActivity(&activities.Signals{Client: tc, Identity: fmt.Sprintf("%d@%s@", os.Getpid(), host), EagerStart: true, Started: claimPods.Started})
	w.RegisterActivity(&activities.GarbageCollector{EC2: ec2Acts, Kube: kube, Workflows: tc, NodeClaims: nodeClaims.Client, NodeClassGroup: cfg.NodeClassGroup, Metrics: m.activities})
	if cfg.InterruptionQueue != "" {
		sqsClient, err := newSQSClient(ctx, cfg)
		if err != nil {
			return err
		}
		w.RegisterActivity(&activities.Interruptions{API: sqsClient, Metrics: m.activities})
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start Temporal worker on task queue %s: %w", cfg.TaskQueue, err)
	}
	defer w.Stop()

	if err := ensureControllers(ctx, tc, cfg); err != nil {
		return err
	}

	go func() { errc <- named("pod watch", watcher.Run(ctx)) }()
	go func() { errc <- named("pod event watch", podEvents.Run(ctx, informerFactory)) }()
	if cfg.MetricsAddr != "" {
		cluster := newClusterMetrics(informerFactory, pools)
		if err := m.registry.Register(cluster); err != nil {
			return fmt.Errorf("register cluster metrics: %w", err)
		}
		go func() { errc <- named("metrics cache", cluster.Run(ctx)) }()
		srv, err := serve(cfg.MetricsAddr, "--metrics-addr", metricsMux(m, cfg.EnableProfiling), log)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	if probing != nil {
		temporalUp := newOutage("Temporal frontend " + cfg.Temporal.Address)
		go temporalReachable(ctx, tc, temporalUp)
		probing.run(&probes{stopped: stopped, temporal: temporalUp, podWatch: watcher.watch,
			caches: append([]cacheCheck{{name: "pod", synced: watcher.Synced}}, caches...)})
	}
	log.Info("worker running", "temporal", temporalconn.Describe(cfg.Temporal),
		"task_queue", cfg.TaskQueue, "nodepools", nodePoolsFrom(cfg), "metrics", cfg.MetricsAddr, "probes", cfg.HealthProbeAddr,
		"tuning", cfg.Tuning.withDefaults())

	return waitForStop(ctx, errc, stopped)
}

// collectLaunchTemplates deletes the cluster's unused launch templates every
// launchTemplateCollectEvery until ctx ends.
func collectLaunchTemplates(ctx context.Context, e *activities.EC2, log *slog.Logger) {
	tick := time.NewTicker(launchTemplateCollectEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			deleted, err := e.CollectLaunchTemplates(ctx)
			if err != nil && ctx.Err() == nil {
				log.Warn("collect unused launch templates", "error", err)
			}
			if len(deleted) > 0 {
				log.Info("deleted unused launch templates", "names", deleted)
			}
		}
	}
}

// launchTemplateCollectEvery is how often unused launch templates are looked for.
const launchTemplateCollectEvery = 10 * time.Minute

// named labels a component's error; a component that returns nil stopped with the context.
func named(component string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s stopped: %w", component, err)
}

func nodePoolsFrom(cfg Config) string {
	if cfg.NodePoolsFile != "" {
		return cfg.NodePoolsFile
	}
	return "API server"
}

// loadNodePoolsFile reads the NodePools (and the EC2NodeClasses they name) of a --nodepools
// file through the loader, logging what it converted or does not act on.
func loadNodePoolsFile(ctx context.Context, ld *loader.Loader, path, group string, resolver nodepools.Resolver, log *slog.Logger) (activities.StaticNodePools, *fileClasses, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read --nodepools file: %w", err)
	}
	m, err := ld.Load(ctx, data)
	if err != nil {
		return nil, nil, fmt.Errorf("--nodepools %s: %w", path, err)
	}
	if len(m.NodePools) == 0 {
		return nil, nil, fmt.Errorf("--nodepools %s holds no NodePool (karpenter.sh/v1 or v1beta1)", path)
	}
	for _, w := range m.Warnings {
		log.Warn("--nodepools "+path, "warning", w)
	}
	for _, p := range m.NodePools {
		if g := p.Spec.Template.Spec.NodeClassRef.Group; g != group {
			return nil, nil, fmt.Errorf("--nodepools %s: NodePool %q names nodeClassRef group %s, but this worker serves group %s (--nodeclass-group)", path, p.Name, g, group)
		}
	}
	classes, err := resolveFileClasses(ctx, resolver, m.NodeClasses, log)
	if err != nil {
		return nil, nil, fmt.Errorf("--nodepools %s: %w", path, err)
	}
	return activities.StaticNodePools(m.NodePools), classes, nil
}

// provisionerSignal starts the Provisioner if needed and hands it the pods.
func provisionerSignal(tc client.Client, cfg Config) signalFunc {
	return func(ctx context.Context, pods []workflows.PodRef) error {
		_, err := tc.SignalWithStartWorkflow(ctx, workflows.ProvisionerID, workflows.SignalPendingPods,
			pendingPodsSignal(pods, cfg),
			client.StartWorkflowOptions{ID: workflows.ProvisionerID, TaskQueue: cfg.TaskQueue},
			workflows.ProvisionerWorkflow, workflows.ProvisionerInput{})
		if err != nil {
			return fmt.Errorf("signal-with-start %s: %w", workflows.ProvisionerID, err)
		}
		return nil
	}
}

// pendingPodsSignal counts the pods: the planner lists them from the cluster, so the signal
// stays the same size however many are pending. It carries this worker's batching window.
func pendingPodsSignal(pods []workflows.PodRef, cfg Config) workflows.PendingPods {
	return workflows.PendingPods{Count: len(pods), Batch: cfg.batchWindow()}
}

func kubeConfig(cfg Config) (*rest.Config, error) {
	var rc *rest.Config
	var err error
	if cfg.Kubeconfig == "" {
		if rc, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("no --kubeconfig given and not running in a cluster: %w", err)
		}
	} else if rc, err = clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig); err != nil {
		return nil, fmt.Errorf("load --kubeconfig %s: %w", cfg.Kubeconfig, err)
	}
	// In a cluster too: client-go's own 5 per second would hold a scale-out back.
	rc.QPS, rc.Burst = float32(cmp.Or(cfg.KubeClientQPS, 200)), cmp.Or(cfg.KubeClientBurst, 300)
	return rc, nil
}

// ensureControllers starts the singleton controllers this worker serves, keeping any that
// already run: the disruption controller always, the interruption controller when a queue
// is configured. The Provisioner starts on the first pending pod.
func ensureControllers(ctx context.Context, tc client.Client, cfg Config) error {
	start := func(id string, wf, input any) error {
		_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: cfg.TaskQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, wf, input)
		if err != nil {
			return fmt.Errorf("start %s workflow: %w", id, err)
		}
		return nil
	}
	if err := start(workflows.DisruptionID, workflows.DisruptionWorkflow, workflows.DisruptionInput{}); err != nil {
		return err
	}
	if err := garbageCollector(ctx, tc, cfg); err != nil {
		return err
	}
	if cfg.InterruptionQueue != "" {
		return start(workflows.InterruptionID, workflows.InterruptionWorkflow, workflows.InterruptionInput{Queue: cfg.InterruptionQueue})
	}
	return nil
}

// garbageCollector starts the garbage collector, or hands the running one this worker's
// period, or stops it when the period is 0.
func garbageCollector(ctx context.Context, tc client.Client, cfg Config) error {
	every := workflows.Duration(cfg.GarbageCollectEvery)
	if cfg.GarbageCollectEvery == 0 {
		err := tc.SignalWorkflow(ctx, workflows.GarbageCollectorID, "", workflows.SignalGarbageCollectorSettings, workflows.GarbageCollectorSettings{Off: true})
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("stop the garbage collector: %w", err)
		}
		return nil
	}
	_, err := tc.SignalWithStartWorkflow(ctx, workflows.GarbageCollectorID, workflows.SignalGarbageCollectorSettings,
		workflows.GarbageCollectorSettings{Every: every},
		client.StartWorkflowOptions{ID: workflows.GarbageCollectorID, TaskQueue: cfg.TaskQueue},
		workflows.GarbageCollectorWorkflow, workflows.GarbageCollectorInput{Every: every})
	if err != nil {
		return fmt.Errorf("start %s workflow: %w", workflows.GarbageCollectorID, err)
	}
	return nil
}

func awsConfig(ctx context.Context, cfg Config) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.Region)}
	if cfg.Credentials != nil {
		opts = append(opts, awsconfig.WithCredentialsProvider(cfg.Credentials))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	return awsCfg, nil
}

func newSQSClient(ctx context.Context, cfg Config) (*sqs.Client, error) {
	awsCfg, err := awsConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		if cfg.SQSEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.SQSEndpoint)
		}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	}), nil
}

func newEC2Client(ctx context.Context, cfg Config) (*ec2.Client, error) {
	awsCfg, err := awsConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return ec2.NewFromConfig(awsCfg, func(o *ec2.Options) {
		if cfg.EC2Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.EC2Endpoint)
		}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	}), nil
}
