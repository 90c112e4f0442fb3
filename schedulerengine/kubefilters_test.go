package schedulerengine_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/interpodaffinity"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodeaffinity"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodeports"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/noderesources"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/podtopologyspread"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/tainttoleration"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	schedulermetrics "k8s.io/kubernetes/pkg/scheduler/metrics"
)

// kubeFilters runs the kube-scheduler's own filter plugins (node affinity, taints, node
// ports, resources, inter-pod affinity, topology spread) for one pod and one node against
// a cluster state the test swaps in before each check. It is how the property test asks
// "would the real scheduler bind this pod there?" without trusting the engine's own code.
type kubeFilters struct {
	lister  *swappableLister
	plugins []fwk.FilterPlugin
}

// swappableLister serves the snapshot currently in place to plugins created once.
type swappableLister struct{ *cache.Snapshot }

func newKubeFilters(t *testing.T, namespaceLabels map[string]map[string]string) *kubeFilters {
	t.Helper()
	schedulermetrics.Register() // the plugins' parallelizer reports to these; registering is idempotent
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var objs []runtime.Object
	for name, labels := range namespaceLabels {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	}
	factory := informers.NewSharedInformerFactory(fake.NewClientset(objs...), 0)
	factory.Core().V1().Namespaces().Lister() // register the informer before starting
	lister := &swappableLister{Snapshot: cache.NewSnapshot(nil, nil)}
	handle, err := frameworkruntime.NewFramework(ctx, nil, nil,
		frameworkruntime.WithSnapshotSharedLister(lister), frameworkruntime.WithInformerFactory(factory))
	if err != nil {
		t.Fatalf("kube-scheduler framework: %v", err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	features := feature.Features{EnableNodeInclusionPolicyInPodTopologySpread: true, EnableMatchLabelKeysInPodTopologySpread: true}
	fit := &config.NodeResourcesFitArgs{ScoringStrategy: &config.ScoringStrategy{Type: config.LeastAllocated,
		Resources: []config.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}}}
	builders := []struct {
		name    string
		factory frameworkruntime.PluginFactory
		args    runtime.Object
	}{
		{"NodeAffinity", frameworkruntime.FactoryAdapter(features, nodeaffinity.New), &config.NodeAffinityArgs{}},
		{"TaintToleration", frameworkruntime.FactoryAdapter(features, tainttoleration.New), nil},
		{"NodePorts", frameworkruntime.FactoryAdapter(features, nodeports.New), nil},
		{"NodeResourcesFit", frameworkruntime.FactoryAdapter(features, noderesources.NewFit), fit},
		{"InterPodAffinity", frameworkruntime.FactoryAdapter(features, interpodaffinity.New), &config.InterPodAffinityArgs{HardPodAffinityWeight: 1}},
		{"PodTopologySpread", frameworkruntime.FactoryAdapter(features, podtopologyspread.New), &config.PodTopologySpreadArgs{DefaultingType: config.ListDefaulting}},
	}
	k := &kubeFilters{lister: lister}
	for _, b := range builders {
		p, err := b.factory(ctx, b.args, handle)
		if err != nil {
			t.Fatalf("kube-scheduler plugin %s: %v", b.name, err)
		}
		k.plugins = append(k.plugins, p.(fwk.FilterPlugin))
	}
	return k
}

// check runs every plugin's PreFilter and Filter for pod on node, given the bound pods (each
// with NodeName set) and all nodes. It returns nil when the kube-scheduler would bind there.
func (k *kubeFilters) check(pod *corev1.Pod, node string, bound []*corev1.Pod, nodes []*corev1.Node) error {
	ctx := context.Background()
	k.lister.Snapshot = cache.NewSnapshot(bound, nodes)
	infos, err := k.lister.NodeInfos().List()
	if err != nil {
		return err
	}
	target, err := k.lister.Get(node)
	if err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	state := framework.NewCycleState()
	for _, p := range k.plugins {
		if pre, ok := p.(fwk.PreFilterPlugin); ok {
			result, status := pre.PreFilter(ctx, state, pod, infos)
			if status.Code() == fwk.Skip {
				continue
			}
			if !status.IsSuccess() {
				return fmt.Errorf("%s PreFilter: %v", p.Name(), status.AsError())
			}
			if result != nil && !result.AllNodes() && !result.NodeNames.Has(node) {
				return fmt.Errorf("%s PreFilter leaves out node %s", p.Name(), node)
			}
		}
		if status := p.Filter(ctx, state, pod, target); !status.IsSuccess() {
			return fmt.Errorf("%s: %v", p.Name(), status.AsError())
		}
	}
	return nil
}
