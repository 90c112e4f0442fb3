package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"

	"go.temporal.io/sdk/activity"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// pollInterval is how often waiting activities look again. Lists ask for resourceVersion
// "0" so the apiserver answers from its watch cache rather than etcd.
const pollInterval = 250 * time.Millisecond

// DisruptedTaint keeps new pods off a node that is being drained.
func DisruptedTaint() corev1.Taint {
	return corev1.Taint{Key: v1.TaintKeyDisrupted, Effect: corev1.TaintEffectNoSchedule}
}

// Kube does the Kubernetes side of a node's life: registration, readiness, drain, delete.
type Kube struct {
	Client kubernetes.Interface
	// Recorder receives events about nodes (FailedDraining); nil records none.
	Recorder events.EventRecorder
	// InstanceTypeLabels gives an instance type's well-known labels; nil adds none.
	InstanceTypeLabels func(instanceType string) map[string]string
	// TerminationFinalizer puts karpenter.sh/termination on registered Nodes, so that
	// deleting one drains it through its workflow. Only set it where something acts on a
	// held Node's deletion (the worker with NodeClaims); otherwise a deleted Node would hang.
	TerminationFinalizer bool
	// Nodes is a watch of the cluster's Nodes that waits read instead of the API server; nil
	// (or not yet synced) reads the API server.
	Nodes *NodeCache
	// now tells the time for drain deadlines and backoff; nil means time.Now. Tests set it.
	now func() time.Time
}

// clock is the time now, as Kube sees it.
func (k *Kube) clock() time.Time {
	if k.now == nil {
		return time.Now()
	}
	return k.now()
}

// QuietWait is how long a wait for a Node runs before it heartbeats. Each heartbeat is a
// write to the workflow's state in Temporal's database, and in a scale-out most waits end
// within seconds: hundreds of nodes waiting at once wrote hundreds of heartbeats a minute
// that told nothing. The waits' heartbeat timeout leaves room for it (worker's tests).
const QuietWait = 10 * time.Second

// waitHeartbeat records what a wait for a Node waits for, once it has waited QuietWait since
// start, read on this worker's clock when the activity began (the activity's StartedTime is
// the server's clock, which may be ahead of this one).
func (k *Kube) waitHeartbeat(ctx context.Context, start time.Time, waitingFor string) {
	if k.clock().Sub(start) >= QuietWait {
		activity.RecordHeartbeat(ctx, waitingFor)
	}
}

// WaitForNode polls until a Node with the provider ID exists and returns its name.
func (k *Kube) WaitForNode(ctx context.Context, providerID string) (string, error) {
	return k.waitForNode(ctx, k.clock(), providerID)
}

func (k *Kube) waitForNode(ctx context.Context, start time.Time, providerID string) (string, error) {
	for {
		node, err := k.nodeByProviderID(ctx, providerID)
		if err != nil {
			return "", fmt.Errorf("wait for node %s: %w", providerID, err)
		}
		if node != nil {
			return node.Name, nil
		}
		k.waitHeartbeat(ctx, start, "no node with providerID "+providerID+" yet")
		if err := sleep(ctx, pollInterval); err != nil {
			return "", fmt.Errorf("wait for node %s: %w", providerID, err)
		}
	}
}

// RegisterRequest names the instance a Node must register for, and what that Node must
// carry once it has (Sync's NodeName is the Node found).
type RegisterRequest struct {
	ProviderID string      `json:"providerID"`
	Sync       SyncRequest `json:"sync"`
}

// RegisterNode waits for the instance's Node, then syncs it at once as SyncNode does, so that
// its karpenter.sh/unregistered taint goes the moment it is seen (Karpenter's registration):
// pods wait for the node's readiness, not for the workflow's next task. It returns the Node's
// name. Both steps are idempotent, so a retry repeats them harmlessly.
func (k *Kube) RegisterNode(ctx context.Context, req RegisterRequest) (string, error) {
	start := k.clock()
	name, err := k.waitForNode(ctx, start, req.ProviderID)
	if err != nil {
		return "", err
	}
	k.waitHeartbeat(ctx, start, "node "+name+" registered; syncing it")
	req.Sync.NodeName = name
	if err := k.SyncNode(ctx, req.Sync); err != nil {
		return "", err
	}
	return name, nil
}

// nodeByProviderID finds the Node in the cache, or else by a list from the API server's
// watch cache; nil when there is none.
func (k *Kube) nodeByProviderID(ctx context.Context, providerID string) (*corev1.Node, error) {
	if k.Nodes != nil && k.Nodes.Synced() {
		node, _ := k.Nodes.ByProviderID(providerID)
		return node, nil
	}
	nodes, err := k.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	for i := range nodes.Items {
		if nodes.Items[i].Spec.ProviderID == providerID {
			return &nodes.Items[i], nil
		}
	}
	return nil, nil
}

// node reads the named Node from the cache, or else from the API server's watch cache; nil
// when it does not exist.
func (k *Kube) node(ctx context.Context, name string) (*corev1.Node, error) {
	if k.Nodes != nil && k.Nodes.Synced() {
		node, _ := k.Nodes.Get(name)
		return node, nil
	}
	node, err := k.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{ResourceVersion: "0"})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return node, err
}

// SyncNode makes sure the Node carries the labels, annotations and taints, and the
// termination finalizer that holds it until its instance is gone (Karpenter's registration
// step). It only adds or corrects what is missing, under a resourceVersion precondition, so
// running it twice changes nothing.
func (k *Kube) SyncNode(ctx context.Context, req SyncRequest) error {
	err := k.updateCachedNode(ctx, req.NodeName, func(node *corev1.Node) bool {
		changed := false
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		for key, value := range req.Labels {
			if cur, ok := node.Labels[key]; !ok || cur != value {
				node.Labels[key] = value
				changed = true
			}
		}
		if k.InstanceTypeLabels != nil && req.InstanceType != "" {
			for key, value := range k.InstanceTypeLabels(req.InstanceType) {
				if _, ok := node.Labels[key]; !ok { // what the kubelet reports stands
					node.Labels[key] = value
					changed = true
				}
			}
		}
		if len(req.Annotations) > 0 && node.Annotations == nil {
			node.Annotations = map[string]string{}
		}
		for key, value := range req.Annotations {
			if cur, ok := node.Annotations[key]; !ok || cur != value {
				node.Annotations[key] = value
				changed = true
			}
		}
		for _, t := range req.Taints {
			if setTaint(node, t) {
				changed = true
			}
		}
		// The node registered with this taint so that nothing lands on it before now.
		if kept := slices.DeleteFunc(slices.Clone(node.Spec.Taints), func(t corev1.Taint) bool {
			return t.Key == v1.TaintKeyUnregistered
		}); len(kept) != len(node.Spec.Taints) {
			node.Spec.Taints = kept
			changed = true
		}
		has := slices.Contains(node.Finalizers, FinalizerTermination)
		switch {
		case k.TerminationFinalizer && !has && node.DeletionTimestamp == nil:
			node.Finalizers = append(node.Finalizers, FinalizerTermination)
			changed = true
		case !k.TerminationFinalizer && has:
			// Put there while the worker ran with the CRDs: without them nothing would release it.
			node.Finalizers = slices.DeleteFunc(node.Finalizers, func(f string) bool { return f == FinalizerTermination })
			changed = true
		}
		return changed
	})
	if err != nil {
		return fmt.Errorf("sync node %s: %w", req.NodeName, err)
	}
	return nil
}

// WaitNodeReady polls until the Node's Ready condition is True and Kubernetes' own not-ready
// taints are gone (histories from before WaitNodeInitialized still schedule it).
func (k *Kube) WaitNodeReady(ctx context.Context, nodeName string) error {
	return k.WaitNodeInitialized(ctx, InitializeRequest{NodeName: nodeName, readyOnly: true})
}

// InitializeRequest names a registered Node, the startup taints a daemon on it removes once
// it has set the node up, and the resources its pods request: each one the Node must offer
// before it counts as initialized (a GPU appears in allocatable only once its device plugin
// has registered it).
type InitializeRequest struct {
	NodeName      string              `json:"nodeName"`
	StartupTaints []corev1.Taint      `json:"startupTaints,omitempty"`
	Requests      corev1.ResourceList `json:"requests,omitempty"`

	readyOnly bool // WaitNodeReady's older meaning: Ready, no label written
}

// WaitNodeInitialized polls until the Node is Ready and its startup taints are gone, then
// labels it karpenter.sh/initialized=true, as Karpenter's initialization does.
func (k *Kube) WaitNodeInitialized(ctx context.Context, req InitializeRequest) error {
	start := k.clock()
	for {
		node, err := k.node(ctx, req.NodeName)
		if err != nil {
			return fmt.Errorf("wait for node %s ready: %w", req.NodeName, err)
		}
		// A node may be briefly absent while its kubelet re-registers; keep waiting.
		waiting := "not registered"
		if node != nil {
			waiting = notInitialized(node, req.StartupTaints, req.Requests)
		}
		switch {
		case waiting == "" && req.readyOnly:
			return nil
		case waiting == "":
			return k.labelInitialized(ctx, node)
		}
		k.waitHeartbeat(ctx, start, "node "+req.NodeName+" "+waiting)
		if err := sleep(ctx, pollInterval); err != nil {
			return fmt.Errorf("wait for node %s ready: %w", req.NodeName, err)
		}
	}
}

// ephemeralTaints are the taints Kubernetes itself puts on a node that is not ready for pods
// yet; Karpenter's initialization waits for them to go, as for startup taints.
func ephemeralTaints() []corev1.Taint {
	return []corev1.Taint{
		{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule},
		{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule},
		{Key: "node.cloudprovider.kubernetes.io/uninitialized", Value: "true", Effect: corev1.TaintEffectNoSchedule},
	}
}

// notInitialized says what the node still waits for; "" when nothing. As in Karpenter's
// initialization: Ready, no startup or ephemeral taint, and every resource the claim's pods
// request present in allocatable (the kubelet reports an extended resource as zero until its
// device plugin registers it).
func notInitialized(node *corev1.Node, startupTaints []corev1.Taint, requests corev1.ResourceList) string {
	if !nodeReady(node) {
		return "not Ready yet"
	}
	for _, want := range [][]corev1.Taint{startupTaints, ephemeralTaints()} {
		for _, st := range want {
			for _, t := range node.Spec.Taints {
				if t.MatchTaint(&st) {
					return "still has taint " + st.ToString()
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(requests)) {
		if q := requests[name]; q.IsZero() {
			continue
		}
		if q := node.Status.Allocatable[name]; q.IsZero() {
			return "has no " + string(name) + " in allocatable yet"
		}
	}
	return ""
}

// labelInitialized labels the node, as read, karpenter.sh/initialized=true with a merge
// patch: one request, where a read and an update cost two and conflict with the kubelet's
// status writes in between (one Node update in six did in a 1,000-pod scale-out). The
// node's UID in the patch keeps it to the Node that was read: should one of the same name
// have registered since, the API server refuses to change the UID, and the activity's retry
// reads the Node again. A ClusterRole from before patch was granted on nodes (a worker
// upgraded without its chart) gets the read and the update.
func (k *Kube) labelInitialized(ctx context.Context, node *corev1.Node) error {
	if node.Labels[v1.LabelInitialized] == "true" {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid": node.UID, "labels": map[string]string{v1.LabelInitialized: "true"},
	}})
	if err != nil {
		return fmt.Errorf("label node %s initialized: %w", node.Name, err)
	}
	retriable := func(err error) bool { return ctx.Err() == nil && passing(err) }
	err = retry.OnError(passingBackoff(), retriable, func() error {
		_, err := k.Client.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
	if apierrors.IsForbidden(err) {
		replaced := false
		err = k.updateNode(ctx, node.Name, func(n *corev1.Node) bool {
			replaced = n.UID != node.UID
			if replaced || n.Labels[v1.LabelInitialized] == "true" {
				return false
			}
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels[v1.LabelInitialized] = "true"
			return true
		})
		if err == nil && replaced {
			err = errors.New("a Node of that name registered again since it was read") // the retry reads it anew
		}
	}
	if err != nil {
		return fmt.Errorf("label node %s initialized: %w", node.Name, err)
	}
	return nil
}

// TaintNode adds the taint unless a taint with its key and effect is already there. A node
// that no longer exists needs no taint.
func (k *Kube) TaintNode(ctx context.Context, nodeName string, taint corev1.Taint) error {
	err := k.updateNode(ctx, nodeName, func(node *corev1.Node) bool { return setTaint(node, taint) })
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("taint node %s with %s: %w", nodeName, taint.ToString(), err)
	}
	return nil
}

// TaintRequest names a Node, the instance it must stand for, and the taint to put on it.
type TaintRequest struct {
	NodeName   string       `json:"nodeName"`
	InstanceID string       `json:"instanceId"`
	Taint      corev1.Taint `json:"taint"`
}

// TaintOwnNode taints the Node only if its providerID names the request's instance: a Node
// registered since under the same name (an IP reused) is refused, not left cordoned for
// good. A Node already gone needs no taint.
func (k *Kube) TaintOwnNode(ctx context.Context, req TaintRequest) error {
	if req.InstanceID == "" {
		return notOwned("taint node %s: the request names no instanceId to hold its providerID to", req.NodeName)
	}
	var refused error
	err := k.updateNode(ctx, req.NodeName, func(node *corev1.Node) bool {
		if refused = nodeRefusal(node.Name, node.Spec.ProviderID, req.InstanceID); refused != nil {
			return false
		}
		return setTaint(node, req.Taint)
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("taint node %s with %s: %w", req.NodeName, req.Taint.ToString(), err)
	}
	return refused
}

// DeleteNode deletes the Node and releases its termination finalizer, which the caller does
// once the instance is terminated; one already gone counts as deleted. It refuses, without
// retrying, a Node whose providerID names another instance than the request's: a node name
// in a workflow's input is not proof enough to delete a Node.
func (k *Kube) DeleteNode(ctx context.Context, req DeleteNodeRequest) error {
	if req.NodeName == "" {
		if req.ProviderID == "" || req.InstanceID == "" {
			return notOwned("delete node: the request names neither a node nor both a providerID and an instanceId")
		}
		node, err := k.nodeByProviderID(ctx, req.ProviderID)
		if err != nil || node == nil {
			return err // none registered: nothing to delete
		}
		req.NodeName = node.Name // the refusal below still holds it to the instance
	}
	node, err := k.Client.CoreV1().Nodes().Get(ctx, req.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read node %s before deleting it: %w", req.NodeName, err)
	}
	if err := req.refusal(node); err != nil {
		return err
	}
	// The UID precondition keeps a Node registered since under the same name out of reach.
	err = k.Client.CoreV1().Nodes().Delete(ctx, req.NodeName, metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(node.UID))})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", req.NodeName, err)
	}
	err = k.updateNode(ctx, req.NodeName, func(n *corev1.Node) bool { return n.UID == node.UID && removeFinalizer(n) })
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("release node %s: %w", req.NodeName, err)
	}
	return nil
}

// updateNode reads the node, lets mutate change it and writes it back if it reports a
// change, retrying write conflicts and the API server's passing failures a few times within
// the second: a batch over many nodes (a decision's candidates) otherwise fails whole on one
// lost request.
func (k *Kube) updateNode(ctx context.Context, name string, mutate func(*corev1.Node) bool) error {
	retriable := func(err error) bool { return ctx.Err() == nil && passing(err) }
	return retry.OnError(passingBackoff(), retriable, func() error {
		node, err := k.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !mutate(node) {
			return nil
		}
		_, err = k.Client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

// updateCachedNode is updateNode starting from the worker's cached Node, which saves a read
// per node registered, and writing only the change, as a patch guarded by what the change was
// judged from (guardedNodePatch). A Node the cache lacks, a patch the API server refuses (the
// cache was behind, a ClusterRole without patch on nodes) or a passing failure goes the way of
// updateNode. Only for changes that are idempotent and that a stale copy cannot wrongly judge
// done: adding what the Node must carry.
func (k *Kube) updateCachedNode(ctx context.Context, name string, mutate func(*corev1.Node) bool) error {
	if k.Nodes != nil && k.Nodes.Synced() {
		if cached, ok := k.Nodes.Get(name); ok {
			node := cached.DeepCopy()
			if !mutate(node) {
				return nil
			}
			var err error
			if patch, ok := guardedNodePatch(cached, node); ok {
				_, err = k.Client.CoreV1().Nodes().Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{})
			} else {
				_, err = k.Client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
			}
			if err == nil || !(passing(err) || apierrors.IsInvalid(err) || apierrors.IsForbidden(err)) {
				return err
			}
		}
	}
	return k.updateNode(ctx, name, mutate)
}

// passingBackoff spaces the retries of passingly failed requests: 10 ms, then three times
// longer each time, about 0.4 s in all.
func passingBackoff() wait.Backoff {
	return wait.Backoff{Steps: 5, Duration: 10 * time.Millisecond, Factor: 3, Jitter: 0.1}
}

// passing reports a failure that asking again may cure: a conflict, a 500, 429, 503 or a
// timeout, or no answer at all (a reset connection). A refusal (403, 404, 422) is final.
func passing(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true
	}
	return apierrors.IsConflict(err) || apierrors.IsInternalError(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err)
}

// setTaint adds t, or corrects the value of a taint with t's key and effect; it reports
// whether the node changed.
func setTaint(node *corev1.Node, t corev1.Taint) bool {
	for i := range node.Spec.Taints {
		cur := &node.Spec.Taints[i]
		if cur.MatchTaint(&t) {
			if cur.Value == t.Value {
				return false
			}
			cur.Value = t.Value
			return true
		}
	}
	node.Spec.Taints = append(node.Spec.Taints, t)
	return true
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
