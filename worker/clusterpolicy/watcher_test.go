package clusterpolicy

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/nodewright/nodewright/apis/v1alpha1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// syncBuffer is a log sink the watcher's goroutine and the test can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var flagLimits = schedulerengine.ClusterLimits{
	Resources:     corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("512")},
	MaxHourlyCost: ptr(40.0),
}

func newFakeDynamic(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.ClusterPolicyResource: "ClusterPolicyList"}, objs...)
}

func policy(name, maxHourlyCost string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(v1alpha1.SchemeGroupVersion.String())
	u.SetKind(v1alpha1.KindClusterPolicy)
	u.SetName(name)
	_ = unstructured.SetNestedField(u.Object, maxHourlyCost, "spec", "maxHourlyCost")
	return u
}

func startWatcher(t *testing.T, dyn *dynamicfake.FakeDynamicClient) (*Watcher, *syncBuffer, chan struct{}) {
	t.Helper()
	logs := &syncBuffer{}
	w := New(dyn, flagLimits, nil, slog.New(slog.NewTextHandler(logs, nil)))
	w.lookAgain = 10 * time.Millisecond
	changed := make(chan struct{}, 16)
	w.OnChange(func() { changed <- struct{}{} })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return w, logs, changed
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hourlyCost(w *Watcher) float64 {
	l := w.ClusterLimits()
	if l.MaxHourlyCost == nil {
		return -1
	}
	return *l.MaxHourlyCost
}

// Without the CRD the flags apply, and the watcher says so once however often it looks again.
func TestWithoutTheCRDTheFlagsApplyAndAreLoggedOnce(t *testing.T) {
	dyn := newFakeDynamic()
	var lists sync.WaitGroup
	lists.Add(5)
	var mu sync.Mutex
	seen := 0
	dyn.PrependReactor("list", "clusterpolicies", func(k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if seen++; seen <= 5 {
			lists.Done()
		}
		return true, nil, apierrors.NewNotFound(v1alpha1.ClusterPolicyResource.GroupResource(), "")
	})
	w, logs, _ := startWatcher(t, dyn)
	lists.Wait()
	if got := w.ClusterLimits(); !equal(got, flagLimits) {
		t.Errorf("limits %s, want the flags' %s", describe(got), describe(flagLimits))
	}
	if n := strings.Count(logs.String(), "CRD is not installed"); n != 1 {
		t.Errorf("logged the missing CRD %d times, want once:\n%s", n, logs)
	}
}

// The default policy wins for the fields it sets; deleting it brings the flags back; a policy
// with another name changes nothing and is marked not Ready.
func TestTheDefaultPolicyWinsAndItsDeletionBringsTheFlagsBack(t *testing.T) {
	dyn := newFakeDynamic(policy(v1alpha1.DefaultName, "0.50"))
	w, _, changed := startWatcher(t, dyn)
	eventually(t, "the policy's hourly cost", func() bool { return hourlyCost(w) == 0.5 })
	if q := w.ClusterLimits().Resources[corev1.ResourceCPU]; q.Cmp(resource.MustParse("512")) != 0 {
		t.Errorf("cpu %v, want the flag's 512 (the policy sets none)", q)
	}
	<-changed
	eventually(t, "default Ready=True", func() bool { return readyStatus(t, dyn, v1alpha1.DefaultName) == "True/Applied" })

	res := dyn.Resource(v1alpha1.ClusterPolicyResource)
	if _, err := res.Create(context.Background(), policy("other", "0.01"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "other Ready=False", func() bool { return readyStatus(t, dyn, "other") == "False/Ignored" })
	if hourlyCost(w) != 0.5 {
		t.Errorf("hourly cost %v after a policy named other, want the default's 0.5", hourlyCost(w))
	}

	if err := res.Delete(context.Background(), v1alpha1.DefaultName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the flags' hourly cost", func() bool { return hourlyCost(w) == 40 })
	<-changed
}

// A default policy edited into something unreadable is not applied: the flags hold, on a
// replica that applied it before as on one started after, and the two write the same status
// instead of overwriting each other's.
func TestAnUnreadablePolicyGivesEveryReplicaTheFlags(t *testing.T) {
	dyn := newFakeDynamic(policy(v1alpha1.DefaultName, "0.50"))
	var statusWrites atomic.Int32
	dyn.PrependReactor("update", "clusterpolicies", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" {
			statusWrites.Add(1)
		}
		return false, nil, nil
	})
	before, _, _ := startWatcher(t, dyn)
	eventually(t, "the policy's hourly cost", func() bool { return hourlyCost(before) == 0.5 })
	bad := policy(v1alpha1.DefaultName, "$1")
	bad.SetResourceVersion("")
	if _, err := dyn.Resource(v1alpha1.ClusterPolicyResource).Update(context.Background(), bad, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "default Ready=False", func() bool { return readyStatus(t, dyn, v1alpha1.DefaultName) == "False/InvalidSpec" })
	after, _, _ := startWatcher(t, dyn)
	eventually(t, "the second replica synced", after.Synced)
	for name, w := range map[string]*Watcher{"the replica that applied it": before, "a replica started after": after} {
		eventually(t, name+" on the flags' hourly cost", func() bool { return hourlyCost(w) == 40 })
	}
	written := statusWrites.Load()
	time.Sleep(200 * time.Millisecond)
	if n := statusWrites.Load() - written; n > 0 {
		t.Errorf("%d more status writes once both replicas agreed, want none", n)
	}
}

// A worker is ready once its limits are the cluster's: at the first policies seen, at once
// without the CRD (the flags are then the cluster's limits), and not while reads fail.
func TestSyncedOnceTheLimitsAreTheClusters(t *testing.T) {
	tests := []struct {
		name       string
		listErr    error
		wantSynced bool
	}{
		{"policies listed", nil, true},
		{"no CRD", apierrors.NewNotFound(v1alpha1.ClusterPolicyResource.GroupResource(), ""), true},
		{"reading denied", apierrors.NewForbidden(v1alpha1.ClusterPolicyResource.GroupResource(), "", errors.New("rbac")), true},
		{"API server failing", apierrors.NewInternalError(errors.New("etcd down")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn := newFakeDynamic()
			if tt.listErr != nil {
				dyn.PrependReactor("list", "clusterpolicies", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tt.listErr
				})
			}
			w, _, _ := startWatcher(t, dyn)
			if tt.wantSynced {
				eventually(t, "synced", w.Synced)
				return
			}
			time.Sleep(100 * time.Millisecond)
			if w.Synced() {
				t.Error("synced while every read failed")
			}
		})
	}
}

func readyStatus(t *testing.T, dyn *dynamicfake.FakeDynamicClient, name string) string {
	t.Helper()
	u, err := dyn.Resource(v1alpha1.ClusterPolicyResource).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	var p v1alpha1.ClusterPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == v1alpha1.ConditionReady {
			return string(c.Status) + "/" + c.Reason
		}
	}
	return "none"
}
