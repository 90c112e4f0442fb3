// Package localhttp serves the lab's simulated AWS endpoints on loopback and gives SDK clients
// an HTTP client, and a config around it, that work against servers that fast.
package localhttp

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Serve listens on addr (empty means 127.0.0.1:0, a free port) and returns the endpoint URL to
// give an SDK as BaseEndpoint. The server stops when ctx ends; request contexts derive from
// ctx, so long-running requests (SQS long polls) end with it instead of running out their time.
func Serve(ctx context.Context, name, addr string, h http.Handler) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen for %s on %s: %w", name, addr, err)
	}
	server := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	// Serve's only error after a good Listen is ErrServerClosed, on shutdown.
	go func() { _ = server.Serve(listener) }()
	return "http://" + listener.Addr().String(), nil
}

// Client is an http.Client for AWS SDK clients aimed at a local simulator. It sidesteps a race
// between the SDK and net/http (aws/aws-sdk-go-v2#2737): the SDK closes its request body as soon
// as response headers arrive, and when the server answers before the transport's final body
// read, that read fails through the body's WriteTo and the transport kills the connection
// mid-response ("use of closed network connection"). Real AWS is too far away to lose that
// race; a local simulator loses it often. Hiding WriteTo makes the closed body read as EOF.
func Client() *http.Client {
	return &http.Client{Transport: plainBodies{next: http.DefaultTransport.(*http.Transport).Clone()}}
}

type plainBodies struct{ next http.RoundTripper }

func (t plainBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return t.next.RoundTrip(r)
	}
	clone := r.Clone(r.Context())
	clone.Body = struct{ io.ReadCloser }{r.Body}
	return t.next.RoundTrip(clone)
}
