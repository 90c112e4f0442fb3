package pricingsim

import (
	"context"
	"net/http"

	"github.com/nodewright/nodewright/lab/localhttp"
)

// Serve listens on addr (empty means 127.0.0.1:0) and returns the endpoint URL to give the SDK
// as BaseEndpoint. The server stops when ctx ends.
func (s *Sim) Serve(ctx context.Context, addr string) (string, error) {
	return localhttp.Serve(ctx, "pricingsim", addr, s)
}

// HTTPClient is the HTTP client SDK clients aimed at a Sim should use; see localhttp.Client.
func HTTPClient() *http.Client { return localhttp.Client() }
