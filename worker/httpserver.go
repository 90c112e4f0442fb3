package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// cacheCheck names a cache /healthz waits for.
type cacheCheck struct {
	name   string
	synced func() bool
}

// newMux serves /metrics from the worker's registry and /healthz, which fails until the pod
// cache (and the other caches given) have synced, so a probe does not pass a worker that
// cannot yet see pending pods or NodePools, and for good once the Temporal SDK worker has
// stopped on a fatal error, so a liveness probe restarts a worker that no longer polls.
func newMux(m *metrics, watcher *podWatcher, temporal *workerStop, caches ...cacheCheck) *http.ServeMux {
	caches = append([]cacheCheck{{name: "pod", synced: watcher.Synced}}, caches...)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := temporal.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for _, c := range caches {
			if !c.synced() {
				http.Error(w, c.name+" cache not synced yet", http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// serveMetrics listens on addr before returning, so a busy port fails startup, then serves
// newMux in the background until the returned server is closed.
func serveMetrics(addr string, m *metrics, watcher *podWatcher, temporal *workerStop, log *slog.Logger, caches ...cacheCheck) (*http.Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	srv := &http.Server{Handler: newMux(m, watcher, temporal, caches...), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "addr", addr, "err", err)
		}
	}()
	return srv, nil
}
