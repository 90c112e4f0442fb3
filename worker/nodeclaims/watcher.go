package nodeclaims

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"

	"github.com/nodewright/nodewright/activities"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/workflows"
)

// Instances reads and terminates EC2 instances (activities.EC2).
type Instances interface {
	// WorkflowOf names the node workflow that launched the instance for this cluster.
	WorkflowOf(ctx context.Context, instanceID string) (activities.InstanceOwner, error)
	// LaunchedBy lists the instances not yet terminated the workflow launched for this cluster.
	LaunchedBy(ctx context.Context, workflowID string) ([]activities.InstanceOwner, error)
	// Terminate terminates it; a gone instance counts as terminated.
	Terminate(ctx context.Context, instanceID string) error
}

// Watcher acts on deleted NodeClaims and Nodes.
type Watcher struct {
	dyn      dynamic.Interface
	kube     kubernetes.Interface
	temporal client.Client
	ec2      Instances
	log      *slog.Logger
	// group is the nodeClassRef group of this worker's NodeClaims.
	group string

	caches        Caches
	claims, nodes cache.SharedIndexInformer
	queue         workqueue.TypedRateLimitingInterface[item]
	// recheck and recheckShutdown are recheckAfter and recheckShutdownAfter; shorter in tests.
	recheck, recheckShutdown time.Duration

	mu sync.Mutex
	// asked holds the UIDs of deleted objects whose workflow was already asked to drain, so
	// that each status update of a draining NodeClaim does not signal it again.
	asked map[types.UID]bool
}

// item is one thing to do for a claim: drain it (deleted) or write its NodeClaim again (gone
// while the node lives).
type item struct {
	claim string
	kind  string
}

const (
	kindDeleted = "deleted"
	kindGone    = "gone"
)

// Caches are the worker's informer factories, whose NodeClaim and Node informers the watcher
// shares with the worker's other readers rather than watch and hold them a second time.
type Caches struct {
	Dynamic dynamicinformer.DynamicSharedInformerFactory
	Kube    informers.SharedInformerFactory
}

// New builds the watcher for the NodeClaims of the node class group; Run starts it.
func New(dyn dynamic.Interface, kube kubernetes.Interface, caches Caches, tc client.Client, ec2 Instances, group string, log *slog.Logger) *Watcher {
	w := &Watcher{
		dyn: dyn, kube: kube, temporal: tc, ec2: ec2, group: group, log: log, caches: caches,
		// The worker's factory caches NodeClaims without spec.requirements: Get one to read them.
		claims: caches.Dynamic.ForResource(v1.NodeClaimResource).Informer(),
		nodes:  caches.Kube.Core().V1().Nodes().Informer(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[item](),
			workqueue.TypedRateLimitingQueueConfig[item]{Name: "nodeclaim-deletion"}),
		asked:   map[types.UID]bool{},
		recheck: recheckAfter, recheckShutdown: recheckShutdownAfter,
	}
	_, _ = w.claims.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.onObject(obj) },
		UpdateFunc: func(_, obj any) { w.onObject(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if m, ok := obj.(metav1.Object); ok && m.GetLabels()[activities.LabelManaged] == "true" {
				w.forget(m.GetUID())
				w.queue.Add(item{claim: m.GetName(), kind: kindGone})
			}
		},
	})
	_, _ = w.nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.onObject(obj) },
		UpdateFunc: func(_, obj any) { w.onObject(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if m, ok := obj.(metav1.Object); ok {
				w.forget(m.GetUID())
			}
		},
	})
	return w
}

// onObject queues a managed NodeClaim or Node that is being deleted and still held by the
// termination finalizer.
func (w *Watcher) onObject(obj any) {
	m, ok := obj.(metav1.Object)
	if !ok || m.GetDeletionTimestamp() == nil || m.GetLabels()[activities.LabelManaged] != "true" ||
		!slices.Contains(m.GetFinalizers(), activities.FinalizerTermination) {
		return
	}
	claim := m.GetName()
	if _, isNode := obj.(*corev1.Node); isNode {
		claim = m.GetLabels()[v1.LabelNodeClaim]
	}
	if claim != "" {
		w.queue.Add(item{claim: claim, kind: kindDeleted})
	}
}

// Synced reports whether both caches have been filled.
func (w *Watcher) Synced() bool { return w.claims.HasSynced() && w.nodes.HasSynced() }

// Run handles deletions until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		w.queue.ShutDown()
	}()
	w.caches.Dynamic.Start(ctx.Done())
	w.caches.Kube.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), w.claims.HasSynced, w.nodes.HasSynced) {
		return nil
	}
	for {
		it, shutdown := w.queue.Get()
		if shutdown {
			return nil
		}
		var err error
		switch it.kind {
		case kindDeleted:
			err = w.deleted(ctx, it.claim)
		case kindGone:
			err = w.gone(ctx, it.claim)
		}
		if err != nil && ctx.Err() == nil {
			w.log.Warn("NodeClaim deletion", "claim", it.claim, "what", it.kind, "error", err)
			w.queue.AddRateLimited(it)
		} else {
			w.queue.Forget(it)
		}
		w.queue.Done(it)
	}
}

// recheckAfter is how soon a deleted NodeClaim or Node still held is looked at again, so that
// one whose workflow ends without releasing it (failed, terminated by an operator) is not
// forgotten.
const recheckAfter = 30 * time.Second

// recheckShutdownAfter is how soon an orphan whose instance shuts down is looked at again:
// EC2 takes seconds to minutes, and the object should go soon after.
const recheckShutdownAfter = 5 * time.Second

// deleted asks the claim's workflow to drain the node, or, when no workflow is there to do
// it, terminates the instance and releases the objects itself. While a workflow holds the
// objects, or their instance is still shutting down, it looks again later.
func (w *Watcher) deleted(ctx context.Context, claim string) error {
	objects := w.deletingObjects(claim)
	if len(objects) == 0 {
		return nil
	}
	running, phase, err := w.workflowRunning(ctx, claim)
	if err != nil {
		return err
	}
	recheck := func(after time.Duration) { w.queue.AddAfter(item{claim: claim, kind: kindDeleted}, after) }
	switch {
	case running && leaving(phase):
		recheck(w.recheck) // the workflow is taking the node down already, and deletes it itself
		return nil
	case running:
		recheck(w.recheck)
		return w.askToDrain(ctx, claim, objects)
	}
	waiting, err := w.releaseOrphans(ctx, claim, objects)
	if waiting {
		recheck(w.recheckShutdown)
	}
	return err
}

func (w *Watcher) askToDrain(ctx context.Context, claim string, objects []metav1.Object) error {
	var fresh []metav1.Object
	for _, o := range objects {
		if !w.wasAsked(o.GetUID()) {
			fresh = append(fresh, o)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	reason := strings.ToLower(kindOf(fresh[0])) + " deleted"
	err := w.temporal.SignalWorkflow(ctx, workflows.NodeWorkflowID(claim), "", workflows.SignalDrain, workflows.DrainRequest{Reason: reason})
	if err != nil {
		return fmt.Errorf("ask node/%s to drain: %w", claim, err)
	}
	for _, o := range fresh {
		w.markAsked(o.GetUID())
	}
	w.log.Info("drain requested", "claim", claim, "reason", reason)
	return nil
}

// releaseOrphans handles objects no workflow owns any more: nothing else will terminate their
// instance. Only an instance EC2 says the claim's workflow launched for this cluster is
// terminated, and an object is released only once its instance is gone or terminated, as
// Karpenter does, so that a kubelet still running cannot register the Node again: a label
// anyone can set is not proof enough to terminate an instance or strip a finalizer. waiting
// reports objects held until their instance finishes terminating.
func (w *Watcher) releaseOrphans(ctx context.Context, claim string, objects []metav1.Object) (waiting bool, _ error) {
	want := workflows.NodeWorkflowID(claim)
	for _, o := range objects {
		if !w.ours(o) {
			w.log.Warn("deleted object labelled as Nodewright's is not: left to its owner", "kind", kindOf(o), "name", o.GetName())
			continue
		}
		instances, mine, err := w.instancesOf(ctx, want, o)
		if err != nil {
			return waiting, err
		}
		if !mine {
			w.log.Warn("deleted object names an instance Nodewright did not launch for it: left alone",
				"kind", kindOf(o), "name", o.GetName(), "instance", instanceOf(o))
			continue
		}
		running := false
		for _, inst := range instances {
			if inst.State == "terminated" {
				continue
			}
			running = true
			if inst.State == "shutting-down" {
				continue
			}
			if err := w.ec2.Terminate(ctx, inst.ID); err != nil {
				return waiting, fmt.Errorf("terminate orphaned instance %s of %s %s: %w", inst.ID, kindOf(o), o.GetName(), err)
			}
			w.log.Info("terminated orphaned instance", "claim", claim, "instance", inst.ID)
		}
		if running {
			waiting = true
			continue
		}
		if _, isClaim := o.(*unstructured.Unstructured); isClaim {
			// As Karpenter does, a NodeClaim goes with its Node: left behind, it would stay
			// NotReady for good with nothing left to delete it.
			if err := w.deleteNodesOf(ctx, claim, want); err != nil {
				return waiting, err
			}
		}
		if err := w.release(ctx, o); err != nil {
			return waiting, err
		}
		w.log.Info("released orphaned object", "kind", kindOf(o), "name", o.GetName())
	}
	return waiting, nil
}

// instancesOf finds the instances behind a deleted object of the claim's workflow: the one its
// provider id names, or, for a NodeClaim written before its instance was known, every
// instance the workflow launched. mine is false when the provider id names an instance EC2
// says someone else launched.
func (w *Watcher) instancesOf(ctx context.Context, workflowID string, o metav1.Object) (_ []activities.InstanceOwner, mine bool, _ error) {
	id := instanceOf(o)
	if id == "" {
		found, err := w.ec2.LaunchedBy(ctx, workflowID)
		if err != nil {
			return nil, false, fmt.Errorf("find the instances of %s %s: %w", kindOf(o), o.GetName(), err)
		}
		return found, true, nil
	}
	owner, err := w.ec2.WorkflowOf(ctx, id)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("read instance %s of %s %s: %w", id, kindOf(o), o.GetName(), err)
	case !owner.Found:
		return nil, true, nil // gone: nothing left to terminate
	case owner.WorkflowID != workflowID:
		return nil, false, nil
	}
	return []activities.InstanceOwner{owner}, true, nil
}

// ours checks what the object itself can say: the managed label and, for a NodeClaim, a node
// class of this worker's group.
func (w *Watcher) ours(o metav1.Object) bool {
	if o.GetLabels()[activities.LabelManaged] != "true" {
		return false
	}
	if u, ok := o.(*unstructured.Unstructured); ok {
		group, _, _ := unstructured.NestedString(u.Object, "spec", "nodeClassRef", "group")
		return group == w.group
	}
	return true
}

// gone asks a live node's workflow to write its NodeClaim again.
func (w *Watcher) gone(ctx context.Context, claim string) error {
	running, phase, err := w.workflowRunning(ctx, claim)
	if err != nil || !running || leaving(phase) {
		return err
	}
	if err := w.temporal.SignalWorkflow(ctx, workflows.NodeWorkflowID(claim), "", workflows.SignalResyncNodeClaim, nil); err != nil {
		return fmt.Errorf("ask node/%s to rewrite its NodeClaim: %w", claim, err)
	}
	return nil
}

// workflowRunning reports whether the claim's workflow runs, and its phase (the NodePhase
// search attribute).
func (w *Watcher) workflowRunning(ctx context.Context, claim string) (bool, workflows.Phase, error) {
	d, err := w.temporal.DescribeWorkflowExecution(ctx, workflows.NodeWorkflowID(claim), "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return false, "", nil
	case err != nil:
		return false, "", fmt.Errorf("describe node/%s: %w", claim, err)
	}
	info := d.GetWorkflowExecutionInfo()
	var phase string
	if p, ok := info.GetSearchAttributes().GetIndexedFields()[workflows.SearchAttrNodePhase.GetName()]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &phase)
	}
	return info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, workflows.Phase(phase), nil
}

// leaving is a phase in which the workflow drains or terminates the node on its own.
func leaving(p workflows.Phase) bool {
	return p == workflows.PhaseDraining || p == workflows.PhaseTerminating || p == workflows.PhaseTerminated
}

// deletingObjects are the claim's NodeClaim and Node that are being deleted and still held.
func (w *Watcher) deletingObjects(claim string) []metav1.Object {
	held := func(m metav1.Object) bool {
		return m.GetDeletionTimestamp() != nil && slices.Contains(m.GetFinalizers(), activities.FinalizerTermination) &&
			m.GetLabels()[activities.LabelManaged] == "true"
	}
	var out []metav1.Object
	if obj, ok, _ := w.claims.GetStore().GetByKey(claim); ok {
		if u := obj.(*unstructured.Unstructured); held(u) {
			out = append(out, u)
		}
	}
	for _, obj := range w.nodes.GetStore().List() {
		if n := obj.(*corev1.Node); n.Labels[v1.LabelNodeClaim] == claim && held(n) {
			out = append(out, n)
		}
	}
	return out
}

// deleteNodesOf deletes the claim's Nodes not yet being deleted whose instance EC2 says the
// claim's workflow launched, or no longer knows; their own deletion comes back to the
// watcher, which releases them once their instance is terminated.
func (w *Watcher) deleteNodesOf(ctx context.Context, claim, workflowID string) error {
	for _, obj := range w.nodes.GetStore().List() {
		n := obj.(*corev1.Node)
		if n.Labels[v1.LabelNodeClaim] != claim || !w.ours(n) || n.DeletionTimestamp != nil || instanceOf(n) == "" {
			continue
		}
		owner, err := w.ec2.WorkflowOf(ctx, instanceOf(n))
		if err != nil {
			return fmt.Errorf("read instance %s of node %s: %w", instanceOf(n), n.Name, err)
		}
		if owner.Found && owner.WorkflowID != workflowID {
			continue
		}
		// The UID precondition spares a Node of the same name registered since.
		err = w.kube.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &n.UID}})
		switch {
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		case err != nil:
			return fmt.Errorf("delete node %s of orphaned NodeClaim %s: %w", n.Name, claim, err)
		default:
			w.log.Info("deleted the Node of an orphaned NodeClaim", "claim", claim, "node", n.Name)
		}
	}
	return nil
}

// release removes the termination finalizer, letting the deletion finish.
func (w *Watcher) release(ctx context.Context, o metav1.Object) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		switch o.(type) {
		case *corev1.Node:
			n, err := w.kube.CoreV1().Nodes().Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			n.Finalizers = without(n.Finalizers, activities.FinalizerTermination)
			_, err = w.kube.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err
		default:
			api := w.dyn.Resource(v1.NodeClaimResource)
			u, err := api.Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			u.SetFinalizers(without(u.GetFinalizers(), activities.FinalizerTermination))
			_, err = api.Update(ctx, u, metav1.UpdateOptions{})
			return err
		}
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("release %s %s: %w", kindOf(o), o.GetName(), err)
	}
	return nil
}

func (w *Watcher) wasAsked(uid types.UID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.asked[uid]
}

func (w *Watcher) markAsked(uid types.UID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.asked[uid] = true
}

func (w *Watcher) forget(uid types.UID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.asked, uid)
}

// instanceOf reads the instance id from a NodeClaim's or Node's provider id
// (aws:///<zone>/<instance-id>).
func instanceOf(o metav1.Object) string {
	var providerID string
	switch obj := o.(type) {
	case *corev1.Node:
		providerID = obj.Spec.ProviderID
	case *unstructured.Unstructured:
		providerID, _, _ = unstructured.NestedString(obj.Object, "status", "providerID")
	}
	return activities.InstanceIDOf(providerID)
}

func kindOf(o metav1.Object) string {
	if _, ok := o.(*corev1.Node); ok {
		return "Node"
	}
	return v1.KindNodeClaim
}

func without(list []string, s string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(x string) bool { return x == s })
}
