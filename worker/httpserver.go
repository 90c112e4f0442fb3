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

// cacheCheck names a cache /readyz waits for.
type cacheCheck struct {
	name   string
	synced func() bool
}

// probes are what the kubelet asks the worker. Live: the Temporal SDK worker still polls,
// the Temporal frontend answers and the pod watch works, each failing only after an outage
// that lasts, so a restart is what it takes. Ready: live, and every cache has synced, so no
// traffic goes to a worker that cannot yet see pending pods or NodePools.
type probes struct {
	stopped  *workerStop
	temporal *outage
	podWatch *outage
	caches   []cacheCheck
}

// podWatchBrokenAfter is how long the pod list and watch may fail before /healthz fails:
// client-go retries on its own, so only a lasting failure needs a restart.
const podWatchBrokenAfter = 30 * time.Second

func (p *probes) live() error {
	if err := p.stopped.Err(); err != nil {
		return err
	}
	return errors.Join(p.temporal.longerThan(temporalUnreachableAfter), p.podWatch.longerThan(podWatchBrokenAfter))
}

func (p *probes) ready() error {
	if err := p.live(); err != nil {
		return err
	}
	for _, c := range p.caches {
		if !c.synced() {
			return fmt.Errorf("%s cache not synced yet", c.name)
		}
	}
	return nil
}

// probeMux serves /healthz (liveness) and /readyz (readiness).
func probeMux(p *probes) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { answer(w, p.live(), http.StatusInternalServerError) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { answer(w, p.ready(), http.StatusServiceUnavailable) })
	return mux
}

func answer(w http.ResponseWriter, err error, failed int) {
	if err != nil {
		http.Error(w, err.Error(), failed)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// metricsMux serves /metrics from the worker's registry.
func metricsMux(m *metrics) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	return mux
}

// serve listens on addr before returning, so a busy port fails startup, then serves h in the
// background until the returned server is closed. flag names the setting, for errors.
func serve(addr, flag string, h http.Handler, log *slog.Logger) (*http.Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "addr", addr, "err", err)
		}
	}()
	return srv, nil
}
