package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/nodewright/nodewright/crds"
)

// Options say where the webhook listens, how the API server reaches it, and with what
// certificate.
type Options struct {
	// Addr is the listen address, such as ":8443".
	Addr string
	// URL, when set, is how the API server reaches the webhook (https://host:port); the CRDs
	// are pointed at URL/convert instead of their Service.
	URL string
	// CertDir holds tls.crt and tls.key (and ca.crt to trust); empty means a self-signed
	// certificate made at start.
	CertDir string
}

// CRDs whose v1beta1 versions the webhook converts.
func convertedCRDs() []string {
	return []string{"nodepools.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"}
}

// Serve listens on o.Addr, points the CRDs at the webhook, and serves until ctx ends. It
// returns once the CRDs are updated, so a v1beta1 apply that follows succeeds.
func Serve(ctx context.Context, o Options, client apiextensionsclient.Interface, log *slog.Logger) error {
	certPEM, keyPEM, caPEM, err := certificate(o)
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("webhook certificate: %w", err)
	}
	listener, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("--webhook-addr %s: %w", o.Addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle(crds.WebhookPath, limitConcurrency(ConvertHandler(log), maxConcurrentReviews))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// The API server's own conversion timeout is 30 s; a slower client is not it.
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		TLSConfig:    &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	go func() {
		if err := srv.ServeTLS(listener, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("conversion webhook stopped", "addr", o.Addr, "error", err)
		}
	}()
	for _, name := range convertedCRDs() {
		if err := pointAt(ctx, client, name, o.URL, caPEM); err != nil {
			_ = srv.Close()
			return err
		}
	}
	go keepPointing(ctx, client, o.URL, caPEM, log)
	return nil
}

// Limits of the webhook, which shares the worker's process with every activity.
const (
	maxConcurrentReviews = 8
	// repointEvery is how often the CRDs are checked to still name this webhook: a re-apply
	// of crds/ (GitOps) drops the CA bundle.
	repointEvery = 5 * time.Minute
)

// keepPointing puts the webhook back into the CRDs whenever something took it out, until ctx
// ends. Two replicas with self-signed certificates of their own would take turns: give
// replicas one certificate with --webhook-cert-dir.
func keepPointing(ctx context.Context, client apiextensionsclient.Interface, url string, caPEM []byte, log *slog.Logger) {
	t := time.NewTicker(repointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, name := range convertedCRDs() {
				if err := pointAt(ctx, client, name, url, caPEM); err != nil && ctx.Err() == nil {
					log.Warn("point CRD at the conversion webhook", "crd", name, "error", err)
				}
			}
		}
	}
}

// limitConcurrency serves at most n requests at once; the others wait their turn or give up
// with their request.
func limitConcurrency(h http.Handler, n int) http.Handler {
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			h.ServeHTTP(w, r)
		case <-r.Context().Done():
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	})
}

// certificate reads the webhook's certificate, or makes a self-signed one valid for the
// CRDs' Service and the URL's host.
func certificate(o Options) (certPEM, keyPEM, caPEM []byte, err error) {
	if o.CertDir != "" {
		if certPEM, err = os.ReadFile(filepath.Join(o.CertDir, "tls.crt")); err != nil {
			return nil, nil, nil, fmt.Errorf("--webhook-cert-dir: %w", err)
		}
		if keyPEM, err = os.ReadFile(filepath.Join(o.CertDir, "tls.key")); err != nil {
			return nil, nil, nil, fmt.Errorf("--webhook-cert-dir: %w", err)
		}
		caPEM, err = os.ReadFile(filepath.Join(o.CertDir, "ca.crt"))
		if errors.Is(err, os.ErrNotExist) {
			// No CA file: the certificate is self-signed, or its chain is in tls.crt.
			caPEM, err = certPEM, nil
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--webhook-cert-dir: %w", err)
		}
		return certPEM, keyPEM, caPEM, nil
	}
	hosts := []string{
		crds.WebhookServiceName + "." + crds.WebhookServiceNamespace + ".svc",
		crds.WebhookServiceName + "." + crds.WebhookServiceNamespace + ".svc.cluster.local",
	}
	var ips []net.IP
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--webhook-url %q: %w", o.URL, err)
		}
		if ip := net.ParseIP(u.Hostname()); ip != nil {
			ips = append(ips, ip)
		} else {
			hosts = append(hosts, u.Hostname())
		}
	}
	certPEM, keyPEM, err = selfSigned(hosts, ips)
	return certPEM, keyPEM, certPEM, err
}

// pointAt sets the CRD's conversion webhook to trust caPEM and, when url is set, to call it.
func pointAt(ctx context.Context, client apiextensionsclient.Interface, name, url string, caPEM []byte) error {
	crdClient := client.ApiextensionsV1().CustomResourceDefinitions()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		crd, err := crdClient.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		conv := crd.Spec.Conversion
		if conv == nil || conv.Strategy != apiextensionsv1.WebhookConverter || conv.Webhook == nil || conv.Webhook.ClientConfig == nil {
			conv = crds.WebhookConversion()
			crd.Spec.Conversion = conv
		}
		cc := conv.Webhook.ClientConfig
		before := cc.DeepCopy()
		cc.CABundle = caPEM
		if url != "" {
			target := url + crds.WebhookPath
			cc.URL, cc.Service = &target, nil
		}
		if equality.Semantic.DeepEqual(before, cc) {
			return nil // already pointing here
		}
		_, err = crdClient.Update(ctx, crd, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("CRD %s is not installed: kubectl apply -f crds/ (or run without --webhook-addr)", name)
	}
	if err != nil {
		return fmt.Errorf("point CRD %s at the conversion webhook: %w", name, err)
	}
	return nil
}
