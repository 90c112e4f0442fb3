package nodepools

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/apis/loader"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Controller watches NodePools, EC2NodeClasses and NodeClaims. Build it with New, run it with
// Run, and read the ready pools with NodePools.
type Controller struct {
	dyn      dynamic.Interface
	loader   *loader.Loader
	recorder events.EventRecorder
	log      *slog.Logger
	// group is the nodeClassRef group of the pools this worker serves; others are left
	// alone, status and all, for a Karpenter beside it.
	group string

	pools, classes, claims cache.SharedIndexInformer
	queue                  workqueue.TypedRateLimitingInterface[key]

	mu    sync.RWMutex
	ready map[string]v1.NodePool
}

// key names an object to reconcile.
type key struct {
	kind string // v1.KindNodePool or awsv1.KindEC2NodeClass
	name string
}

// New builds the controller for the pools whose nodeClassRef names group (karpenter.k8s.aws,
// or nodewright.io beside a Karpenter); its informers run from Run.
func New(dyn dynamic.Interface, ld *loader.Loader, recorder events.EventRecorder, log *slog.Logger, group string) *Controller {
	factory := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
	c := &Controller{
		dyn: dyn, loader: ld, recorder: recorder, log: log, group: group,
		pools:   factory.ForResource(v1.NodePoolResource).Informer(),
		classes: factory.ForResource(awsv1.EC2NodeClassResource).Informer(),
		claims:  factory.ForResource(v1.NodeClaimResource).Informer(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[key](),
			workqueue.TypedRateLimitingQueueConfig[key]{Name: "nodepools"}),
		ready: map[string]v1.NodePool{},
	}
	on := func(f func(obj any)) cache.ResourceEventHandlerFuncs {
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    f,
			UpdateFunc: func(_, obj any) { f(obj) },
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				f(obj)
			},
		}
	}
	_, _ = c.pools.AddEventHandler(on(func(obj any) { c.enqueue(v1.KindNodePool, obj) }))
	_, _ = c.classes.AddEventHandler(on(func(obj any) {
		c.enqueue(awsv1.KindEC2NodeClass, obj)
		// Pools naming the class may become ready or not.
		for _, p := range c.pools.GetStore().List() {
			c.enqueue(v1.KindNodePool, p)
		}
	}))
	_, _ = c.claims.AddEventHandler(on(func(obj any) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			if pool := u.GetLabels()[v1.LabelNodePool]; pool != "" {
				c.queue.Add(key{kind: v1.KindNodePool, name: pool})
			}
		}
	}))
	return c
}

func (c *Controller) enqueue(kind string, obj any) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		c.queue.Add(key{kind: kind, name: u.GetName()})
	}
}

// NodePools returns the ready pools, ordered by name.
func (c *Controller) NodePools() []v1.NodePool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]v1.NodePool, 0, len(c.ready))
	for _, p := range c.ready {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b v1.NodePool) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Synced reports whether the caches have been filled once.
func (c *Controller) Synced() bool {
	return c.pools.HasSynced() && c.classes.HasSynced() && c.claims.HasSynced()
}

// Run processes changes until ctx ends. It returns an error if the caches never fill (the
// CRDs are missing, or RBAC refuses).
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	for _, inf := range []cache.SharedIndexInformer{c.pools, c.classes, c.claims} {
		go inf.RunWithContext(ctx)
	}
	if !cache.WaitForCacheSync(ctx.Done(), c.pools.HasSynced, c.classes.HasSynced, c.claims.HasSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("NodePool, EC2NodeClass and NodeClaim caches did not sync")
	}
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	for {
		k, shutdown := c.queue.Get()
		if shutdown {
			return nil
		}
		var err error
		switch k.kind {
		case v1.KindNodePool:
			err = c.syncPool(ctx, k.name)
		case awsv1.KindEC2NodeClass:
			err = c.syncClass(ctx, k.name)
		}
		if err != nil && ctx.Err() == nil {
			c.log.Warn("reconcile", "kind", k.kind, "name", k.name, "error", err)
			c.queue.AddRateLimited(k)
		} else {
			c.queue.Forget(k)
		}
		c.queue.Done(k)
	}
}

// syncPool reads one pool, decides whether it is ready, and writes its status.
func (c *Controller) syncPool(ctx context.Context, name string) error {
	obj, exists, err := c.pools.GetStore().GetByKey(name)
	if err != nil {
		return err
	}
	if !exists {
		c.setReady(name, nil)
		return nil
	}
	u := obj.(*unstructured.Unstructured)
	if group, _, _ := unstructured.NestedString(u.Object, "spec", "template", "spec", "nodeClassRef", "group"); group != c.group {
		c.setReady(name, nil) // another controller's pool (nodeClassRef.group is immutable)
		return nil
	}
	pool, warnings, loadErr := c.loader.StoredNodePool(ctx, u.DeepCopy().Object)
	status := currentPoolStatus(u)
	generation := u.GetGeneration()
	validation := metav1.Condition{Type: v1.ConditionValidationSucceeded, Status: metav1.ConditionTrue, Reason: "Valid", Message: "", ObservedGeneration: generation}
	if loadErr != nil {
		validation = metav1.Condition{Type: v1.ConditionValidationSucceeded, Status: metav1.ConditionFalse, Reason: "Invalid", Message: loadErr.Error(), ObservedGeneration: generation}
	}
	classCond := c.nodeClassCondition(ctx, u, pool, generation)
	ready := metav1.Condition{Type: v1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Ready", Message: strings.Join(warnings, "; "), ObservedGeneration: generation}
	switch {
	case u.GetDeletionTimestamp() != nil:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, "Deleting", "the NodePool is being deleted; its nodes drain and go"
	case loadErr != nil:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, "ValidationFailed", loadErr.Error()
	case pool.Spec.Replicas != nil:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, "StaticNodePoolNotSupported",
			"spec.replicas (static NodePools) is not supported by Nodewright yet; remove it to provision for pending pods"
	case classCond.Status != metav1.ConditionTrue:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, "NodeClassNotReady", classCond.Message
	}
	next := status.DeepCopy()
	for _, cond := range []metav1.Condition{validation, classCond, ready} {
		apimeta.SetStatusCondition(&next.Conditions, cond)
	}
	next.Nodes, next.Resources = c.poolResources(name)
	if ready.Status == metav1.ConditionTrue {
		c.setReady(name, pool)
	} else {
		c.setReady(name, nil)
		if was := apimeta.FindStatusCondition(status.Conditions, v1.ConditionReady); ready.Reason != "Deleting" &&
			(was == nil || was.Status != metav1.ConditionFalse || was.Message != ready.Message) {
			c.recorder.Eventf(u, nil, corev1.EventTypeWarning, ready.Reason, "Provisioning", "NodePool %s is not ready: %s", name, ready.Message)
		}
	}
	if equality.Semantic.DeepEqual(status, next) {
		return nil
	}
	return c.patchStatus(ctx, u, v1.NodePoolResource.Resource, next)
}

// nodeClassCondition is NodeClassReady: the pool's EC2NodeClass exists and is valid.
func (c *Controller) nodeClassCondition(ctx context.Context, u *unstructured.Unstructured, pool *v1.NodePool, generation int64) metav1.Condition {
	cond := metav1.Condition{Type: v1.ConditionNodeClassReady, Status: metav1.ConditionTrue, Reason: "Ready", ObservedGeneration: generation}
	group, _, _ := unstructured.NestedString(u.Object, "spec", "template", "spec", "nodeClassRef", "group")
	kind, _, _ := unstructured.NestedString(u.Object, "spec", "template", "spec", "nodeClassRef", "kind")
	name, _, _ := unstructured.NestedString(u.Object, "spec", "template", "spec", "nodeClassRef", "name")
	if pool != nil {
		ref := pool.Spec.Template.Spec.NodeClassRef
		group, kind, name = ref.Group, ref.Kind, ref.Name
	}
	if !awsv1.IsEC2NodeClassRef(group, kind) {
		cond.Status, cond.Reason = metav1.ConditionFalse, "UnknownNodeClass"
		cond.Message = fmt.Sprintf("nodeClassRef %s/%s is not a node class Nodewright serves; use group %s, kind %s", group, kind, c.group, awsv1.KindEC2NodeClass)
		return cond
	}
	obj, exists, err := c.classes.GetStore().GetByKey(name)
	if err != nil || !exists {
		cond.Status, cond.Reason = metav1.ConditionFalse, "NodeClassNotFound"
		cond.Message = fmt.Sprintf("EC2NodeClass %s does not exist; kubectl apply one named %s", name, name)
		return cond
	}
	if _, _, err := c.loader.StoredEC2NodeClass(ctx, obj.(*unstructured.Unstructured).DeepCopy().Object); err != nil {
		cond.Status, cond.Reason = metav1.ConditionFalse, "NodeClassInvalid"
		cond.Message = fmt.Sprintf("EC2NodeClass %s is invalid: %v", name, err)
	}
	return cond
}

// syncClass writes an EC2NodeClass's conditions. Nodewright does not resolve subnets,
// security groups, AMIs or instance profiles yet: those conditions say so, and Ready tells
// whether the class may be used.
func (c *Controller) syncClass(ctx context.Context, name string) error {
	if c.group != awsv1.Group {
		return nil // beside a Karpenter, the EC2NodeClasses' status is Karpenter's to write
	}
	obj, exists, err := c.classes.GetStore().GetByKey(name)
	if err != nil || !exists {
		return err
	}
	u := obj.(*unstructured.Unstructured)
	status := awsv1.EC2NodeClassStatus{}
	if raw, ok := u.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &status)
	}
	generation := u.GetGeneration()
	_, warnings, loadErr := c.loader.StoredEC2NodeClass(ctx, u.DeepCopy().Object)
	conds := []metav1.Condition{
		{Type: awsv1.ConditionValidationSucceeded, Status: metav1.ConditionTrue, Reason: "Valid", ObservedGeneration: generation},
		{Type: awsv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Accepted", Message: strings.Join(warnings, "; "), ObservedGeneration: generation},
	}
	for _, t := range []string{awsv1.ConditionSubnetsReady, awsv1.ConditionSecurityGroupsReady, awsv1.ConditionAMIsReady, awsv1.ConditionInstanceProfileReady} {
		conds = append(conds, metav1.Condition{Type: t, Status: metav1.ConditionUnknown, Reason: "NotResolvedYet", ObservedGeneration: generation,
			Message: "Nodewright does not resolve this yet; nodes launch into the worker's zones with its launch template"})
	}
	if loadErr != nil {
		conds[0].Status, conds[0].Reason, conds[0].Message = metav1.ConditionFalse, "Invalid", loadErr.Error()
		conds[1].Status, conds[1].Reason, conds[1].Message = metav1.ConditionFalse, "ValidationFailed", loadErr.Error()
		c.recorder.Eventf(u, nil, corev1.EventTypeWarning, "ValidationFailed", "Validating", "EC2NodeClass %s is invalid: %v", name, loadErr)
	}
	next := status.DeepCopy()
	for _, cond := range conds {
		apimeta.SetStatusCondition(&next.Conditions, cond)
	}
	if equality.Semantic.DeepEqual(&status, next) {
		return nil
	}
	return c.patchStatus(ctx, u, awsv1.EC2NodeClassResource.Resource, next)
}

func (c *Controller) setReady(name string, pool *v1.NodePool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pool == nil {
		delete(c.ready, name)
		return
	}
	c.ready[name] = *pool
}

// poolResources counts the pool's NodeClaims and sums their capacity, as Karpenter reports a
// pool's usage.
func (c *Controller) poolResources(pool string) (*int64, corev1.ResourceList) {
	var n int64
	total := corev1.ResourceList{}
	for _, obj := range c.claims.GetStore().List() {
		u := obj.(*unstructured.Unstructured)
		if u.GetLabels()[v1.LabelNodePool] != pool {
			continue
		}
		n++
		var claim v1.NodeClaim
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &claim); err != nil {
			continue
		}
		for name, q := range claim.Status.Capacity {
			sum := total[name]
			sum.Add(q)
			total[name] = sum
		}
	}
	total[corev1.ResourceName("nodes")] = *resource.NewQuantity(n, resource.DecimalSI)
	return &n, total
}

func currentPoolStatus(u *unstructured.Unstructured) *v1.NodePoolStatus {
	status := &v1.NodePoolStatus{}
	if raw, ok := u.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(raw, status)
	}
	return status
}

// patchStatus replaces the object's status through the status subresource.
func (c *Controller) patchStatus(ctx context.Context, u *unstructured.Unstructured, resource string, status any) error {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(status)
	if err != nil {
		return err
	}
	obj := u.DeepCopy()
	obj.Object["status"] = content
	gvr := v1.NodePoolResource
	if resource == awsv1.EC2NodeClassResource.Resource {
		gvr = awsv1.EC2NodeClassResource
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = c.dyn.Resource(gvr).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update %s %s status: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}
