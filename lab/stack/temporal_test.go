package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/nodewright/nodewright/lab/temporal"
)

// A client set up from the files of a lab with mutual TLS keeps working across
// RestartTemporal: the restarted frontend serves certificates from the same CA. Only Temporal
// starts, not the whole lab.
func TestTemporalMutualTLSFilesServeAcrossARestart(t *testing.T) {
	s := &Stack{Dir: t.TempDir()}
	if err := s.startTemporal(t.Context(), Options{TemporalMutualTLS: true, UIPort: temporal.NoUI}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Temporal.Stop() })

	files := s.Temporal.TLS()
	if files == nil {
		t.Fatal("Temporal serves plaintext although TemporalMutualTLS was set")
	}
	if want := filepath.Join(s.Dir, "temporal-tls", "ca.crt"); files.CACertFile != want {
		t.Errorf("the CA certificate is at %s, want %s", files.CACertFile, want)
	}
	for _, want := range []string{"TEMPORAL_TLS=true", "TEMPORAL_TLS_CLIENT_KEY_PATH=" + files.ClientKeyFile} {
		if !slices.Contains(s.Temporal.ClientEnv(), want) {
			t.Errorf("client environment %v lacks %s", s.Temporal.ClientEnv(), want)
		}
	}

	c, err := client.Dial(client.Options{
		HostPort: s.Temporal.FrontendAddress(), Namespace: s.Temporal.Namespace(),
		Logger:            sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		ConnectionOptions: client.ConnectionOptions{TLS: clientTLSFromFiles(t, files)},
	})
	if err != nil {
		t.Fatalf("dial with the lab's client files: %v", err)
	}
	defer c.Close()
	if err := s.RestartTemporal(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the client from before the restart cannot reach the restarted frontend: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestTemporalServesPlaintextUnlessAsked(t *testing.T) {
	s := &Stack{Dir: t.TempDir()}
	if err := s.startTemporal(t.Context(), Options{UIPort: temporal.NoUI}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Temporal.Stop() }()
	if s.Temporal.TLS() != nil {
		t.Errorf("Temporal serves TLS (CA %s) although no option asked for it", s.Temporal.TLS().CACertFile)
	}
	for _, kv := range s.Temporal.ClientEnv() {
		if strings.HasPrefix(kv, "TEMPORAL_TLS") {
			t.Errorf("the plaintext lab's client environment sets %s", kv)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "temporal-tls")); !os.IsNotExist(err) {
		t.Errorf("temporal-tls was created without TLS (stat: %v)", err)
	}
}

// clientTLSFromFiles is what a worker in another process builds from the lab's files.
func clientTLSFromFiles(t *testing.T, files *temporal.TLS) *tls.Config {
	t.Helper()
	caPEM, err := os.ReadFile(files.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no certificate", files.CACertFile)
	}
	cert, err := tls.LoadX509KeyPair(files.ClientCertFile, files.ClientKeyFile)
	if err != nil {
		t.Fatalf("load the client certificate: %v", err)
	}
	return &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}, ServerName: files.ServerName, MinVersion: tls.VersionTLS12}
}
