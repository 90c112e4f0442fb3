package sqssim

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Serve listens on addr (empty means 127.0.0.1:0, a free port) and returns the endpoint URL to
// give the SDK as BaseEndpoint. The server stops when ctx ends, and so do its long polls.
func (s *Sim) Serve(ctx context.Context, addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen for sqssim on %s: %w", addr, err)
	}
	server := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// Request contexts derive from ctx, so shutting down ends pending long polls at once
		// instead of waiting out their 20 seconds.
		BaseContext: func(net.Listener) context.Context { return ctx },
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
