package worker

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"

	"github.com/nodewright/nodewright/activities/market"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/apis/v1alpha1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
	"github.com/nodewright/nodewright/worker/webhook"
)

// kubeClients are the worker's Kubernetes client and the one its events go through, each
// paced by its own rate limiter at the config's QPS and burst (as controller-runtime's
// event recorders, Karpenter's among them, have their own client): a scale-out of 1,000 pods
// records 1,000 Nominated events in its first seconds, which on one limiter queued the
// NodeClaims, Node updates and reads that launch and register nodes behind them.
func kubeClients(cfg *rest.Config) (api, events kubernetes.Interface, err error) {
	if api, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	own := rest.CopyConfig(cfg)
	own.RateLimiter = nil // a limiter of its own, from QPS and burst
	if events, err = kubernetes.NewForConfig(own); err != nil {
		return nil, nil, fmt.Errorf("kubernetes client for events: %w", err)
	}
	return api, events, nil
}

// newRecorder returns an events.k8s.io recorder reporting as nodewright; the broadcaster
// deduplicates and rate-limits, and stops with ctx.
func newRecorder(ctx context.Context, kube kubernetes.Interface) (events.EventRecorder, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apisv1.AddToScheme, awsv1.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("events scheme: %w", err)
		}
	}
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: kube.EventsV1()})
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		return nil, fmt.Errorf("start events broadcaster: %w", err)
	}
	go func() {
		<-ctx.Done()
		broadcaster.Shutdown()
	}()
	return broadcaster.NewRecorder(scheme, "nodewright"), nil
}

// newPodRecorder records the pods' FailedScheduling events through core/v1, one event per
// distinct message (see activities.Planner.Recorder).
func newPodRecorder(ctx context.Context, kube kubernetes.Interface) record.EventRecorder {
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	go func() {
		<-ctx.Done()
		broadcaster.Shutdown()
	}()
	return broadcaster.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: "nodewright"})
}

// requireNodeAPIs checks that the API server serves the NodePool, NodeClaim and EC2NodeClass
// APIs, so that a worker without --nodepools fails at start with the fix rather than
// watching nothing.
func requireNodeAPIs(kube kubernetes.Interface) error {
	for gv, resources := range map[string][]string{
		apisv1.SchemeGroupVersion.String(): {apisv1.NodePoolResource.Resource, apisv1.NodeClaimResource.Resource},
		awsv1.SchemeGroupVersion.String():  {awsv1.EC2NodeClassResource.Resource},
	} {
		list, err := kube.Discovery().ServerResourcesForGroupVersion(gv)
		if err != nil {
			return fmt.Errorf("no --nodepools file, and the API server does not serve %s (%v): install the CRDs with `kubectl apply -f crds/`, or pass --nodepools FILE", gv, err)
		}
		for _, want := range resources {
			if !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == want }) {
				return fmt.Errorf("no --nodepools file, and the API server does not serve %s in %s: install the CRDs with `kubectl apply -f crds/`", want, gv)
			}
		}
	}
	return nil
}

// serveWebhook starts the conversion webhook and points the CRDs at it.
func serveWebhook(ctx context.Context, cfg Config, kubeCfg *rest.Config, log *slog.Logger) error {
	client, err := apiextensionsclient.NewForConfig(kubeCfg)
	if err != nil {
		return fmt.Errorf("apiextensions client: %w", err)
	}
	return webhook.Serve(ctx, webhook.Options{Addr: cfg.WebhookAddr, URL: cfg.WebhookURL, CertDir: cfg.WebhookCertDir}, client, log.With("component", "webhook"))
}

func newDynamic(kubeCfg *rest.Config) (dynamic.Interface, error) {
	dyn, err := dynamic.NewForConfig(kubeCfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	return dyn, nil
}

// instanceTypeLabels gives each instance type's well-known labels (karpenter.k8s.aws/instance-*,
// arch, os), which nodes and NodeClaims carry as Karpenter's do: the catalog's, else those of
// the record derived from what EC2 says of a type the catalog lacks.
func instanceTypeLabels(types []catalog.Type, region string, snapshot func() *market.Snapshot) func(string) map[string]string {
	byName := map[string]map[string]string{}
	for _, t := range types {
		byName[t.Name] = catalog.Labels(t, region)
	}
	return func(name string) map[string]string {
		if l, ok := byName[name]; ok {
			return l
		}
		if t, ok := snapshot().Derived(name); ok {
			return catalog.Labels(t, region)
		}
		return nil
	}
}
