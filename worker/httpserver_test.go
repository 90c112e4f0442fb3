package worker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

func TestMux(t *testing.T) {
	tests := []struct {
		name string
		// synced says whether the pod cache has filled; signalled pods are flushed first.
		synced    bool
		signalled []string
		// fatal, when set, is the error the Temporal SDK worker reports stopping on.
		fatal      error
		path       string
		wantStatus int
		wantBody   []string
	}{
		{
			name: "healthz fails before the pod cache has synced", path: "/healthz",
			wantStatus: http.StatusServiceUnavailable, wantBody: []string{"not synced"},
		},
		{
			name: "healthz passes once the pod cache has synced", synced: true, path: "/healthz",
			wantStatus: http.StatusOK, wantBody: []string{"ok"},
		},
		{
			name: "healthz fails naming the error once the Temporal worker has stopped on it", synced: true, path: "/healthz",
			fatal:      errors.New(`namespace "nodes" not found`),
			wantStatus: http.StatusInternalServerError, wantBody: []string{`temporal worker stopped: namespace "nodes" not found`},
		},
		{
			name: "healthz names the stopped Temporal worker before unsynced caches", path: "/healthz",
			fatal:      errors.New("client version not supported"),
			wantStatus: http.StatusInternalServerError, wantBody: []string{"temporal worker stopped: client version not supported"},
		},
		{
			name: "metrics expose the signalled-pods counter before any signal", path: "/metrics",
			wantStatus: http.StatusOK, wantBody: []string{"nodewright_provisioner_pods_signalled_total 0"},
		},
		{
			name: "metrics count the pods the watcher signalled", synced: true, signalled: []string{"a", "b"}, path: "/metrics",
			wantStatus: http.StatusOK, wantBody: []string{
				"nodewright_provisioner_pods_signalled_total 2",
				"nodewright_provisioner_signal_errors_total 0",
				"nodewright_provisioner_unschedulable_pods 2",
			},
		},
		{
			name: "metrics include the Go runtime collector", path: "/metrics",
			wantStatus: http.StatusOK, wantBody: []string{"go_goroutines"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, m := newTestWatcher(t, fake.NewClientset(), newSignalRecorder())
			w.mu.Lock()
			w.synced = tt.synced
			w.mu.Unlock()
			for _, name := range tt.signalled {
				w.observe(pendingPod("default", name))
			}
			w.flush(context.Background())
			stopped := newWorkerStop()
			if tt.fatal != nil {
				stopped.report(tt.fatal)
			}

			srv := httptest.NewServer(newMux(m, w, stopped))
			defer srv.Close()
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatalf("GET %s: %v", tt.path, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read %s: %v", tt.path, err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("GET %s = %d, want %d", tt.path, resp.StatusCode, tt.wantStatus)
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(string(body), want) {
					t.Errorf("GET %s body lacks %q:\n%s", tt.path, want, body)
				}
			}
		})
	}
}
