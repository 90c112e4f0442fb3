package starter

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/nodewright/nodewright/workflows"
)

const usage = `usage: starter [flags] <command> [args]

commands:
  start                 ensure the Provisioner workflow runs
  nodes [--all]         list node workflows (node, phase, type, zone, capacity type, age)
  describe NODE         show a node's live state (its workflow's state query)
  drain NODE [REASON]   drain and terminate a node (signals its workflow)

NODE is a Node name, a NodeClaim name, an instance id or a node/<claim> workflow id.

flags:
`

// Main runs the starter command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("starter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	address := fs.String("temporal-address", envOr(getenv, "TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	namespace := fs.String("namespace", envOr(getenv, "TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	taskQueue := fs.String("task-queue", workflows.TaskQueue, "task queue the worker polls")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	if !knownCommand(cmd) {
		fmt.Fprintf(stderr, "starter: unknown command %q\n", cmd)
		fs.Usage()
		return 2
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: *address, Namespace: *namespace, Logger: quietLogger{}})
	if err != nil {
		fmt.Fprintf(stderr, "starter: connect to Temporal at %s: %v\n", *address, err)
		return 1
	}
	defer c.Close()
	op := &Operator{Client: c, TaskQueue: *taskQueue}
	if err := run(ctx, op, cmd, rest, stdout); err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return 1
	}
	return 0
}

func knownCommand(cmd string) bool {
	switch cmd {
	case "start", "nodes", "describe", "drain":
		return true
	}
	return false
}

func run(ctx context.Context, op *Operator, cmd string, args []string, out io.Writer) error {
	switch cmd {
	case "start":
		runID, err := op.Start(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "provisioner running (workflow %s, run %s)\n", workflows.ProvisionerID, runID)
	case "nodes":
		fs := flag.NewFlagSet("nodes", flag.ContinueOnError)
		all := fs.Bool("all", false, "include closed node workflows")
		if err := fs.Parse(args); err != nil {
			return err
		}
		rows, err := op.Nodes(ctx, *all)
		if err != nil {
			return err
		}
		return PrintNodes(out, rows, time.Now())
	case "describe":
		if len(args) != 1 {
			return fmt.Errorf("describe takes one NODE argument, got %d", len(args))
		}
		id, err := op.Resolve(ctx, args[0])
		if err != nil {
			return err
		}
		st, err := op.Describe(ctx, id)
		if err != nil {
			return err
		}
		return PrintState(out, id, st)
	case "drain":
		if len(args) < 1 || len(args) > 2 {
			return fmt.Errorf("drain takes NODE and an optional REASON, got %d arguments", len(args))
		}
		reason := "manual"
		if len(args) == 2 {
			reason = args[1]
		}
		id, err := op.Drain(ctx, args[0], reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "drain requested for %s (workflow %s)\n", args[0], id)
	}
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// quietLogger keeps the SDK's connection chatter out of the command's output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
