package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"

	"github.com/nodewright/nodewright/lab/faultproxy"
)

// FaultProxy is the kube-apiserver behind a proxy that fails a fraction of requests, for the
// worker alone: Kubeconfig is the worker's identity aimed at it.
type FaultProxy struct {
	*faultproxy.Proxy
	URL        string
	Kubeconfig string
}

// StartFaultProxy serves the API through a fault proxy on port (0 picks a free one) until ctx
// ends. It presents the API server's own certificate, so the worker trusts it as the server.
func (c *Cluster) StartFaultProxy(ctx context.Context, port int, faults faultproxy.Faults) (*FaultProxy, error) {
	upstream, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("fault proxy: API server URL %s: %w", c.URL, err)
	}
	serving, err := tls.X509KeyPair(c.pki.Server.CertPEM, c.pki.Server.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("fault proxy: serving certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.pki.CA.Cert)
	p, err := faultproxy.New(faultproxy.Options{
		Upstream:    upstream,
		UpstreamTLS: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		ServingTLS:  &tls.Config{Certificates: []tls.Certificate{serving}, MinVersion: tls.VersionTLS12},
		Faults:      faults,
	})
	if err != nil {
		return nil, err
	}
	fp := &FaultProxy{Proxy: p}
	if fp.URL, err = p.Serve(ctx, fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		return nil, err
	}
	if fp.Kubeconfig, err = c.writeWorkerKubeconfig("worker-faulty.kubeconfig", fp.URL); err != nil {
		return nil, err
	}
	return fp, nil
}
