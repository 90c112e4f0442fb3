//go:build benche2e

package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"k8s.io/client-go/kubernetes"

	"github.com/nodewright/nodewright/lab/stack"
	"github.com/nodewright/nodewright/lab/temporal"
	"github.com/nodewright/nodewright/starter"
	"github.com/nodewright/nodewright/workflows"
)

// The benchmark's flags, given after -args (make bench-e2e passes BENCH_E2E_FLAGS).
var (
	workerBin        = flag.String("worker-bin", "", "the worker binary to run (make bench-e2e builds it)")
	podCounts        = flag.String("pods", "1000,5000", "pod counts, one table row each, comma-separated")
	instanceCPU      = flag.Int("instance-cpu", 2, "the vCPUs of the instance types the NodePool allows, so the pods need many nodes (3 a node at 2); 0 allows every size")
	consolidateAfter = flag.Duration("consolidate-after", 0, "the NodePool's consolidateAfter (Karpenter's default is 0s)")
	settle           = flag.Duration("settle", 30*time.Second, "how long the pool's Nodes must stay unchanged to count as steady")
	phaseTimeout     = flag.Duration("phase-timeout", 20*time.Minute, "how long the scale-out, or the scale-in, may take before the row gives up")
	rest             = flag.Duration("rest", time.Minute, "after the scale-in settles, how long to count the worker's requests with nothing changing (0 skips it)")
	keepLab          = flag.Bool("keep-lab", false, "keep the lab directory (worker.log, components.log, the audit log) after a run that passed")
	labGOGC          = flag.Int("lab-gogc", 0, "the GOGC of this process, which runs the lab (etcd, the API server, the kube-scheduler, Temporal); 0 leaves Go's default. The worker, a process of its own, keeps its own")
	cpuProfile       = flag.String("worker-cpu-profile", "", "write the worker's CPU profile over -worker-cpu-seconds from each row's apply to PREFIX-<pods>-cpu.pb.gz (turns the metrics port on, as -heap-profile)")
	cpuSeconds       = flag.Int("worker-cpu-seconds", 40, "how long -worker-cpu-profile profiles")
	labCPUProfile    = flag.String("lab-cpu-profile", "", "write this process's CPU profile (the lab: etcd, the API server, the kube-scheduler, the kubelets, Temporal) from each row's apply to its last bind to PREFIX-<pods>-lab-cpu.pb.gz (not with -test.cpuprofile, which profiles the same process)")
	workerMemLimit   = flag.String("worker-memory-limit", "", "run the worker as under a container memory limit of this quantity (such as 300Mi): its GOMEMLIMIT is set to 90 % of it, as the worker sets it from its cgroup's limit; empty runs it with none")
	floor            = flag.Bool("floor", false, "measure the lab's own floor instead of the scale-in: the pool never consolidates, and once the scale-out is done the Deployment is scaled to 0 and back, so its pods land on the Nodes already there with no launch")
	heapProfile      = flag.String("heap-profile", "", "write the worker's heap and goroutine profiles (go tool pprof) 30 s after each row's last bind to PREFIX-<pods>-heap.pb.gz and PREFIX-<pods>-goroutine.pb.gz, and its heap profile 40 s into the scale-in to PREFIX-<pods>-scalein-heap.pb.gz")
)

// bench is the lab, the worker process and the clients one run measures with.
type bench struct {
	lab    *stack.Stack
	worker *workerProcess
	op     *starter.Operator
	// kube is the benchmark's own client: the lab's Client shares its rate limit with the
	// lab's controllers and kubelets.
	kube     kubernetes.Interface
	auditLog string
	// profileAddr serves the worker's pprof profiles, with -heap-profile or -worker-cpu-profile.
	profileAddr string
}

func TestScale(t *testing.T) {
	counts, err := parseCounts(*podCounts)
	if err != nil {
		t.Fatalf("-pods: %v", err)
	}
	if *workerBin == "" {
		t.Fatal("-worker-bin is required: run make bench-e2e, or pass a worker built from ./worker/cmd/worker")
	}
	if *labGOGC != 0 {
		debug.SetGCPercent(*labGOGC)
	}
	ctx := t.Context()
	b := startBench(ctx, t)
	var rows []row
	for i, n := range counts {
		pool := fmt.Sprintf("bench-%d", n)
		r, err := b.run(ctx, t, pool, n)
		if err != nil {
			t.Errorf("%d pods: %v", n, err)
		}
		rows = append(rows, r)
		printTable(os.Stdout, rows) // so far, in case a later row never ends
		// The next row starts from an empty cluster.
		if i < len(counts)-1 {
			b.deletePool(ctx, t, pool)
		}
	}
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 10 {
			return nil, fmt.Errorf("%q is not a pod count of 10 or more", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// startBench starts the lab and the worker for the test's duration.
func startBench(ctx context.Context, t *testing.T) *bench {
	t.Helper()
	dir, err := os.MkdirTemp("", "nodewright-bench")
	if err != nil {
		t.Fatal(err)
	}
	// Registered first so it runs last: removing the directory under a running lab (etcd's
	// data) makes it exit the process.
	t.Cleanup(func() {
		if !t.Failed() && !*keepLab {
			os.RemoveAll(dir)
			return
		}
		t.Logf("lab directory kept: %s (worker.log, components.log, worker-audit.log)", dir)
	})
	componentLog, err := os.Create(filepath.Join(dir, "components.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { componentLog.Close() })
	b := &bench{auditLog: filepath.Join(dir, "worker-audit.log")}
	start := time.Now()
	b.lab, err = stack.Start(ctx, stack.Options{
		Dir: dir, UIPort: temporal.NoUI, BootDelay: 2 * time.Second, ShutdownDelay: 2 * time.Second,
		ComponentLog: componentLog, KubeAuditLog: b.auditLog,
	})
	if err != nil {
		t.Fatalf("start the lab: %v", err)
	}
	t.Cleanup(b.lab.Stop)
	t.Logf("lab up in %.1fs", time.Since(start).Seconds())
	if b.kube, err = kubernetes.NewForConfig(b.lab.Kube.Admin); err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	args := stack.WorkerArgs(b.lab.WorkerConfig(""))
	if *heapProfile != "" || *cpuProfile != "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		b.profileAddr = l.Addr().String()
		l.Close()
		args = append(args, "--metrics-addr", b.profileAddr, "--enable-profiling") // the later flag wins
	}
	env, err := workerEnv(*workerMemLimit)
	if err != nil {
		t.Fatalf("-worker-memory-limit: %v", err)
	}
	b.worker, err = startWorker(*workerBin, args, env, filepath.Join(dir, "worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.worker.stop)
	tc, err := client.DialContext(ctx, client.Options{
		HostPort: b.lab.Temporal.FrontendAddress(), Namespace: b.lab.Temporal.Namespace(),
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		t.Fatalf("dial Temporal: %v", err)
	}
	t.Cleanup(tc.Close)
	b.op = &starter.Operator{Client: tc, TaskQueue: workflows.TaskQueue}
	return b
}

// writeProfile saves the worker's named pprof profile (heap, goroutine...) to path.
func (b *bench) writeProfile(ctx context.Context, name, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.profileAddr+"/debug/pprof/"+name, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s profile: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s profile: %s", name, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startLabCPUProfile profiles this process, the lab, with -lab-cpu-profile; the function it
// returns stops the profile and may be called again (it then does nothing).
func startLabCPUProfile(pods int) (func(t *testing.T), error) {
	if *labCPUProfile == "" {
		return func(*testing.T) {}, nil
	}
	path := fmt.Sprintf("%s-%d-lab-cpu.pb.gz", *labCPUProfile, pods)
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-lab-cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-lab-cpu-profile: %w", err)
	}
	var once sync.Once
	return func(t *testing.T) {
		once.Do(func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				t.Logf("the lab's CPU profile: %v", err)
				return
			}
			t.Logf("the lab's CPU profile: %s", path)
		})
	}, nil
}
