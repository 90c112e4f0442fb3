package worker

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/workflows"
)

// TestRunAnswersProbesWhileStarting starts a worker whose Temporal frontend accepts
// connections and never answers, so the start hangs at its first step as a slow one would:
// the kubelet's liveness probe must find the worker alive (or it kills every slow start) and
// its readiness probe must find it not ready.
func TestRunAnswersProbesWhileStarting(t *testing.T) {
	silent := listen(t)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	probeAddr := freeAddr(t)
	cfg := Config{Temporal: temporalAt(silent.Addr().String(), "default"), TaskQueue: workflows.TaskQueue,
		ClusterName: "lab", NodeClassGroup: awsv1.Group, HealthProbeAddr: probeAddr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	}()

	status, body := waitForProbe(t, "http://"+probeAddr+"/healthz", 3*time.Second)
	if status != http.StatusOK {
		t.Errorf("/healthz while starting = %d %q, want 200", status, body)
	}
	status, body = get(t, "http://"+probeAddr+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Errorf("/readyz while starting = %d %q, want 503 saying the worker is starting", status, body)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// freeAddr is a loopback address nothing listens on, for a server the test starts later.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// waitForProbe asks url until something answers, and returns the answer.
func waitForProbe(t *testing.T, url string, within time.Duration) (int, string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing answers %s within %s while the worker starts: %v", url, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}
