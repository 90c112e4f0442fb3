package tests

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/stack"
	labtemporal "github.com/nodewright/nodewright/lab/temporal"
	"github.com/nodewright/nodewright/starter"
	"github.com/nodewright/nodewright/worker"
	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// ownTemporalPools are the NodePools whose node workflows run on a test's own Temporal: the
// test that launches their instances checks that none is left running.
var ownTemporalPools = map[string]bool{"deploy-tls": true}

// ownTemporal starts a Temporal server of the test's own, without Nodewright's search
// attributes, as a fresh self-hosted server or Cloud namespace is; the lab's stays untouched.
// opts change its options.
func ownTemporal(t *testing.T, opts ...func(*labtemporal.Options)) *labtemporal.Server {
	t.Helper()
	o := labtemporal.Options{UIPort: labtemporal.NoUI, DBFile: filepath.Join(t.TempDir(), "temporal.db"), Namespace: "deploy"}
	for _, opt := range opts {
		opt(&o)
	}
	srv, err := labtemporal.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start a second Temporal: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// deployWorkerConfig is a worker for the lab's cluster on another Temporal, serving a pool
// file, with nothing that would act on other tests' instances.
func deployWorkerConfig(t *testing.T, srv *labtemporal.Server, pool string) worker.Config {
	t.Helper()
	file := filepath.Join(t.TempDir(), "pool.yaml")
	if err := os.WriteFile(file, []byte(poolYAML(pool, "", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := lab.WorkerConfig(file)
	cfg.Temporal = stack.TemporalProfile(srv)
	cfg.GarbageCollectEvery, cfg.InterruptionQueue = 0, ""
	return cfg
}

// runWorker runs the worker in the background, logging to the test's directory; the returned
// channel yields what Run returned.
func runWorker(t *testing.T, ctx context.Context, cfg worker.Config) <-chan error {
	t.Helper()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("worker log:\n%s", tail(string(b), 40))
			}
		}
		logFile.Close()
	})
	done := make(chan error, 1)
	go func() { done <- worker.Run(ctx, cfg, slog.New(slog.NewJSONHandler(logFile, nil))) }()
	return done
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestWorkerStopsNamingMissingSearchAttributes(t *testing.T) {
	srv := ownTemporal(t)
	cfg := deployWorkerConfig(t, srv, "deploy")
	began := time.Now()
	select {
	case err := <-runWorker(t, testContext(t, time.Minute), cfg):
		if took := time.Since(began); took > 10*time.Second {
			t.Errorf("the worker took %s to stop, want under 10s", took)
		}
		if err == nil {
			t.Fatal("the worker stopped without an error")
		}
		for _, name := range slices.Sorted(maps.Keys(workflows.SearchAttributeTypes())) {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("the error does not name %s:\n%v", name, err)
			}
		}
		for _, cmd := range []string{"temporal operator search-attribute create --address " + srv.FrontendAddress(), "tcld namespace search-attributes add"} {
			if !strings.Contains(err.Error(), cmd) {
				t.Errorf("the error does not give the command %q:\n%v", cmd, err)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker still runs 10s after it started against a Temporal without its search attributes")
	}
}

func TestWorkerCreatesSearchAttributesWhenAskedThenFailsLivenessWhenTemporalGoes(t *testing.T) {
	srv := ownTemporal(t)
	cfg := deployWorkerConfig(t, srv, "deploy")
	cfg.CreateSearchAttributes = true
	cfg.HealthProbeAddr = freeLoopbackAddr(t)
	ctx, stop := context.WithCancel(testContext(t, 3*time.Minute))
	done := runWorker(t, ctx, cfg)
	t.Cleanup(func() { stop(); <-done })

	probe := func(path string) (int, string) {
		resp, err := http.Get("http://" + cfg.HealthProbeAddr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	waitFor := func(what string, limit time.Duration, cond func() (bool, string)) time.Duration {
		t.Helper()
		began := time.Now()
		var last string
		for time.Since(began) < limit {
			select {
			case err := <-done:
				t.Fatalf("waiting for %s, the worker stopped: %v", what, err)
			default:
			}
			ok, status := cond()
			if ok {
				return time.Since(began)
			}
			last = status
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("waited %s for %s; last: %s", limit, what, last)
		return 0
	}
	waitFor("the worker to be ready", time.Minute, func() (bool, string) {
		code, body := probe("/readyz")
		return code == http.StatusOK, body
	})

	tc, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	list, err := tc.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range workflows.SearchAttributeTypes() {
		if got, ok := list.GetCustomAttributes()[name]; !ok || got != typ {
			t.Errorf("search attribute %s: got %v (present %v), want %v", name, got, ok, typ)
		}
	}
	// The controllers run on the new server: the disruption controller's workflow exists.
	if _, err := tc.DescribeWorkflowExecution(ctx, workflows.DisruptionID, ""); err != nil {
		t.Errorf("the worker did not start its disruption controller: %v", err)
	}

	if code, body := probe("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz before Temporal went: %d %s", code, body)
	}
	if err := srv.Stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("stop Temporal: %v", err)
	}
	took := waitFor("/healthz to fail once Temporal is gone", 10*time.Second, func() (bool, string) {
		code, body := probe("/healthz")
		return code == http.StatusInternalServerError && strings.Contains(body, "Temporal frontend"), body
	})
	t.Logf("/healthz failed %s after Temporal stopped", took.Round(100*time.Millisecond))
}

// A worker reaches a Temporal frontend that serves TLS only, with the CA it is given, and
// provisions a node through it.
func TestWorkerProvisionsThroughTemporalOverTLS(t *testing.T) {
	tlsFiles, err := labtemporal.NewTLS(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	srv := ownTemporal(t, func(o *labtemporal.Options) {
		o.TLS, o.SearchAttributes = tlsFiles, labtemporal.DefaultSearchAttributes()
	})
	cfg := deployWorkerConfig(t, srv, "deploy-tls")
	if cfg.Temporal.TLS == nil || cfg.Temporal.TLS.ServerCACertPath != tlsFiles.CACertFile {
		t.Fatalf("the worker's connection %+v does not carry the lab's CA", cfg.Temporal)
	}
	opts, err := temporalconn.ClientOptions(cfg.Temporal)
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = quiet{}
	tc, err := client.Dial(opts)
	if err != nil {
		t.Fatalf("dial the TLS frontend as the worker does: %v", err)
	}
	t.Cleanup(tc.Close)

	e := newEnv(t, "deploy-tls")
	ctx, stop := context.WithCancel(context.Background())
	done := runWorker(t, ctx, cfg)
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		// Clean-up drained the pool's nodes through this Temporal: none may be left running.
		for _, inst := range lab.EC2.Instances() {
			if inst.Tags[activities.TagNodePool] == "deploy-tls" && inst.State != ec2sim.StateTerminated {
				t.Errorf("instance %s of NodePool deploy-tls is %s after clean-up", inst.ID, inst.State)
			}
		}
	})
	e.setUp()
	// The pool's node workflows live on the TLS server: clean-up drains them there.
	e.op = &starter.Operator{Client: tc, TaskQueue: workflows.TaskQueue}
	e.deploy("web", 2, "500m")
	if used := e.allBound(2); len(used) == 0 {
		t.Fatal("no node used")
	}
	rows, err := e.op.Nodes(e.ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0].NodePool != "deploy-tls" {
		t.Errorf("node workflows on the TLS server: %+v, want the pool's", rows)
	}
}
