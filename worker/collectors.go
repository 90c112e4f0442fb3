package worker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/nodewright/nodewright/activities"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// clusterMetrics serves Karpenter's gauges of the cluster as it is now (pods_state,
// nodes_allocatable, nodepools_usage and nodepools_limit), computed from informer caches at
// every scrape, so that nothing goes stale between scrapes; and it observes each pod's
// startup duration once, when the pod it saw Pending becomes Ready.
type clusterMetrics struct {
	factory informers.SharedInformerFactory
	pods    listersv1.PodLister
	nodes   listersv1.NodeLister
	synced  []cache.InformerSynced
	// pools are the NodePools the worker serves.
	pools activities.NodePoolSource

	podState, nodeAllocatable, poolUsage, poolLimit *prometheus.Desc
	// nodeLabels are the node labels copied onto node series, and their label names.
	nodeLabels, nodeLabelNames []string
	startup                    prometheus.Summary

	mu sync.Mutex
	// pending are the pods seen Pending whose startup is still to be observed.
	pending map[types.UID]bool
}

var _ prometheus.Collector = (*clusterMetrics)(nil)

// Label names, as Karpenter's node and pod metrics controllers name them.
const (
	labelResourceType = "resource_type"
	labelNodeName     = "node_name"
	labelPhase        = "phase"
	labelManaged      = "managed"
)

// resourceNodes is the resource that counts a NodePool's nodes in its usage and limits.
const resourceNodes corev1.ResourceName = "nodes"

// wellKnownLabels are the node labels Karpenter with its AWS provider copies onto its node
// metrics.
func wellKnownLabels() []string {
	return []string{
		v1.LabelNodePool, corev1.LabelTopologyZone, corev1.LabelTopologyRegion, corev1.LabelInstanceTypeStable,
		corev1.LabelArchStable, corev1.LabelOSStable, v1.LabelCapacityType, corev1.LabelWindowsBuild,
		"karpenter.k8s.aws/capacity-reservation-id", "karpenter.k8s.aws/capacity-reservation-type",
		"karpenter.k8s.aws/capacity-reservation-interruptible", "karpenter.k8s.aws/instance-hypervisor",
		"karpenter.k8s.aws/instance-encryption-in-transit-supported", "karpenter.k8s.aws/instance-nitro-enclaves-supported",
		"karpenter.k8s.aws/instance-category", "karpenter.k8s.aws/instance-capability-flex",
		"karpenter.k8s.aws/instance-family", "karpenter.k8s.aws/instance-generation", "karpenter.k8s.aws/instance-size",
		"karpenter.k8s.aws/instance-local-nvme", "karpenter.k8s.aws/instance-cpu", "karpenter.k8s.aws/instance-cpu-manufacturer",
		"karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz", "karpenter.k8s.aws/instance-memory",
		"karpenter.k8s.aws/instance-ebs-bandwidth", "karpenter.k8s.aws/instance-network-bandwidth",
		"karpenter.k8s.aws/instance-gpu-name", "karpenter.k8s.aws/instance-gpu-manufacturer",
		"karpenter.k8s.aws/instance-gpu-count", "karpenter.k8s.aws/instance-gpu-memory",
		"karpenter.k8s.aws/instance-accelerator-name", "karpenter.k8s.aws/instance-accelerator-manufacturer",
		"karpenter.k8s.aws/instance-accelerator-count", "topology.k8s.aws/zone-id", "karpenter.k8s.aws/instance-tenancy",
		"karpenter.k8s.aws/placement-group-id", "karpenter.k8s.aws/placement-group-partition",
	}
}

// metricLabelName is Karpenter's label name for a node label: the part after the slash, in
// snake case (topology.kubernetes.io/zone is zone).
func metricLabelName(nodeLabel string) string {
	_, name, _ := strings.Cut(nodeLabel, "/")
	return strings.ReplaceAll(strings.ToLower(name), "-", "_")
}

// resourceType is Karpenter's resource_type label value for a resource name.
func resourceType(name corev1.ResourceName) string {
	return strings.ReplaceAll(strings.ToLower(string(name)), "-", "_")
}

// quantityValue is a quantity as Karpenter exports it: CPU in cores, the rest in units.
func quantityValue(name corev1.ResourceName, q resource.Quantity) float64 {
	if name == corev1.ResourceCPU {
		return float64(q.MilliValue()) / 1000
	}
	return float64(q.Value())
}

// newClusterMetrics reads pods and Nodes from the factory's informers, the ones the worker's
// other caches share.
func newClusterMetrics(factory informers.SharedInformerFactory, pools activities.NodePoolSource) *clusterMetrics {
	c := &clusterMetrics{
		factory: factory,
		pods:    factory.Core().V1().Pods().Lister(),
		nodes:   factory.Core().V1().Nodes().Lister(),
		synced:  []cache.InformerSynced{factory.Core().V1().Pods().Informer().HasSynced, factory.Core().V1().Nodes().Informer().HasSynced},
		pools:   pools,
		startup: prometheus.NewSummary(prometheus.SummaryOpts{
			Namespace: "karpenter", Subsystem: "pods", Name: "startup_duration_seconds",
			Help:       "The time from pod creation until the pod is running.",
			Objectives: map[float64]float64{0: 0.01, 0.5: 0.01, 0.9: 0.01, 0.99: 0.01, 1: 0.01},
		}),
		pending: map[types.UID]bool{},
	}
	c.nodeLabels = wellKnownLabels()
	for _, l := range c.nodeLabels {
		c.nodeLabelNames = append(c.nodeLabelNames, metricLabelName(l))
	}
	nodeNames := append(append([]string{}, c.nodeLabelNames...), labelNodeName, labelPhase, labelManaged, labelResourceType)
	c.nodeAllocatable = prometheus.NewDesc("karpenter_nodes_allocatable",
		"Node allocatable are the resources allocatable by nodes.", nodeNames, nil)
	c.podState = prometheus.NewDesc("karpenter_pods_state",
		"Pod state is the current state of pods. This metric can be used several ways as it is labeled by the pod name, namespace, owner, node, nodepool name, zone, architecture, capacity type, instance type, pod phase, and pod readiness.",
		[]string{"name", "namespace", "owner", "node", "scheduled", "nodepool", "zone", "arch", "capacity_type", "instance_type", labelPhase, "ready", labelManaged}, nil)
	c.poolUsage = prometheus.NewDesc("karpenter_nodepools_usage",
		"The amount of resources that have been provisioned for a nodepool. Labeled by nodepool name and resource type.",
		[]string{labelResourceType, "nodepool"}, nil)
	c.poolLimit = prometheus.NewDesc("karpenter_nodepools_limit",
		"Limits specified on the nodepool that restrict the quantity of resources provisioned. Labeled by nodepool name and resource type.",
		[]string{labelResourceType, "nodepool"}, nil)
	_, _ = factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observePod(obj) },
		UpdateFunc: func(_, obj any) { c.observePod(obj) },
		DeleteFunc: func(obj any) { c.forgetPod(obj) },
	})
	return c
}

// Run fills the caches and keeps them current until ctx ends.
func (c *clusterMetrics) Run(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) && ctx.Err() == nil {
		return fmt.Errorf("metrics: pod and node caches did not sync")
	}
	<-ctx.Done()
	return nil
}

// observePod observes the startup duration of a pod seen Pending once it is running and
// Ready, as Karpenter does: from its creation to its Ready condition's transition.
func (c *clusterMetrics) observePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if pod.Status.Phase == corev1.PodPending {
		c.pending[pod.UID] = true
		return
	}
	if !c.pending[pod.UID] {
		return
	}
	if ready, ok := podCondition(pod, corev1.PodReady); ok && ready.Status == corev1.ConditionTrue {
		c.startup.Observe(ready.LastTransitionTime.Sub(pod.CreationTimestamp.Time).Seconds())
		delete(c.pending, pod.UID)
	} else if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		delete(c.pending, pod.UID)
	}
}

func (c *clusterMetrics) forgetPod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		c.mu.Lock()
		delete(c.pending, pod.UID)
		c.mu.Unlock()
	}
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) (corev1.PodCondition, bool) {
	for _, cond := range pod.Status.Conditions {
		if cond.Type == t {
			return cond, true
		}
	}
	return corev1.PodCondition{}, false
}

func (c *clusterMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.podState, c.nodeAllocatable, c.poolUsage, c.poolLimit} {
		ch <- d
	}
	c.startup.Describe(ch)
}

func (c *clusterMetrics) Collect(ch chan<- prometheus.Metric) {
	c.startup.Collect(ch)
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return // a lister over a cache does not fail
	}
	byName := make(map[string]*corev1.Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
		c.collectNode(ch, n)
	}
	c.collectPools(ch, nodes)
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return
	}
	for _, p := range pods {
		c.collectPod(ch, p, byName[p.Spec.NodeName])
	}
}

func (c *clusterMetrics) collectNode(ch chan<- prometheus.Metric, n *corev1.Node) {
	values := make([]string, 0, len(c.nodeLabels)+4)
	for _, l := range c.nodeLabels {
		values = append(values, n.Labels[l])
	}
	values = append(values, n.Name, string(n.Status.Phase), strconv.FormatBool(n.Labels[activities.LabelManaged] == "true"))
	for name, q := range n.Status.Allocatable {
		ch <- prometheus.MustNewConstMetric(c.nodeAllocatable, prometheus.GaugeValue, quantityValue(name, q),
			append(values, resourceType(name))...)
	}
}

// collectPools reports each served NodePool's limits, and its usage: the capacity of the
// nodes labelled with it, and their count as "nodes", as its status.resources counts them.
func (c *clusterMetrics) collectPools(ch chan<- prometheus.Metric, nodes []*corev1.Node) {
	if c.pools == nil {
		return
	}
	pools := c.pools.NodePools()
	usage := make(map[string]corev1.ResourceList, len(pools))
	for _, pool := range pools {
		usage[pool.Name] = corev1.ResourceList{
			corev1.ResourceCPU: resource.Quantity{}, corev1.ResourceMemory: resource.Quantity{},
			corev1.ResourcePods: resource.Quantity{}, corev1.ResourceEphemeralStorage: resource.Quantity{},
			resourceNodes: resource.Quantity{},
		}
	}
	for _, n := range nodes {
		used, ok := usage[n.Labels[v1.LabelNodePool]]
		if !ok {
			continue
		}
		for name, q := range n.Status.Capacity {
			sum := used[name]
			sum.Add(q)
			used[name] = sum
		}
		count := used[resourceNodes]
		count.Add(*resource.NewQuantity(1, resource.DecimalSI))
		used[resourceNodes] = count
	}
	for _, pool := range pools {
		for name, q := range usage[pool.Name] {
			ch <- prometheus.MustNewConstMetric(c.poolUsage, prometheus.GaugeValue, quantityValue(name, q), resourceType(name), pool.Name)
		}
		for name, q := range pool.Spec.Limits {
			ch <- prometheus.MustNewConstMetric(c.poolLimit, prometheus.GaugeValue, quantityValue(name, q), resourceType(name), pool.Name)
		}
	}
}

func (c *clusterMetrics) collectPod(ch chan<- prometheus.Metric, p *corev1.Pod, node *corev1.Node) {
	owner := ""
	if len(p.OwnerReferences) > 0 {
		o := p.OwnerReferences[0]
		owner = fmt.Sprintf("/apis/%s/namespaces/%s/%ss/%s", o.APIVersion, p.Namespace, strings.ToLower(o.Kind), o.Name)
	}
	ready := "false"
	if cond, ok := podCondition(p, corev1.PodReady); ok && cond.Status == corev1.ConditionTrue {
		ready = "true"
	}
	var nodeLabels map[string]string
	if node != nil {
		nodeLabels = node.Labels
	}
	ch <- prometheus.MustNewConstMetric(c.podState, prometheus.GaugeValue, 1,
		p.Name, p.Namespace, owner, p.Spec.NodeName, strconv.FormatBool(p.Spec.NodeName != ""),
		nodeLabels[v1.LabelNodePool], nodeLabels[corev1.LabelTopologyZone], nodeLabels[corev1.LabelArchStable],
		nodeLabels[v1.LabelCapacityType], nodeLabels[corev1.LabelInstanceTypeStable],
		string(p.Status.Phase), ready, strconv.FormatBool(nodeLabels[activities.LabelManaged] == "true"))
}
