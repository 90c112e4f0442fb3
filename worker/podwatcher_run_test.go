package worker

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestPodWatcherRunSignalsPodsFromTheAPI runs the real informer against a fake clientset. It
// waits on events with a generous bound and asserts only on what was signalled, never on
// how long it took.
func TestPodWatcherRunSignalsPodsFromTheAPI(t *testing.T) {
	client := fake.NewClientset(
		pendingPod("default", "web-b"),
		pendingPod("default", "web-a"),
		pendingPod("default", "placed", boundTo("node-1")),
	)
	watching := watchStarted(client)
	rec := newSignalRecorder()
	w, _ := newTestWatcher(t, client, rec)
	health := httptest.NewServer(probeMux(testProbes(w, newWorkerStop())))
	defer health.Close()
	if got := getStatus(t, health.URL+"/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the watcher ran = %d, want %d", got, http.StatusServiceUnavailable)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	waitForSignalled(t, rec, "default/web-a", "default/web-b")
	if !w.Synced() {
		t.Error("Synced() = false after the watcher signalled pods from its cache")
	}
	if got := getStatus(t, health.URL+"/readyz"); got != http.StatusOK {
		t.Errorf("/readyz after the cache synced = %d, want %d", got, http.StatusOK)
	}

	select {
	case <-watching:
	case <-time.After(wait.ForeverTestTimeout):
		t.Fatal("the informer never started watching pods")
	}
	late := pendingPod("batch", "job-1")
	if _, err := client.CoreV1().Pods(late.Namespace).Create(ctx, late, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", late.Name, err)
	}
	waitForSignalled(t, rec, "batch/job-1")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after its context ended, want nil", err)
		}
	case <-time.After(wait.ForeverTestTimeout):
		t.Fatal("Run did not return after its context ended")
	}
	for _, keys := range rec.signals() {
		if slices.Contains(keys, "default/placed") {
			t.Errorf("signal %q carries default/placed, a pod bound to a node", keys)
		}
		if !slices.IsSorted(keys) {
			t.Errorf("signal %q is not sorted by pod key", keys)
		}
	}
}

func TestPodWatcherRunStaysUnsyncedWhenStoppedBeforeTheCacheFills(t *testing.T) {
	client := fake.NewClientset(pendingPod("default", "web"))
	listed := make(chan struct{})
	var once sync.Once
	client.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		once.Do(func() { close(listed) })
		return true, nil, errors.New("apiserver unavailable")
	})
	w, _ := newTestWatcher(t, client, newSignalRecorder())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case <-listed:
	case <-time.After(wait.ForeverTestTimeout):
		t.Fatal("the informer never listed pods")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after its context ended, want nil", err)
		}
	case <-time.After(wait.ForeverTestTimeout):
		t.Fatal("Run did not return after its context ended")
	}
	if w.Synced() {
		t.Error("Synced() = true although no pod list ever succeeded; /healthz would pass a blind worker")
	}
}

// watchStarted closes its channel once the informer's pod watch exists. The fake has no
// real resource versions to resume from, so a pod created before then could be missed.
func watchStarted(client *fake.Clientset) <-chan struct{} {
	started := make(chan struct{})
	var once sync.Once
	client.PrependWatchReactor("pods", func(action clienttesting.Action) (bool, watch.Interface, error) {
		var opts metav1.ListOptions
		if wa, ok := action.(clienttesting.WatchActionImpl); ok {
			opts = wa.ListOptions
		}
		wi, err := client.Tracker().Watch(action.GetResource(), action.GetNamespace(), opts)
		if err != nil {
			return false, nil, err
		}
		once.Do(func() { close(started) })
		return true, wi, nil
	})
	return started
}

// waitForSignalled waits until every key has been signalled, failing after a generous bound.
func waitForSignalled(t *testing.T, rec *signalRecorder, keys ...string) {
	t.Helper()
	deadline := time.After(wait.ForeverTestTimeout)
	for {
		seen := rec.signalledKeys()
		missing := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return seen[k] })
		if len(missing) == 0 {
			return
		}
		select {
		case <-rec.updated:
		case <-deadline:
			t.Fatalf("pods %q never signalled; signals so far: %q", missing, rec.signals())
		}
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}
