package worker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

func TestMux(t *testing.T) {
	tests := []struct {
		name string
		// synced says whether the pod cache has filled; signalled pods are flushed first.
		synced    bool
		signalled []string
		// fatal, when set, is the error the Temporal SDK worker reports stopping on.
		fatal error
		// temporalDown and podWatchDown are how long the frontend and the pod watch have
		// been failing.
		temporalDown, podWatchDown time.Duration
		path                       string
		wantStatus                 int
		wantBody                   []string
	}{
		{
			name: "readyz fails before the pod cache has synced", path: "/readyz",
			wantStatus: http.StatusServiceUnavailable, wantBody: []string{"pod cache not synced"},
		},
		{
			name: "healthz passes before the pod cache has synced: a slow start is no reason to restart", path: "/healthz",
			wantStatus: http.StatusOK, wantBody: []string{"ok"},
		},
		{
			name: "readyz passes once the pod cache has synced", synced: true, path: "/readyz",
			wantStatus: http.StatusOK, wantBody: []string{"ok"},
		},
		{
			name: "healthz fails naming the error once the Temporal worker has stopped on it", synced: true, path: "/healthz",
			fatal:      errors.New(`namespace "nodes" not found`),
			wantStatus: http.StatusInternalServerError, wantBody: []string{`temporal worker stopped: namespace "nodes" not found`},
		},
		{
			name: "readyz names the stopped Temporal worker before unsynced caches", path: "/readyz",
			fatal:      errors.New("client version not supported"),
			wantStatus: http.StatusServiceUnavailable, wantBody: []string{"temporal worker stopped: client version not supported"},
		},
		{
			name: "healthz fails once the Temporal frontend has been unreachable for longer than the limit", synced: true, path: "/healthz",
			temporalDown: temporalUnreachableAfter + time.Second,
			wantStatus:   http.StatusInternalServerError, wantBody: []string{"Temporal frontend", "connection refused"},
		},
		{
			name: "healthz passes while the Temporal frontend has failed only briefly", synced: true, path: "/healthz",
			temporalDown: temporalUnreachableAfter / 2,
			wantStatus:   http.StatusOK,
		},
		{
			// After a blip the reflector may wait up to 60s before its next call (client-go
			// backs off to [30s, 60s) and resets only after 2 healthy minutes), so one failed
			// call then 59s without a call is a brief outage, not a broken watch.
			name: "healthz passes while the pod watch waits out client-go's longest retry after one failure", synced: true, path: "/healthz",
			podWatchDown: 59 * time.Second,
			wantStatus:   http.StatusOK,
		},
		{
			name: "healthz fails once the pod watch has been failing for longer than the limit", synced: true, path: "/healthz",
			podWatchDown: podWatchBrokenAfter + time.Second,
			wantStatus:   http.StatusInternalServerError, wantBody: []string{"pod watch failing"},
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

			p := testProbes(w, stopped)
			failFor(p.temporal, tt.temporalDown, errors.New("dial tcp 127.0.0.1:7233: connect: connection refused"))
			failFor(p.podWatch, tt.podWatchDown, errors.New("the server is currently unable to handle the request"))
			mux := http.NewServeMux()
			mux.Handle("/metrics", metricsMux(m, false))
			mux.Handle("/", probeMux(p))
			srv := httptest.NewServer(mux)
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

// testProbes are the probes Run builds, over the watcher's pod cache.
func testProbes(w *podWatcher, stopped *workerStop) *probes {
	return &probes{stopped: stopped, temporal: newOutage("Temporal frontend"), podWatch: w.watch,
		caches: []cacheCheck{{name: "pod", synced: w.Synced}}}
}

// failFor makes o report failing with err for d, by moving its clock.
func failFor(o *outage, d time.Duration, err error) {
	if d == 0 {
		return
	}
	start := time.Now()
	o.now = func() time.Time { return start }
	o.record(err)
	o.now = func() time.Time { return start.Add(d) }
}

func TestOutageEndsWithASuccess(t *testing.T) {
	o := newOutage("frontend")
	failFor(o, time.Hour, errors.New("refused"))
	if o.longerThan(time.Minute) == nil {
		t.Fatal("an hour of failures is not reported")
	}
	o.record(nil)
	if err := o.longerThan(0); err != nil {
		t.Errorf("after a success: %v", err)
	}
}

func TestStartingProbes(t *testing.T) {
	w, _ := newTestWatcher(t, fake.NewClientset(), newSignalRecorder())
	synced := testProbes(w, newWorkerStop())
	w.synced = true
	tests := []struct {
		name      string
		startedAt time.Duration // before now
		running   *probes
		wantLive  string // fragment of the error; empty means alive
		wantReady string
	}{
		{name: "a young start is alive and not ready", startedAt: time.Minute, wantReady: "worker starting"},
		{name: "a start past the limit is not alive: it is stuck", startedAt: startupLimit + time.Minute,
			wantLive: "worker still starting after", wantReady: "worker starting"},
		{name: "once running, the worker's own checks answer", startedAt: startupLimit + time.Minute, running: synced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			s := &startingProbes{began: now.Add(-tt.startedAt), now: func() time.Time { return now }}
			if tt.running != nil {
				s.run(tt.running)
			}
			for _, c := range []struct {
				probe string
				err   error
				want  string
			}{{"live", s.live(), tt.wantLive}, {"ready", s.ready(), tt.wantReady}} {
				switch {
				case c.want == "" && c.err != nil:
					t.Errorf("%s: %v, want ok", c.probe, c.err)
				case c.want != "" && (c.err == nil || !strings.Contains(c.err.Error(), c.want)):
					t.Errorf("%s: %v, want an error saying %q", c.probe, c.err, c.want)
				}
			}
		})
	}
}

// Profiles are served on the metrics port only when profiling is enabled.
func TestProfilingIsServedOnlyWhenEnabled(t *testing.T) {
	m := newMetrics()
	for _, enabled := range []bool{false, true} {
		rec := httptest.NewRecorder()
		metricsMux(m, enabled).ServeHTTP(rec, httptest.NewRequest("GET", "/debug/pprof/heap?debug=1", nil))
		if served := rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "heap profile"); served != enabled {
			t.Errorf("profiling %v: /debug/pprof/heap answered %d (%.40q)", enabled, rec.Code, rec.Body.String())
		}
	}
}
