package activities

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	apisv1 "github.com/nodewright/nodewright/apis/v1"
)

// drainStart is the fake clock's time before the drain's first look at the node.
func drainStart() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

func podsResource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Version: "v1", Resource: "pods"}
}

// budget stands for a PodDisruptionBudget over some pods: it refuses the next refusals
// evictions of any of them, or every eviction when refusals is negative.
type budget struct {
	pods     []string
	refusals int
}

// askedEviction is one call to the eviction subresource.
type askedEviction struct {
	pod  string
	look int // the drain's look at the node's pods that preceded it
}

// fakeCluster is a fake apiserver for drains. Its eviction subresource deletes the pod, or
// answers 429 as a PodDisruptionBudget would; it records the evictions asked in order. Each
// look at the pods moves the clock on by step, so deadlines and backoffs play out in
// virtual time rather than by sleeping.
type fakeCluster struct {
	client *fake.Clientset

	mu       sync.Mutex
	now      time.Time
	step     time.Duration
	looks    int
	vaLooks  int
	asked    []askedEviction
	budgets  []*budget
	failures map[string]error
	onLook   map[int][]func()
	onVALook map[int][]func()
	// askedCh, when set, hears of every eviction asked.
	askedCh chan string
}

func newFakeCluster(t *testing.T, step time.Duration, objects ...runtime.Object) *fakeCluster {
	t.Helper()
	c := &fakeCluster{
		client: fake.NewClientset(objects...), now: drainStart(), step: step,
		failures: map[string]error{}, onLook: map[int][]func(){}, onVALook: map[int][]func(){},
	}
	c.client.PrependReactor("create", "pods", c.evict)
	c.client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		c.mu.Lock()
		c.looks++
		c.now = c.now.Add(c.step)
		hooks := c.onLook[c.looks]
		c.mu.Unlock()
		for _, h := range hooks {
			h()
		}
		return false, nil, nil
	})
	c.client.PrependReactor("list", "volumeattachments", func(k8stesting.Action) (bool, runtime.Object, error) {
		c.mu.Lock()
		c.vaLooks++
		hooks := c.onVALook[c.vaLooks]
		c.mu.Unlock()
		for _, h := range hooks {
			h()
		}
		return false, nil, nil
	})
	return c
}

func (c *fakeCluster) kube() *Kube { return &Kube{Client: c.client, now: c.clock} }

func (c *fakeCluster) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeCluster) addBudget(b budget) { c.budgets = append(c.budgets, &b) }

// removeAtLook makes the pod vanish just before the drain's look-th look, as a pod does
// once it has shut down. Hooks run inside a reactor, so they use the tracker directly.
func (c *fakeCluster) removeAtLook(t *testing.T, name string, look int) {
	c.onLook[look] = append(c.onLook[look], func() {
		if err := c.client.Tracker().Delete(podsResource(), "ns", name); err != nil {
			t.Errorf("remove pod %s: %v", name, err)
		}
	})
}

// failUntilLook makes the eviction API fail the pod's evictions with err until just before
// the drain's look-th look.
func (c *fakeCluster) failUntilLook(name string, err error, look int) {
	c.failures[name] = err
	c.onLook[look] = append(c.onLook[look], func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.failures, name)
	})
}

// multiplePDBsError is what the eviction API answers for a pod two budgets cover.
func multiplePDBsError() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: 500,
		Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
	}}
}

func (c *fakeCluster) removeVolumeAttachmentAtLook(t *testing.T, name string, look int) {
	c.onVALook[look] = append(c.onVALook[look], func() {
		gvr := schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "volumeattachments"}
		if err := c.client.Tracker().Delete(gvr, "", name); err != nil {
			t.Errorf("remove volume attachment %s: %v", name, err)
		}
	})
}

func (c *fakeCluster) evict(action k8stesting.Action) (bool, runtime.Object, error) {
	if action.GetSubresource() != "eviction" {
		return false, nil, nil
	}
	ev := action.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction)
	c.mu.Lock()
	c.asked = append(c.asked, askedEviction{pod: ev.Name, look: c.looks})
	err := c.answer(ev.Name)
	ch := c.askedCh
	c.mu.Unlock()
	if ch != nil {
		ch <- ev.Name
	}
	if err != nil {
		return true, nil, err
	}
	return true, nil, c.client.Tracker().Delete(podsResource(), ev.Namespace, ev.Name)
}

// answer is the eviction API's refusal for the pod, if any. Callers hold c.mu.
func (c *fakeCluster) answer(name string) error {
	if err := c.failures[name]; err != nil {
		return err
	}
	for _, b := range c.budgets {
		if !slices.Contains(b.pods, name) || b.refusals == 0 {
			continue
		}
		if b.refusals > 0 {
			b.refusals--
		}
		err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type: policyv1.DisruptionBudgetCause, Message: "The disruption budget needs 2 healthy pods and has 2 currently",
		})
		return err
	}
	return nil
}

// askedPods lists the pods whose eviction was asked, in order.
func (c *fakeCluster) askedPods() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, len(c.asked))
	for i, a := range c.asked {
		names[i] = a.pod
	}
	return names
}

// firstAsked is the look after which the pod's eviction was first asked, 0 if never.
func (c *fakeCluster) firstAsked(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.asked {
		if a.pod == name {
			return a.look
		}
	}
	return 0
}

// deletions maps each pod deleted outright to the grace period it was given.
func (c *fakeCluster) deletions() map[string]int64 {
	got := map[string]int64{}
	for _, a := range c.client.Actions() {
		del, ok := a.(k8stesting.DeleteAction)
		if !ok || a.GetResource().Resource != "pods" {
			continue
		}
		grace := int64(-1)
		if g := del.GetDeleteOptions().GracePeriodSeconds; g != nil {
			grace = *g
		}
		got[del.GetName()] = grace
	}
	return got
}

// podsLeft names the pods still stored, sorted.
func (c *fakeCluster) podsLeft(t *testing.T) []string {
	t.Helper()
	list, err := c.client.Tracker().List(podsResource(), schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "ns")
	if err != nil {
		t.Fatalf("list pods left: %v", err)
	}
	var names []string
	for _, p := range list.(*corev1.PodList).Items {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return names
}

// runDrain runs DrainNode the way a worker would, so heartbeats work. resume, if set, is
// the heartbeat a previous attempt left; background, if set, is the worker's context.
func runDrain(t *testing.T, k *Kube, req DrainRequest, resume *DrainProgress, background context.Context) (DrainResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	if resume != nil {
		env.SetHeartbeatDetails(*resume)
	}
	if background == nil {
		// A drain that never ends fails the test instead of hanging it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		background = ctx
	}
	env.SetWorkerOptions(worker.Options{BackgroundActivityContext: background})
	env.RegisterActivity(k.DrainNode)
	v, err := env.ExecuteActivity(k.DrainNode, req)
	if err != nil {
		return DrainResult{}, err
	}
	var result DrainResult
	if err := v.Get(&result); err != nil {
		t.Fatalf("decode drain result: %v", err)
	}
	return result, nil
}

func mirror() podOption {
	return func(p *corev1.Pod) { setAnnotation(p, corev1.MirrorPodAnnotationKey, "hash") }
}
func doNotDisrupt() podOption {
	return func(p *corev1.Pod) { setAnnotation(p, apisv1.AnnotationDoNotDisrupt, "true") }
}
func ownedByDaemonSet() podOption {
	return func(p *corev1.Pod) {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "ds", Controller: &yes}}
	}
}
func priorityClass(name string) podOption {
	return func(p *corev1.Pod) { p.Spec.PriorityClassName = name }
}
func tolerating(tol corev1.Toleration) podOption {
	return func(p *corev1.Pod) { p.Spec.Tolerations = append(p.Spec.Tolerations, tol) }
}
func failed() podOption { return func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed } }
func gracePeriod(seconds int64) podOption {
	return func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = &seconds }
}

// terminatingUntil marks the pod deleted, to be killed at the given time.
func terminatingUntil(at time.Time) podOption {
	return func(p *corev1.Pod) { ts := metav1.NewTime(at); p.DeletionTimestamp = &ts }
}
func withClaim(claim string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: claim, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}})
	}
}

func setAnnotation(p *corev1.Pod, key, value string) {
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[key] = value
}

func boundClaim(name, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: volume},
	}
}

func volumeAttachment(name, nodeName, volume string) *storagev1.VolumeAttachment {
	va := &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       storagev1.VolumeAttachmentSpec{Attacher: "ebs.csi.aws.com", NodeName: nodeName},
	}
	if volume != "" {
		va.Spec.Source.PersistentVolumeName = &volume
	}
	return va
}
