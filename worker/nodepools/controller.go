package nodepools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

	"github.com/aws/smithy-go"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/activities/bootstrap"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/apis/loader"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Controller watches NodePools, EC2NodeClasses and NodeClaims. Build it with New, run it with
// Run, and read the ready pools with NodePools.
type Controller struct {
	dyn      dynamic.Interface
	factory  dynamicinformer.DynamicSharedInformerFactory
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
	// notReady says why each pool of this worker's group is not ready.
	notReady map[string]string

	// resolver resolves the classes' subnets, security groups, AMIs and instance profiles;
	// nil leaves them unresolved.
	resolver Resolver
	// resolved holds each Ready class as last resolved, for launches to use; guarded by mu.
	resolved map[string]*awsv1.EC2NodeClass
	// onReady is called when a pool becomes ready or a ready pool changes; nil calls nothing.
	onReady func()
	// release deletes what was made for a class that is gone (its instance profile and
	// launch templates); nil deletes nothing.
	release func(ctx context.Context, class *awsv1.EC2NodeClass) error
	// gone holds classes deleted without our finalizer (beside a Karpenter) until released;
	// guarded by mu.
	gone map[string]*unstructured.Unstructured
}

// FinalizerClassTermination holds an EC2NodeClass until the nodes launched from it are gone
// and what was made for it is deleted, as Karpenter's does.
const FinalizerClassTermination = "karpenter.k8s.aws/termination"

// OnClassDeleted calls release for a class that is being deleted, once no NodeClaim uses it,
// to delete its instance profile and launch templates. Call it before Run.
func (c *Controller) OnClassDeleted(release func(ctx context.Context, class *awsv1.EC2NodeClass) error) {
	c.release = release
}

// OnPoolReady calls f (without blocking on it for long, please) whenever a pool becomes ready
// or a ready pool is edited, so that pods left pending for want of it are planned again at
// once. Call it before Run.
func (c *Controller) OnPoolReady(f func()) { c.onReady = f }

// Resolver resolves what an EC2NodeClass selects (activities.ClassResolver against EC2, SSM
// and IAM).
type Resolver interface {
	Subnets(ctx context.Context, terms []awsv1.SubnetSelectorTerm) ([]activities.Subnet, error)
	SecurityGroups(ctx context.Context, terms []awsv1.SecurityGroupSelectorTerm) ([]activities.SecurityGroup, error)
	AMIs(ctx context.Context, terms []awsv1.AMISelectorTerm) ([]awsv1.AMI, error)
	InstanceProfile(ctx context.Context, class *awsv1.EC2NodeClass) (string, error)
}

// ResolveEvery is how often a class is looked up again, so that a subnet tagged or filling
// up since, or a newer AMI behind an alias, is seen without an edit (Karpenter looks at
// subnets and AMIs every minute, security groups every five).
const ResolveEvery = time.Minute

// resolveTimeout bounds one class's lookups: the controller has one worker, and a hung call
// must not hold every pool and class behind it.
const resolveTimeout = 30 * time.Second

// ResolveWith makes the controller resolve each EC2NodeClass through r, on every change and
// every ResolveEvery. Call it before Run.
func (c *Controller) ResolveWith(r Resolver) { c.resolver = r }

// NodeClass returns the class as last resolved, if it is Ready.
func (c *Controller) NodeClass(name string) (*awsv1.EC2NodeClass, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	class, ok := c.resolved[name]
	if !ok {
		return nil, false
	}
	return class.DeepCopy(), true
}

// setResolved keeps (or, with nil, drops) the class for launches. When the class becomes
// ready or stops being so, its pools are looked at again: beside a Karpenter no status write
// of this controller's would bring them.
func (c *Controller) setResolved(name string, class *awsv1.EC2NodeClass) {
	c.mu.Lock()
	_, was := c.resolved[name]
	if class == nil {
		delete(c.resolved, name)
	} else {
		c.resolved[name] = class
	}
	c.mu.Unlock()
	if was != (class != nil) {
		for _, p := range c.pools.GetStore().List() {
			c.enqueue(v1.KindNodePool, p)
		}
	}
}

// key names an object to reconcile.
type key struct {
	kind string // v1.KindNodePool or awsv1.KindEC2NodeClass
	name string
}

// New builds the controller for the pools whose nodeClassRef names group (karpenter.k8s.aws,
// or nodewright.io beside a Karpenter), on the factory's informers, which the worker's other
// readers of NodeClaims share; Run starts them.
func New(dyn dynamic.Interface, factory dynamicinformer.DynamicSharedInformerFactory, ld *loader.Loader, recorder events.EventRecorder, log *slog.Logger, group string) *Controller {
	c := &Controller{
		dyn: dyn, factory: factory, loader: ld, recorder: recorder, log: log, group: group,
		pools:   factory.ForResource(v1.NodePoolResource).Informer(),
		classes: factory.ForResource(awsv1.EC2NodeClassResource).Informer(),
		// The worker's factory caches NodeClaims without spec.requirements: Get one to read them.
		claims: factory.ForResource(v1.NodeClaimResource).Informer(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[key](),
			workqueue.TypedRateLimitingQueueConfig[key]{Name: "nodepools"}),
		ready:    map[string]v1.NodePool{},
		notReady: map[string]string{},
		resolved: map[string]*awsv1.EC2NodeClass{},
		gone:     map[string]*unstructured.Unstructured{},
	}
	_, _ = c.pools.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.enqueue(v1.KindNodePool, obj) },
		UpdateFunc: func(old, obj any) {
			// A write of the status alone, this controller's own most often, changes nothing
			// the pool is synced from; answering it would write the status once more each time
			// its NodeClaims moved meanwhile.
			if !onlyStatusDiffers(old, obj) {
				c.enqueue(v1.KindNodePool, obj)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			c.enqueue(v1.KindNodePool, obj)
		},
	})
	classChanged := func(obj any) {
		c.enqueue(awsv1.KindEC2NodeClass, obj)
		// Pools naming the class may become ready or not.
		for _, p := range c.pools.GetStore().List() {
			c.enqueue(v1.KindNodePool, p)
		}
	}
	_, _ = c.classes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    classChanged,
		UpdateFunc: func(_, obj any) { classChanged(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			// Gone without our finalizer (beside a Karpenter): remembered, to be released.
			if u, ok := obj.(*unstructured.Unstructured); ok && !slices.Contains(u.GetFinalizers(), FinalizerClassTermination) {
				c.mu.Lock()
				c.gone[u.GetName()] = u
				c.mu.Unlock()
			}
			classChanged(obj)
		},
	})
	_ = c.claims.AddIndexers(cache.Indexers{byPool: func(obj any) ([]string, error) {
		if u, ok := obj.(*unstructured.Unstructured); ok && u.GetLabels()[v1.LabelNodePool] != "" {
			return []string{u.GetLabels()[v1.LabelNodePool]}, nil
		}
		return nil, nil
	}})
	_, _ = c.claims.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.countLater,
		UpdateFunc: func(old, obj any) {
			if countsDiffer(old, obj) {
				c.countLater(old)
				c.countLater(obj)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			c.countLater(obj)
		},
	})
	return c
}

// onlyStatusDiffers reports whether a pool update left everything but its status as it was:
// spec (the generation), labels, annotations (nodewright.io/max-hourly-cost is one), and
// deletion.
func onlyStatusDiffers(old, obj any) bool {
	o, ok1 := old.(*unstructured.Unstructured)
	n, ok2 := obj.(*unstructured.Unstructured)
	return ok1 && ok2 && o.GetGeneration() == n.GetGeneration() &&
		(o.GetDeletionTimestamp() == nil) == (n.GetDeletionTimestamp() == nil) &&
		maps.Equal(o.GetLabels(), n.GetLabels()) && maps.Equal(o.GetAnnotations(), n.GetAnnotations())
}

// byPool indexes NodeClaims by their karpenter.sh/nodepool label.
const byPool = "nodepool"

// countEvery is how often at most a pool's status is written while its NodeClaims change: a
// scale-out of hundreds of nodes changes them hundreds of times a minute, and every write
// would also race the pool's own informer into a conflict.
const countEvery = time.Second

// countLater has the NodeClaim's pool counted again within countEvery; a burst of changes
// makes one status write.
func (c *Controller) countLater(obj any) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		if pool := u.GetLabels()[v1.LabelNodePool]; pool != "" {
			c.queue.AddAfter(key{kind: v1.KindNodePool, name: pool}, countEvery)
		}
	}
}

// countsDiffer reports whether a NodeClaim update changes what its pool's status counts: the
// pool it belongs to or the capacity it adds. Condition and address updates, most of a
// NodeClaim's writes, do not.
func countsDiffer(old, obj any) bool {
	o, ok1 := old.(*unstructured.Unstructured)
	n, ok2 := obj.(*unstructured.Unstructured)
	if !ok1 || !ok2 {
		return true
	}
	if o.GetLabels()[v1.LabelNodePool] != n.GetLabels()[v1.LabelNodePool] {
		return true
	}
	oc, _, _ := unstructured.NestedMap(o.Object, "status", "capacity")
	nc, _, _ := unstructured.NestedMap(n.Object, "status", "capacity")
	return !equality.Semantic.DeepEqual(oc, nc)
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
	c.factory.Start(ctx.Done())
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
	if c.resolver != nil {
		go c.resolvePeriodically(ctx)
	}
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
			// A conflict means the cache had not yet seen our last status write: the retry
			// reads the newer object, nothing is wrong.
			level := slog.LevelWarn
			if apierrors.IsConflict(err) {
				level = slog.LevelDebug
			}
			c.log.Log(ctx, level, "reconcile", "kind", k.kind, "name", k.name, "error", err)
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
		c.setNotReady(name, ready.Message)
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
	classObj := obj.(*unstructured.Unstructured)
	if _, _, err := c.loader.StoredEC2NodeClass(ctx, classObj.DeepCopy().Object); err != nil {
		cond.Status, cond.Reason = metav1.ConditionFalse, "NodeClassInvalid"
		cond.Message = fmt.Sprintf("EC2NodeClass %s is invalid: %v", name, err)
		return cond
	}
	if c.resolver != nil {
		// Whether the class resolved is this controller's own verdict, kept in memory: beside
		// a Karpenter the class's status is Karpenter's.
		if _, ok := c.NodeClass(name); !ok {
			status := currentClassStatus(classObj)
			switch ready := apimeta.FindStatusCondition(status.Conditions, awsv1.ConditionReady); {
			case c.group == awsv1.Group && ready != nil && ready.ObservedGeneration == classObj.GetGeneration() && ready.Status == metav1.ConditionFalse:
				cond.Status, cond.Reason = metav1.ConditionFalse, "NodeClassNotReady"
				cond.Message = fmt.Sprintf("EC2NodeClass %s is not ready: %s", name, ready.Message)
			default:
				cond.Status, cond.Reason = metav1.ConditionUnknown, "NodeClassNotResolved"
				cond.Message = fmt.Sprintf("EC2NodeClass %s has not been resolved yet", name)
			}
		}
	}
	return cond
}

// syncClass resolves an EC2NodeClass, keeps it for launches if it is Ready, and writes its
// status and conditions. Beside a Karpenter the class's status is Karpenter's to write, so
// the class is resolved in memory only.
func (c *Controller) syncClass(ctx context.Context, name string) error {
	obj, exists, err := c.classes.GetStore().GetByKey(name)
	if err != nil {
		return err
	}
	if !exists {
		c.setResolved(name, nil)
		return c.releaseGone(ctx, name)
	}
	u := obj.(*unstructured.Unstructured)
	owner := c.group == awsv1.Group
	var finalizerErr error // a finalizer that could not be added does not keep the class from use
	if owner && c.release != nil {
		done, err := c.finalize(ctx, u)
		if done {
			return err
		}
		finalizerErr = err
	}
	status := awsv1.EC2NodeClassStatus{}
	if owner {
		status = *currentClassStatus(u)
	} else if prev, ok := c.NodeClass(name); ok {
		status = prev.Status
	}
	generation := u.GetGeneration()
	class, warnings, loadErr := c.loader.StoredEC2NodeClass(ctx, u.DeepCopy().Object)
	if loadErr == nil {
		if err := bootstrap.Check(class.Family(), class.Spec.Kubelet, class.Spec.UserData); err != nil {
			loadErr = fmt.Errorf("nodes could not boot from it: %w", err)
		}
	}
	next := status.DeepCopy()
	validation := metav1.Condition{Type: awsv1.ConditionValidationSucceeded, Status: metav1.ConditionTrue, Reason: "Valid", ObservedGeneration: generation}
	ready := metav1.Condition{Type: awsv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Ready", Message: strings.Join(warnings, "; "), ObservedGeneration: generation}
	var conds []metav1.Condition
	var resolveErr error
	switch {
	case c.resolver != nil && loadErr == nil:
		conds, resolveErr = c.resolve(ctx, class, &status, next, generation)
	default:
		for _, t := range []string{awsv1.ConditionSubnetsReady, awsv1.ConditionSecurityGroupsReady, awsv1.ConditionAMIsReady, awsv1.ConditionInstanceProfileReady} {
			conds = append(conds, metav1.Condition{Type: t, Status: metav1.ConditionUnknown, Reason: "NotResolved", ObservedGeneration: generation,
				Message: "this worker resolves no node classes"})
		}
	}
	var notReady []string
	for _, cond := range conds {
		if c.resolver != nil && cond.Status != metav1.ConditionTrue {
			notReady = append(notReady, cond.Type+"="+string(cond.Status)+": "+cond.Message)
		}
	}
	switch {
	case loadErr != nil:
		validation.Status, validation.Reason, validation.Message = metav1.ConditionFalse, "Invalid", loadErr.Error()
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, "ValidationFailed", loadErr.Error()
		c.recorder.Eventf(u, nil, corev1.EventTypeWarning, "ValidationFailed", "Validating", "EC2NodeClass %s is invalid: %v", name, loadErr)
	case len(notReady) > 0:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, "UnhealthyDependents", strings.Join(notReady, "; ")
		if was := apimeta.FindStatusCondition(status.Conditions, awsv1.ConditionReady); owner && (was == nil || was.Status != metav1.ConditionFalse || was.Message != ready.Message) {
			c.recorder.Eventf(u, nil, corev1.EventTypeWarning, "NodeClassNotReady", "Resolving", "EC2NodeClass %s is not ready: %s", name, ready.Message)
		}
	}
	for _, cond := range append([]metav1.Condition{validation, ready}, conds...) {
		apimeta.SetStatusCondition(&next.Conditions, cond)
	}
	if ready.Status == metav1.ConditionTrue {
		resolved := class.DeepCopy()
		resolved.Status = *next
		c.setResolved(name, resolved)
	} else {
		c.setResolved(name, nil)
	}
	if owner && !equality.Semantic.DeepEqual(&status, next) {
		if err := c.patchStatus(ctx, u, awsv1.EC2NodeClassResource.Resource, next); err != nil {
			return errors.Join(resolveErr, finalizerErr, err)
		}
	}
	return errors.Join(resolveErr, finalizerErr)
}

// finalize keeps the termination finalizer on a live class and, on a class being deleted,
// waits for the NodeClaims launched from it to go, releases what was made for it and lets
// it go. done is true once the class needs nothing more.
func (c *Controller) finalize(ctx context.Context, u *unstructured.Unstructured) (done bool, err error) {
	has := slices.Contains(u.GetFinalizers(), FinalizerClassTermination)
	if u.GetDeletionTimestamp() == nil {
		if has {
			return false, nil
		}
		obj := u.DeepCopy()
		obj.SetFinalizers(append(obj.GetFinalizers(), FinalizerClassTermination))
		_, err := c.dyn.Resource(awsv1.EC2NodeClassResource).Update(ctx, obj, metav1.UpdateOptions{})
		if err != nil {
			return false, fmt.Errorf("add finalizer %s to EC2NodeClass %s (its instance profile and launch templates would outlive it): %w",
				FinalizerClassTermination, u.GetName(), err)
		}
		return true, nil // the update brings the class back
	}
	c.setResolved(u.GetName(), nil)
	if !has {
		return true, nil
	}
	if claims := c.claimsOf(u.GetName()); len(claims) > 0 {
		c.recorder.Eventf(u, nil, corev1.EventTypeNormal, "WaitingOnNodeClaimTermination", "Deleting",
			"EC2NodeClass %s waits for %d NodeClaims to go: %s", u.GetName(), len(claims), strings.Join(claims[:min(len(claims), 5)], ", "))
		return true, fmt.Errorf("EC2NodeClass %s is still used by %d NodeClaims", u.GetName(), len(claims))
	}
	class, _, err := c.loader.StoredEC2NodeClass(ctx, u.DeepCopy().Object)
	if err != nil {
		class = &awsv1.EC2NodeClass{}
		class.Name = u.GetName()
	}
	if err := c.release(ctx, class); err != nil {
		return true, fmt.Errorf("release what EC2NodeClass %s made: %w", u.GetName(), err)
	}
	obj := u.DeepCopy()
	obj.SetFinalizers(slices.DeleteFunc(obj.GetFinalizers(), func(f string) bool { return f == FinalizerClassTermination }))
	if _, err := c.dyn.Resource(awsv1.EC2NodeClassResource).Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		return true, fmt.Errorf("remove finalizer from EC2NodeClass %s: %w", u.GetName(), err)
	}
	return true, nil
}

// claimsOf names the NodeClaims launched from the class.
func (c *Controller) claimsOf(class string) []string {
	var names []string
	for _, obj := range c.claims.GetStore().List() {
		u := obj.(*unstructured.Unstructured)
		if ref, _, _ := unstructured.NestedString(u.Object, "spec", "nodeClassRef", "name"); ref == class {
			names = append(names, u.GetName())
		}
	}
	slices.Sort(names)
	return names
}

// releaseGone releases what was made for a class deleted without our finalizer (beside a
// Karpenter, whose finalizer it is); a failure is tried again.
func (c *Controller) releaseGone(ctx context.Context, name string) error {
	c.mu.Lock()
	u, ok := c.gone[name]
	c.mu.Unlock()
	if !ok || c.release == nil {
		return nil
	}
	// The Karpenter whose finalizer let the class go waited for its own NodeClaims only.
	if claims := c.claimsOf(name); len(claims) > 0 {
		return fmt.Errorf("EC2NodeClass %s is gone but %d NodeClaims launched from it still run; its instance profile stays until they go", name, len(claims))
	}
	class, _, err := c.loader.StoredEC2NodeClass(ctx, u.DeepCopy().Object)
	if err != nil {
		class = &awsv1.EC2NodeClass{}
		class.Name = name
	}
	if err := c.release(ctx, class); err != nil {
		return fmt.Errorf("release what EC2NodeClass %s made: %w", name, err)
	}
	c.mu.Lock()
	delete(c.gone, name)
	c.mu.Unlock()
	return nil
}

// resolvePeriodically queues every class each ResolveEvery.
func (c *Controller) resolvePeriodically(ctx context.Context) {
	tick := time.NewTicker(ResolveEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for _, obj := range c.classes.GetStore().List() {
				c.enqueue(awsv1.KindEC2NodeClass, obj)
			}
		}
	}
}

// resolve looks up what the class selects into next and returns the conditions. A failed
// lookup is returned, so the class is looked at again after a backoff, and does not take the
// class out of service unless it cannot clear by itself: a throttled or unreachable AWS
// leaves the last answer and its condition as they were, as Karpenter does.
func (c *Controller) resolve(ctx context.Context, class *awsv1.EC2NodeClass, was, next *awsv1.EC2NodeClassStatus, generation int64) ([]metav1.Condition, error) {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	subnets, subnetErr := c.resolver.Subnets(ctx, class.Spec.SubnetSelectorTerms)
	if subnetErr == nil {
		next.Subnets = nil
		for _, s := range subnets {
			next.Subnets = append(next.Subnets, awsv1.Subnet{ID: s.ID, Zone: s.Zone, ZoneID: s.ZoneID})
		}
	}
	groups, groupErr := c.resolver.SecurityGroups(ctx, class.Spec.SecurityGroupSelectorTerms)
	if groupErr == nil {
		next.SecurityGroups = nil
		for _, g := range groups {
			next.SecurityGroups = append(next.SecurityGroups, awsv1.SecurityGroup{ID: g.ID, Name: g.Name})
		}
	}
	amis, amiErr := c.resolver.AMIs(ctx, class.Spec.AMISelectorTerms)
	if amiErr == nil {
		next.AMIs = amis
	}
	profile, profileErr := c.resolver.InstanceProfile(ctx, class)
	if profileErr == nil {
		next.InstanceProfile = profile
	}
	found := 0
	if profile != "" {
		found = 1
	}
	return []metav1.Condition{
		resolvedCondition(was, awsv1.ConditionSubnetsReady, "Subnets", len(subnets), subnetErr, generation,
			"no subnet matches spec.subnetSelectorTerms; tag the cluster's subnets as the terms say, or change the terms"),
		resolvedCondition(was, awsv1.ConditionSecurityGroupsReady, "SecurityGroups", len(groups), groupErr, generation,
			"no security group matches spec.securityGroupSelectorTerms; tag the nodes' security group as the terms say, or change the terms"),
		resolvedCondition(was, awsv1.ConditionAMIsReady, "AMIs", len(amis), amiErr, generation,
			"no AMI matches spec.amiSelectorTerms; use an alias (al2023@latest) or check the terms' ids, names, owners and tags"),
		resolvedCondition(was, awsv1.ConditionInstanceProfileReady, "InstanceProfile", found, profileErr, generation,
			"no instance profile; name the nodes' IAM role in spec.role"),
	}, errors.Join(subnetErr, groupErr, amiErr, profileErr)
}

// resolvedCondition is a selector's condition, with Karpenter's reasons <What>Ready and
// <What>NotFound, and <What>NotResolved for a failed lookup. A lookup that failed for a
// reason that clears by itself keeps the condition it had; the first one is Unknown. The
// message never carries EC2's request id: a message that changed with every failure would
// write the status, and so look again, at once, in a loop.
func resolvedCondition(was *awsv1.EC2NodeClassStatus, typ, what string, found int, err error, generation int64, fix string) metav1.Condition {
	cond := metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: what + "Ready", ObservedGeneration: generation}
	switch {
	case err == nil && found == 0:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, what+"NotFound", fix
	case err == nil:
	case lasting(err):
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, what+"NotResolved", stableMessage(err)
	default:
		if prev := apimeta.FindStatusCondition(was.Conditions, typ); prev != nil && prev.Status != metav1.ConditionUnknown {
			return *prev
		}
		cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, what+"NotResolved", stableMessage(err)
	}
	return cond
}

// lasting tells a lookup failure that needs someone to act (a term that selects everything,
// a permission the worker lacks) from one that clears by itself.
func lasting(err error) bool {
	if errors.Is(err, activities.ErrEmptyTerm) || errors.Is(err, activities.ErrNoAMI) || errors.Is(err, activities.ErrInvalidClass) {
		return true
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode() {
	case "UnauthorizedOperation", "AuthFailure", "InvalidClientTokenId", "OptInRequired", "Blocked", "InvalidParameterValue",
		"InvalidSubnetID.NotFound", "InvalidGroup.NotFound", "InvalidAMIID.NotFound", "InvalidAMIID.Malformed",
		"AccessDenied", "AccessDeniedException", "NoSuchEntity", "ValidationError", "LimitExceeded", "ParameterNotFound":
		return true
	}
	return false
}

// stableMessage says what failed without the parts that change from call to call.
func stableMessage(err error) string {
	if errors.Is(err, activities.ErrEmptyTerm) || errors.Is(err, activities.ErrNoAMI) || errors.Is(err, activities.ErrInvalidClass) {
		return err.Error()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return fmt.Sprintf("AWS refused the lookup: %s: %s", apiErr.ErrorCode(), apiErr.ErrorMessage())
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return "AWS could not be reached for the lookup"
	}
	return err.Error()
}

// NotReadyPools says why each of this worker's pools that is not ready is not: pods that no
// ready pool can take are told, so that "no NodePool" names the class and the condition that
// hold theirs back.
func (c *Controller) NotReadyPools() map[string]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return maps.Clone(c.notReady)
}

func (c *Controller) setNotReady(name, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notReady[name] = why
}

func (c *Controller) setReady(name string, pool *v1.NodePool) {
	c.mu.Lock()
	delete(c.notReady, name)
	if pool == nil {
		delete(c.ready, name)
		c.mu.Unlock()
		return
	}
	was, wasReady := c.ready[name]
	c.ready[name] = *pool
	c.mu.Unlock()
	if c.onReady != nil && (!wasReady || was.Generation != pool.Generation) {
		c.onReady()
	}
}

// poolResources counts the pool's NodeClaims and sums their capacity, as Karpenter reports a
// pool's usage. It reads status.capacity alone: the pool is synced on each of its claims'
// changes, and decoding every claim whole each time made a scale-out's syncs quadratic in
// allocations (a fifth of the worker's at 5,000 pods). A claim whose capacity cannot be read
// counts as a node of no capacity.
func (c *Controller) poolResources(pool string) (*int64, corev1.ResourceList) {
	var n int64
	total := corev1.ResourceList{}
	claims, _ := c.claims.GetIndexer().ByIndex(byPool, pool)
	for _, obj := range claims {
		u := obj.(*unstructured.Unstructured)
		n++
		capacity, err := claimCapacity(u)
		if err != nil {
			continue
		}
		for name, q := range capacity {
			sum := total[name]
			sum.Add(q)
			total[name] = sum
		}
	}
	total[corev1.ResourceName("nodes")] = *resource.NewQuantity(n, resource.DecimalSI)
	return &n, total
}

// claimCapacity reads a NodeClaim's status.capacity without decoding the rest of it.
func claimCapacity(u *unstructured.Unstructured) (corev1.ResourceList, error) {
	v, _, err := unstructured.NestedFieldNoCopy(u.Object, "status", "capacity")
	if err != nil || v == nil {
		return nil, err
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("status.capacity: %T, not a map", v)
	}
	capacity := make(corev1.ResourceList, len(raw))
	for name, v := range raw {
		// The CRD's quantities are int-or-string: `cpu: 2` is as valid as `cpu: "2"`.
		var q resource.Quantity
		switch v := v.(type) {
		case string:
			var err error
			if q, err = resource.ParseQuantity(v); err != nil {
				return nil, fmt.Errorf("status.capacity.%s: %w", name, err)
			}
		case int64:
			q = *resource.NewQuantity(v, resource.DecimalSI)
		case float64:
			q = *resource.NewMilliQuantity(int64(v*1000), resource.DecimalSI)
		default:
			return nil, fmt.Errorf("status.capacity.%s: %T, not a quantity", name, v)
		}
		capacity[corev1.ResourceName(name)] = q
	}
	return capacity, nil
}

func currentPoolStatus(u *unstructured.Unstructured) *v1.NodePoolStatus {
	return statusOf(u, &v1.NodePoolStatus{})
}

func currentClassStatus(u *unstructured.Unstructured) *awsv1.EC2NodeClassStatus {
	return statusOf(u, &awsv1.EC2NodeClassStatus{})
}

// statusOf decodes the object's status into into; a missing or unreadable one stays empty.
func statusOf[T any](u *unstructured.Unstructured, into *T) *T {
	if raw, ok := u.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(raw, into)
	}
	return into
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
