package tests

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/nodewright/nodewright/lab/stack"
)

// One lab serves the package: Kubernetes keeps process-wide state that expects one control
// plane per process, and start-up costs seconds.
var lab *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "nodewright-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	lab, err = stack.Start(ctx, stack.Options{Dir: dir, UIPort: 0, BootDelay: 0, ShutdownDelay: time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start lab:", err)
		return 1
	}
	defer lab.Stop()
	return m.Run()
}

// temporalClient dials the lab's Temporal for a test.
func temporalClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: lab.Temporal.FrontendAddress(), Namespace: lab.Temporal.Namespace(), Logger: quiet{}})
	if err != nil {
		t.Fatalf("dial Temporal at %s: %v", lab.Temporal.FrontendAddress(), err)
	}
	t.Cleanup(c.Close)
	return c
}

func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
