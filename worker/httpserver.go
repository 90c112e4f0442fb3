package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
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
// client-go retries on its own, so only a lasting failure needs a restart. Its reflector
// waits up to 60s between calls once backed off (and stays backed off for 2 minutes after an
// earlier blip), so anything shorter would restart a worker for a one-second blip whose
// next call would have succeeded.
const podWatchBrokenAfter = 2 * time.Minute

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

// prober is what /healthz and /readyz ask.
type prober interface {
	live() error
	ready() error
}

// startingProbes answer for the worker from the first moment of Run, before it has its
// clients, caches and Temporal worker (a start reads the market for up to 30s, a kubelet
// finding no probe server kills it), and then for its probes once Run hands them over.
// While starting the worker is alive for startupLimit, and never ready.
type startingProbes struct {
	began   time.Time
	now     func() time.Time
	running atomic.Pointer[probes]
}

// startupLimit is how long a start may take before /healthz fails: a start stuck on a call
// without a deadline is restarted.
const startupLimit = 5 * time.Minute

func newStartingProbes() *startingProbes {
	return &startingProbes{began: time.Now(), now: time.Now}
}

// run hands the probes over to the running worker's checks.
func (s *startingProbes) run(p *probes) { s.running.Store(p) }

func (s *startingProbes) live() error {
	if p := s.running.Load(); p != nil {
		return p.live()
	}
	if d := s.now().Sub(s.began); d > startupLimit {
		return fmt.Errorf("worker still starting after %s", d.Round(time.Second))
	}
	return nil
}

func (s *startingProbes) ready() error {
	if p := s.running.Load(); p != nil {
		return p.ready()
	}
	return errors.New("worker starting")
}

// probeMux serves /healthz (liveness) and /readyz (readiness).
func probeMux(p prober) *http.ServeMux {
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

// metricsMux serves /metrics from the worker's registry and, when profiling is on, Go's
// pprof profiles (heap, goroutine, CPU...) under /debug/pprof/.
func metricsMux(m *metrics, profiling bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
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
