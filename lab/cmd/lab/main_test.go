package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/temporal"
)

func TestLabUpPrintsNoTLSTextForAPlaintextTemporal(t *testing.T) {
	summary, workerEnv := temporalTLSText(nil, []string{"TEMPORAL_ADDRESS=127.0.0.1:7233"})
	if summary != "" || workerEnv != "" {
		t.Fatalf("plaintext Temporal printed TLS text %q and worker environment %q", summary, workerEnv)
	}
}

// What lab up prints is run by a shell as a user would paste it: the variables must come out
// exactly, even from a directory whose name a shell would split.
func TestLabUpPrintsTheTLSEnvironmentAShellReadsBack(t *testing.T) {
	for _, mutual := range []bool{false, true} {
		files, err := temporal.NewTLS(filepath.Join(t.TempDir(), "my lab's dir", "temporal-tls"), mutual)
		if err != nil {
			t.Fatal(err)
		}
		clientEnv := append([]string{"TEMPORAL_ADDRESS=127.0.0.1:7233", "TEMPORAL_NAMESPACE=default"}, files.Env()...)
		summary, workerEnv := temporalTLSText(files, clientEnv)
		_, exportLine, ok := strings.Cut(summary, "Temporal clients:   ")
		if !ok {
			t.Fatalf("summary %q has no client environment line", summary)
		}
		want := map[string]string{
			"TEMPORAL_ADDRESS": "127.0.0.1:7233", "TEMPORAL_TLS": "true",
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH": files.CACertFile, "TEMPORAL_TLS_SERVER_NAME": "localhost",
			"TEMPORAL_TLS_CLIENT_CERT_PATH": files.ClientCertFile, "TEMPORAL_TLS_CLIENT_KEY_PATH": files.ClientKeyFile,
		}
		for name, script := range map[string]string{
			"the export line":           strings.TrimSpace(exportLine),
			"the worker command prefix": "export " + strings.TrimSuffix(workerEnv, " \\\n  "),
		} {
			for key, value := range want {
				if key == "TEMPORAL_ADDRESS" && name == "the worker command prefix" {
					continue // the worker command passes --temporal-address
				}
				out, err := exec.Command("sh", "-c", script+"; printf %s \"${"+key+"-unset}\"").Output()
				if err != nil {
					t.Fatalf("sh runs %s %q: %v", name, script, err)
				}
				if value == "" {
					value = "unset" // no client certificate without mutual TLS
				}
				if string(out) != value {
					t.Errorf("mutual %v: %s sets %s to %q, want %q", mutual, name, key, out, value)
				}
			}
		}
	}
}
