//go:build chaos

package chaos

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/nodewright/nodewright/lab/faultproxy"
	"github.com/nodewright/nodewright/lab/stack"
	"github.com/nodewright/nodewright/starter"
	"github.com/nodewright/nodewright/workflows"
)

var (
	workerBin   = flag.String("worker-bin", "", "the worker binary to run; empty builds ./worker/cmd/worker")
	nodes       = flag.Int("nodes", 40, "nodes (one 1-CPU pod each) in the scale scenarios; the issue's full size is 200")
	limitCPU    = flag.Int("limit-cpu", 200, "the NodePool cpu limit of R7, with 10% more 1-CPU pods than it holds; full size 1000")
	kills       = flag.Int("kills", 8, "times R1 kills the worker with SIGKILL; full size 20")
	churnRounds = flag.Int("churn-rounds", 10, "times R5 rescales its churning Deployment while consolidation runs")
	fuzzTime    = flag.Duration("fuzztime", 15*time.Second, "how long R6 runs each fuzz target")
	keepLab     = flag.Bool("keep-lab", false, "keep the lab directory (logs) even when every scenario passes")
)

// The suite's one lab and worker; Kubernetes keeps process-wide state that wants one control
// plane per process.
var (
	lab    *stack.Stack
	worker *workerProcess
	op     *starter.Operator
	report figuresReport
)

// fastDisruption shortens the disruption controller's pass and validation delay, so a
// scale-in takes seconds per round rather than half a minute.
var fastDisruption = workflows.DisruptionInput{
	Period: workflows.Duration(2 * time.Second), ValidationDelay: workflows.Duration(2 * time.Second),
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "nodewright-chaos")
	if err != nil {
		return fail(err)
	}
	// Deferred first so it runs last: removing the directory under a running lab (etcd's
	// data, Temporal's database) makes them exit the process while they stop.
	defer func() {
		if code == 0 && !*keepLab {
			os.RemoveAll(dir)
			return
		}
		fmt.Printf("lab directory kept: %s (worker.log, components.log)\n", dir)
	}()
	bin, err := workerBinary(dir)
	if err != nil {
		return fail(err)
	}
	componentLog, err := os.Create(filepath.Join(dir, "components.log"))
	if err != nil {
		return fail(err)
	}
	defer componentLog.Close()
	lab, err = stack.Start(ctx, stack.Options{
		Dir: dir, BootDelay: time.Second, ShutdownDelay: time.Second, ComponentLog: componentLog,
		DBFile:     filepath.Join(dir, "temporal.db"), // R2 restarts Temporal on it
		KubeFaults: &faultproxy.Faults{},              // R4 turns the worker's API faults on
	})
	if err != nil {
		return fail(fmt.Errorf("start lab: %w", err))
	}
	defer lab.Stop()
	if worker, err = startWorker(bin, lab, filepath.Join(dir, "worker.log")); err != nil {
		return fail(err)
	}
	defer worker.stop()
	if op, err = dialOperator(ctx); err != nil {
		return fail(err)
	}
	defer op.Client.Close()
	if err := restartDisruption(ctx); err != nil {
		return fail(err)
	}
	code = m.Run()
	report.print(os.Stdout)
	return code
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "chaos:", err)
	return 1
}

// workerBinary is -worker-bin, or the worker built into dir.
func workerBinary(dir string) (string, error) {
	if *workerBin != "" {
		return *workerBin, nil
	}
	bin := filepath.Join(dir, "worker")
	build := exec.Command("go", "build", "-o", bin, "./worker/cmd/worker")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the worker: %w\n%s", err, out)
	}
	return bin, nil
}

func dialOperator(ctx context.Context) (*starter.Operator, error) {
	tc, err := client.DialContext(ctx, client.Options{HostPort: lab.Temporal.FrontendAddress(), Namespace: lab.Temporal.Namespace(), Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return nil, fmt.Errorf("dial Temporal at %s: %w", lab.Temporal.FrontendAddress(), err)
	}
	return &starter.Operator{Client: tc, TaskQueue: workflows.TaskQueue}, nil
}

// restartDisruption runs the disruption controller with fastDisruption in place of the
// worker's default one.
func restartDisruption(ctx context.Context) error {
	_, err := op.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.DisruptionID, TaskQueue: workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
	}, workflows.DisruptionWorkflow, fastDisruption)
	if err != nil {
		return fmt.Errorf("start the disruption controller: %w", err)
	}
	return nil
}
