package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	v1helper "k8s.io/kubernetes/pkg/apis/core/v1/helper"
	"k8s.io/utils/ptr"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

const (
	leaseNamespace = "kube-node-lease"
	leaseSeconds   = 40
	heartbeatEvery = 10 * time.Second
)

// Options tune the stand-in.
type Options struct {
	// ReadyAfter is how long a registered node stays NotReady, as while its runtime starts.
	ReadyAfter time.Duration
	// Cluster is the cluster a machine's user data must name for its node to join; zero skips
	// that check, not the need for user data.
	Cluster Cluster
	Log     *slog.Logger
}

// Kubelet manages the Nodes of every running simulated instance.
type Kubelet struct {
	client kubernetes.Interface
	types  map[string]catalog.Type
	opts   Options

	mu     sync.Mutex
	nodes  map[string]string                // node name → instance id, for nodes whose instance runs
	byID   map[string]string                // instance id → node name
	leases map[string]*coordinationv1.Lease // node name → its lease as last written
	nextIP int
}

// New returns a stand-in that knows the given instance types.
func New(client kubernetes.Interface, types []catalog.Type, o Options) *Kubelet {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Kubelet{
		client: client, types: catalog.Index(types), opts: o,
		nodes: map[string]string{}, byID: map[string]string{}, leases: map[string]*coordinationv1.Lease{},
	}
}

// Run watches pods until ctx ends. Boot and Shutdown are called by whoever watches instances.
func (k *Kubelet) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(k.client, 0)
	pods := factory.Core().V1().Pods().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.syncPod(ctx, obj) },
		UpdateFunc: func(_, obj any) { k.syncPod(ctx, obj) },
	}); err != nil {
		return fmt.Errorf("watch pods: %w", err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	ticker := time.NewTicker(heartbeatEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			factory.Shutdown()
			return nil
		case <-ticker.C:
			k.heartbeat(ctx)
		}
	}
}

// Boot registers the machine's Node, then marks it Ready after ReadyAfter. A machine whose user
// data would not bring up a node that joins this cluster registers nothing: Boot returns a
// *RefusedError saying why.
func (k *Kubelet) Boot(ctx context.Context, m Machine) error {
	it, ok := k.types[m.Type]
	if !ok {
		return fmt.Errorf("boot %s: unknown instance type %q", m.InstanceID, m.Type)
	}
	cfg, err := k.bootstrap(m)
	if err != nil {
		return err
	}
	node, err := newNode(m, it, cfg)
	if err != nil {
		return fmt.Errorf("boot %s: %w", m.InstanceID, err)
	}
	devices := withoutDevices(node)
	if _, err := k.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s for %s: %w", node.Name, m.InstanceID, err)
	}
	k.mu.Lock()
	k.nodes[node.Name] = m.InstanceID
	k.byID[m.InstanceID] = node.Name
	k.mu.Unlock()
	if err := k.renewLease(ctx, node.Name); err != nil {
		return err
	}
	k.opts.Log.Info("node registered", "node", node.Name, "instance", m.InstanceID, "type", m.Type, "zone", m.Zone)

	if k.opts.ReadyAfter > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(k.opts.ReadyAfter):
		}
	}
	if err := k.markReady(ctx, node.Name); err != nil {
		return err
	}
	return k.registerDevices(ctx, node.Name, devices)
}

// devicePlugins are the extended resources device plugins advertise, capacity and
// allocatable alike.
type devicePlugins struct{ capacity, allocatable corev1.ResourceList }

// withoutDevices zeroes the node's extended resources and returns them: the kubelet reports
// each as zero until its device plugin (NVIDIA's, Neuron's) has registered, after the node
// is Ready, which is why Karpenter's initialization waits for them.
func withoutDevices(node *corev1.Node) devicePlugins {
	d := devicePlugins{capacity: corev1.ResourceList{}, allocatable: corev1.ResourceList{}}
	for _, rl := range []struct{ from, to corev1.ResourceList }{
		{node.Status.Capacity, d.capacity}, {node.Status.Allocatable, d.allocatable},
	} {
		for name, q := range rl.from {
			if v1helper.IsExtendedResourceName(name) {
				rl.to[name] = q
				rl.from[name] = resource.Quantity{}
			}
		}
	}
	return d
}

// registerDevices is the device plugins registering: the node's extended resources appear.
func (k *Kubelet) registerDevices(ctx context.Context, name string, d devicePlugins) error {
	if len(d.capacity) == 0 && len(d.allocatable) == 0 {
		return nil
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := k.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		maps.Copy(node.Status.Capacity, d.capacity)
		maps.Copy(node.Status.Allocatable, d.allocatable)
		_, err = k.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("register node %s's devices: %w", name, err)
	}
	return nil
}

// bootstrap reads the machine's user data as its bootstrap agent and kubelet would, refusing
// what would keep the node out of the cluster.
func (k *Kubelet) bootstrap(m Machine) (bootConfig, error) {
	cfg, err := readUserData(m.UserData)
	if err == nil {
		err = checkJoin(cfg, k.opts.Cluster)
	}
	if err == nil {
		err = checkIdentity(m, k.opts.Cluster)
	}
	if err != nil {
		return bootConfig{}, &RefusedError{InstanceID: m.InstanceID, Err: err}
	}
	return cfg, nil
}

// markReady sets Ready=True and clears the not-ready taint the API server added at
// registration, which a real kubelet's node lifecycle controller would lift.
func (k *Kubelet) markReady(ctx context.Context, name string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := k.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		setCondition(node, corev1.NodeCondition{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
		})
		node, err = k.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		node.Spec.Taints = withoutTaint(node.Spec.Taints, corev1.TaintNodeNotReady)
		_, err = k.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("mark node %s ready: %w", name, err)
	}
	k.opts.Log.Info("node ready", "node", name)
	return nil
}

// Shutdown is called when the machine's instance is terminated: the Node goes NotReady and
// unreachable, and its pods are removed as the pod garbage collector would. Nodewright, not
// the stand-in, deletes the Node.
func (k *Kubelet) Shutdown(ctx context.Context, instanceID string) error {
	k.mu.Lock()
	name, ok := k.byID[instanceID]
	delete(k.byID, instanceID)
	delete(k.nodes, name)
	delete(k.leases, name)
	k.mu.Unlock()
	if !ok {
		return nil
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := k.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		now := metav1.Now()
		setCondition(node, corev1.NodeCondition{
			Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown",
			Message: "Kubelet stopped posting node status.", LastHeartbeatTime: now, LastTransitionTime: now,
		})
		node, err = k.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		for _, effect := range []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute} {
			node.Spec.Taints = append(withoutTaintEffect(node.Spec.Taints, corev1.TaintNodeUnreachable, effect),
				corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: effect, TimeAdded: &now})
		}
		_, err = k.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("mark node %s not ready: %w", name, err)
	}
	pods, err := k.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + name})
	if err != nil {
		return fmt.Errorf("list pods of node %s: %w", name, err)
	}
	for _, p := range pods.Items {
		if err := k.forceDelete(ctx, &p); err != nil {
			return err
		}
	}
	k.opts.Log.Info("node lost its instance", "node", name, "instance", instanceID, "pods_removed", len(pods.Items))
	return nil
}

func (k *Kubelet) managed(node string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.nodes[node]
	return ok
}

// syncPod runs a pod bound to a managed node: it starts it, or finishes its deletion once
// its grace period is honoured (the stand-in's containers stop at once).
func (k *Kubelet) syncPod(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" || !k.managed(pod.Spec.NodeName) {
		return
	}
	var err error
	switch {
	case pod.DeletionTimestamp != nil:
		err = k.forceDelete(ctx, pod)
	case pod.Status.Phase == corev1.PodPending || pod.Status.Phase == "":
		err = k.startPod(ctx, pod)
	}
	if err != nil && ctx.Err() == nil {
		k.opts.Log.Warn("sync pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

func (k *Kubelet) startPod(ctx context.Context, pod *corev1.Pod) error {
	pod = pod.DeepCopy()
	now := metav1.Now()
	k.mu.Lock()
	k.nextIP++
	ip := fmt.Sprintf("10.1.%d.%d", k.nextIP/250, k.nextIP%250+1)
	k.mu.Unlock()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	pod.Status.StartTime = &now
	// PodScheduled is the binding's to set, not the kubelet's: its time says when the pod was bound.
	for _, t := range []corev1.PodConditionType{corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		setPodCondition(pod, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	pod.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	_, err := k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // a newer version is on its way through the informer
	}
	if err != nil {
		return fmt.Errorf("start pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

func (k *Kubelet) forceDelete(ctx context.Context, pod *corev1.Pod) error {
	err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

func (k *Kubelet) heartbeat(ctx context.Context) {
	k.mu.Lock()
	names := make([]string, 0, len(k.nodes))
	for n := range k.nodes {
		names = append(names, n)
	}
	k.mu.Unlock()
	for _, n := range names {
		if err := k.renewLease(ctx, n); err != nil && ctx.Err() == nil {
			k.opts.Log.Warn("renew node lease", "node", n, "err", err)
		}
	}
}

// renewLease keeps the node's heartbeat lease fresh, as kubelets do every 10 s. Like the
// kubelet's lease controller it updates the lease it last wrote, and reads the API server
// only when it has none or that write was refused.
func (k *Kubelet) renewLease(ctx context.Context, node string) error {
	leases := k.client.CoordinationV1().Leases(leaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	k.mu.Lock()
	lease := k.leases[node]
	k.mu.Unlock()
	var err error
	if lease == nil {
		lease, err = leases.Get(ctx, node, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		lease, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: leaseNamespace},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: ptr.To(node), LeaseDurationSeconds: ptr.To[int32](leaseSeconds), RenewTime: &now,
			},
		}, metav1.CreateOptions{})
	case err == nil:
		lease = lease.DeepCopy()
		lease.Spec.RenewTime = &now
		lease, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	}
	k.mu.Lock()
	if _, running := k.nodes[node]; err == nil && running { // not for a node shut down meanwhile
		k.leases[node] = lease
	} else {
		delete(k.leases, node) // read afresh next time
	}
	k.mu.Unlock()
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("lease for node %s: %w", node, err)
	}
	return nil
}

func setCondition(node *corev1.Node, c corev1.NodeCondition) {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == c.Type {
			node.Status.Conditions[i] = c
			return
		}
	}
	node.Status.Conditions = append(node.Status.Conditions, c)
}

func setPodCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

func withoutTaint(taints []corev1.Taint, key string) []corev1.Taint {
	out := taints[:0:0]
	for _, t := range taints {
		if t.Key != key {
			out = append(out, t)
		}
	}
	return out
}

func withoutTaintEffect(taints []corev1.Taint, key string, effect corev1.TaintEffect) []corev1.Taint {
	out := taints[:0:0]
	for _, t := range taints {
		if t.Key != key || t.Effect != effect {
			out = append(out, t)
		}
	}
	return out
}
