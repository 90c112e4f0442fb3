package temporal

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"
)

// refusalBudget bounds how long a refused client may take to fail: a handshake on loopback
// fails at once, so only a server that accepts the client could use it up.
const refusalBudget = 3 * time.Second

func TestFrontendTLS(t *testing.T) {
	clients := []struct {
		name string
		// config is the client's TLS; nil dials plaintext.
		config               func(t *testing.T, s *Server) *tls.Config
		refusedWithTLS       bool
		refusedWithMutualTLS bool
	}{
		{"a plaintext client", func(*testing.T, *Server) *tls.Config { return nil }, true, true},
		{"a client trusting only the system's CAs", func(*testing.T, *Server) *tls.Config {
			return &tls.Config{ServerName: TLSServerName, MinVersion: tls.VersionTLS12}
		}, true, true},
		{"a client trusting the lab CA from ca.crt, without a certificate", trustingCAFile, false, true},
		{"a client trusting the lab CA and presenting the lab client certificate", func(_ *testing.T, s *Server) *tls.Config {
			return s.TLS().ClientConfig()
		}, false, false},
	}
	for _, mode := range []struct {
		name              string
		requireClientCert bool
	}{{"TLS", false}, {"mutual TLS", true}} {
		t.Run(mode.name, func(t *testing.T) {
			logger := testLogger(t)
			dir := filepath.Join(t.TempDir(), "temporal-tls")
			serverTLS, err := NewTLS(dir, mode.requireClientCert)
			if err != nil {
				t.Fatal(err)
			}
			s := startTestServer(t, Options{Logger: logger, SearchAttributes: DefaultSearchAttributes(), TLS: serverTLS})

			for _, c := range clients {
				refused := c.refusedWithTLS
				if mode.requireClientCert {
					refused = c.refusedWithMutualTLS
				}
				verdict := map[bool]string{true: "is refused", false: "is served"}[refused]
				t.Run(c.name+" "+verdict, func(t *testing.T) {
					err := checkNamespace(t, s, c.config(t, s))
					if refused && err == nil {
						t.Fatalf("%s passed the health check and described namespace %s, want it refused", c.name, s.Namespace())
					}
					if !refused && err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
				})
			}

			t.Run("a worker configured from ClientEnv runs a workflow", func(t *testing.T) {
				runMarkReady(t, dialTestClient(t, s, logger), "node/over-tls")
			})

			t.Run("the system workers reach the frontend: a namespace is deleted", func(t *testing.T) {
				deleteScratchNamespace(t, s)
			})

			t.Run("the Web UI reads the namespace through the frontend", func(t *testing.T) {
				if got := uiNamespaceName(t, s); got != s.Namespace() {
					t.Fatalf("the Web UI describes namespace %q, want %q", got, s.Namespace())
				}
			})

			t.Run("the client files are private and present only as needed", func(t *testing.T) {
				checkTLSFiles(t, s.TLS(), dir, mode.requireClientCert)
			})
		})
	}
}

// trustingCAFile trusts the CA certificate the server wrote for other processes.
func trustingCAFile(t *testing.T, s *Server) *tls.Config {
	t.Helper()
	caPEM, err := os.ReadFile(s.TLS().CACertFile)
	if err != nil {
		t.Fatalf("read the CA certificate: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no PEM certificate", s.TLS().CACertFile)
	}
	return &tls.Config{RootCAs: roots, ServerName: s.TLS().ServerName, MinVersion: tls.VersionTLS12}
}

// checkNamespace dials s with tlsConfig, checks its health and describes its namespace, all
// within refusalBudget.
func checkNamespace(t *testing.T, s *Server, tlsConfig *tls.Config) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), refusalBudget)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:          s.FrontendAddress(),
		Namespace:         s.Namespace(),
		Logger:            sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		ConnectionOptions: client.ConnectionOptions{TLS: tlsConfig},
	})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	return probe(ctx, c, s.Namespace())
}

// deleteScratchNamespace registers a namespace and deletes it: the frontend runs the deletion as
// a system workflow, which the worker service's system workers reach the frontend to execute.
func deleteScratchNamespace(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), eventuallyBudget)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort: s.FrontendAddress(), Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		ConnectionOptions: client.ConnectionOptions{TLS: s.TLS().ClientConfig()},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	const scratch = "scratch"
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: scratch, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	if err != nil {
		t.Fatalf("register namespace %s: %v", scratch, err)
	}
	if _, err := c.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: scratch}); err != nil {
		t.Fatalf("delete namespace %s: %v", scratch, err)
	}
}

// uiNamespaceName asks the Web UI's API for the server's namespace and returns the name it
// answers with.
func uiNamespaceName(t *testing.T, s *Server) string {
	t.Helper()
	url := s.UIAddress() + "/api/v1/namespaces/" + s.Namespace()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s returned %s: %s", url, resp.Status, body)
	}
	var desc struct {
		NamespaceInfo struct{ Name string } `json:"namespaceInfo"`
	}
	if err := json.Unmarshal(body, &desc); err != nil {
		t.Fatalf("GET %s: decode %s: %v", url, body, err)
	}
	return desc.NamespaceInfo.Name
}

// checkTLSFiles checks what NewTLS wrote into dir: the CA certificate always, the client
// certificate and key only with mutual TLS, all readable by the owner only.
func checkTLSFiles(t *testing.T, got *TLS, dir string, mutual bool) {
	t.Helper()
	want := map[string]string{"ca.crt": got.CACertFile}
	absent := []string{"client.crt", "client.key"}
	if mutual {
		want["client.crt"], want["client.key"] = got.ClientCertFile, got.ClientKeyFile
		absent = nil
	} else if got.ClientCertFile != "" || got.ClientKeyFile != "" {
		t.Errorf("client files %q, %q named without mutual TLS", got.ClientCertFile, got.ClientKeyFile)
	}
	for name, path := range want {
		if path != filepath.Join(dir, name) {
			t.Errorf("%s is at %q, want %q", name, path, filepath.Join(dir, name))
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want -rw-------", name, info.Mode().Perm())
		}
	}
	for _, name := range absent {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s exists without mutual TLS (stat: %v)", name, err)
		}
	}
}

func TestPrintingTLSShowsNoPrivateKey(t *testing.T) {
	files, err := NewTLS(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	// Part of the key's PEM as text and as the decimal bytes fmt prints of a []byte.
	keyPart := files.client.KeyPEM[40:60]
	leaks := []string{string(keyPart), strings.Trim(fmt.Sprint(keyPart), "[]")}
	for _, format := range []string{"%v", "%+v", "%s"} {
		got := fmt.Sprintf(format, files)
		if !strings.Contains(got, files.CACertFile) {
			t.Errorf("%s prints %q, which does not name the CA file", format, got)
		}
		for _, leak := range leaks {
			if strings.Contains(got, leak) {
				t.Errorf("%s prints the client key: %q", format, got)
			}
		}
	}
}
