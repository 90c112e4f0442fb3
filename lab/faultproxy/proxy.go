package faultproxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Faults are what a Proxy injects; the zero value passes every request through.
type Faults struct {
	// Seed makes the faults repeatable: the same seed and requests in the same order fail alike.
	Seed uint64
	// Rate is the fraction of requests that fail, a third each with a 500, a 429 with
	// Retry-After, and a reset connection.
	Rate float64
}

// Validate names the field out of range.
func (f Faults) Validate() error {
	if !(f.Rate >= 0 && f.Rate <= 1) {
		return fmt.Errorf("fault proxy Rate is %v: want a probability between 0 and 1", f.Rate)
	}
	return nil
}

// Kind is the way a request was failed.
type Kind int

// The faults, in the order Stats counts them.
const (
	InternalError Kind = iota
	TooManyRequests
	ConnectionReset
	kinds
)

func (k Kind) String() string {
	return [...]string{"500", "429", "reset"}[k]
}

// Stats count the requests a Proxy saw and those it failed, by kind.
type Stats struct {
	Requests int
	Failed   [kinds]int
}

// Options configure a Proxy.
type Options struct {
	// Upstream is the server requests go to, and UpstreamTLS how to reach it (nil for http).
	Upstream    *url.URL
	UpstreamTLS *tls.Config
	// ServingTLS, when set, makes the proxy serve HTTPS (HTTP/2 included) with it.
	ServingTLS *tls.Config
	Faults     Faults
}

// Proxy forwards requests to its upstream, failing Faults.Rate of them. It is safe for
// concurrent use; SetFaults changes the faults while it serves.
type Proxy struct {
	next       *httputil.ReverseProxy
	servingTLS *tls.Config

	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	stats  Stats
}

var _ http.Handler = (*Proxy)(nil)

// New builds a Proxy; it serves once handed to Serve or an http.Server.
func New(o Options) (*Proxy, error) {
	if o.Upstream == nil {
		return nil, fmt.Errorf("fault proxy: Upstream is required")
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = o.UpstreamTLS
	transport.ForceAttemptHTTP2 = true
	p := &Proxy{
		next: &httputil.ReverseProxy{
			Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(o.Upstream) },
			Transport: transport,
			// Watches stream: each event goes out as it arrives.
			FlushInterval: -1,
			// A client gone mid-watch is routine here, not worth a line on stderr.
			ErrorLog: log.New(io.Discard, "", 0),
		},
		servingTLS: o.ServingTLS,
	}
	if err := p.SetFaults(o.Faults); err != nil {
		return nil, err
	}
	return p, nil
}

// SetFaults replaces the faults and restarts their random sequence from the seed.
func (p *Proxy) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
	p.rng = rand.New(rand.NewPCG(f.Seed, 0x6b756265))
	return nil
}

// Stats reports the requests seen and failed so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Serve listens on addr (empty means a free loopback port) until ctx ends and returns the
// proxy's URL.
func (p *Proxy) Serve(ctx context.Context, addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen for the fault proxy on %s: %w", addr, err)
	}
	server := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, TLSConfig: p.servingTLS,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	scheme := "http"
	if p.servingTLS != nil {
		scheme = "https"
		go func() { _ = server.ServeTLS(listener, "", "") }()
	} else {
		go func() { _ = server.Serve(listener) }()
	}
	return scheme + "://" + listener.Addr().String(), nil
}

// ServeHTTP forwards r, or fails it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind, fail := p.draw()
	if !fail {
		p.next.ServeHTTP(w, r)
		return
	}
	switch kind {
	case InternalError:
		writeStatus(w, http.StatusInternalServerError, "InternalError", "injected fault: internal error")
	case TooManyRequests:
		w.Header().Set("Retry-After", "1")
		writeStatus(w, http.StatusTooManyRequests, "TooManyRequests", "injected fault: too many requests, please try again later")
	case ConnectionReset:
		if isWrite(r) {
			// The write happens; only its answer is lost.
			p.next.ServeHTTP(discard{header: http.Header{}}, r)
		}
		panic(http.ErrAbortHandler)
	}
}

func (p *Proxy) draw() (Kind, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests++
	if p.faults.Rate <= 0 || p.rng.Float64() >= p.faults.Rate {
		return 0, false
	}
	kind := Kind(p.rng.IntN(int(kinds)))
	p.stats.Failed[kind]++
	return kind, true
}

func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// writeStatus answers as the kube-apiserver does, with a metav1.Status body.
func writeStatus(w http.ResponseWriter, code int, reason, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":%q,"reason":%q,"code":%d}`, message, reason, code)
}

// discard is a ResponseWriter that throws the answer away.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
