package temporal

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
)

const (
	testTaskQueue    = "lab-temporal-test"
	markReadyName    = "MarkReady"
	eventuallyBudget = 30 * time.Second
)

var nodePhase = temporal.NewSearchAttributeKeyKeyword("NodePhase")

// markReady is the smallest workflow shaped like a node workflow: it publishes its phase and ends.
func markReady(ctx workflow.Context) (string, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, nodePhase.ValueSet("Ready")); err != nil {
		return "", err
	}
	return "ready", nil
}

// testLogger collects server and SDK logs and prints them only if the test fails.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	buf := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startTestServer starts a server and stops it when the test ends.
func startTestServer(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	s, err := Start(t.Context(), o)
	if err != nil {
		t.Fatalf("start temporal server: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop temporal server: %v", err)
		}
	})
	return s
}

// dialTestClient connects to s as a worker in another process would, from s.ClientEnv read by the
// SDK's envconfig, and runs a worker for markReady on testTaskQueue.
func dialTestClient(t testing.TB, s *Server, logger *slog.Logger, dial ...grpc.DialOption) client.Client {
	t.Helper()
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{
		DisableFile: true, EnvLookup: envOf(s.ClientEnv()),
	})
	if err != nil {
		t.Fatalf("client options from %v: %v", s.ClientEnv(), err)
	}
	opts.Logger = sdklog.NewStructuredLogger(logger)
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions, dial...)
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatalf("dial %s: %v", s.FrontendAddress(), err)
	}
	t.Cleanup(c.Close)
	w := worker.New(c, testTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(markReady, workflow.RegisterOptions{Name: markReadyName})
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return c
}

// envOf serves envconfig the given KEY=value variables instead of the process's environment.
type envOf []string

func (e envOf) Environ() []string { return e }

func (e envOf) LookupEnv(key string) (string, bool) {
	for _, kv := range e {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

// runMarkReady runs markReady to completion under the given workflow ID.
func runMarkReady(t *testing.T, c client.Client, workflowID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), eventuallyBudget)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflowID, TaskQueue: testTaskQueue}, markReadyName)
	if err != nil {
		t.Fatalf("start workflow %s: %v", workflowID, err)
	}
	var result string
	if err := run.Get(ctx, &result); err != nil {
		t.Fatalf("workflow %s did not complete: %v", workflowID, err)
	}
	if result != "ready" {
		t.Fatalf("workflow %s returned %q, want %q", workflowID, result, "ready")
	}
}

// eventually polls check until it reports done, failing the test with check's last error once the budget is spent.
func eventually(t *testing.T, what string, check func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), eventuallyBudget)
	defer cancel()
	var lastErr error
	for {
		done, err := check(ctx)
		if done {
			return
		}
		lastErr = err
		select {
		case <-ctx.Done():
			t.Fatalf("%s: gave up after %s (last error: %v)", what, eventuallyBudget, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
