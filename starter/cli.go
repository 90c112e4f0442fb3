package starter

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

const usage = `usage: starter [flags] <command> [args]

commands:
  start                 ensure the Provisioner workflow runs
  nodes [--all]         list node workflows (node, phase, type, zone, capacity type,
                        hourly price, age)
  describe NODE         show a node's live state (its workflow's state query)
  drain [--grace-period D] NODE [REASON]
                        drain and terminate a node (its workflow's requestDrain update;
                        refused, with the reason, for a node already terminating)
  cancel-drain NODE     withdraw a drain whose grace period has not ended
  extend NODE DURATION  push a node's expiry (expireAfter) back
  convert FILE          print FILE's NodePools and EC2NodeClasses (v1beta1 or v1) in
                        their v1 form, as the API server stores them; - reads stdin

NODE is a Node name, a NodeClaim name, an instance id or a node/<claim> workflow id.
Flags may stand before or after the command and its arguments; -- ends them, so an
argument after it may start with a dash (starter drain NODE -- -REASON).

flags:
`

// dialFunc connects to Temporal; tests swap it to prove bad arguments never reach the network.
type dialFunc func(ctx context.Context, opts client.Options) (client.Client, error)

// Main runs the starter command line and returns the process exit code: 0 on success, 1 when
// Temporal or the command fails, 2 for a malformed command line.
// The Temporal connection is read as Temporal's tools read it (TEMPORAL_ADDRESS,
// TEMPORAL_API_KEY, TEMPORAL_TLS_*, a TEMPORAL_CONFIG_FILE profile), flags overriding.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, env temporalconn.Env) int {
	return runCLI(ctx, args, stdout, stderr, env, client.DialContext)
}

// runCLI checks the whole command line before dialing, so a typo fails at once with usage
// instead of after a connection attempt (or a connection timeout).
func runCLI(ctx context.Context, args []string, stdout, stderr io.Writer, env temporalconn.Env, dial dialFunc) int {
	fs := pflag.NewFlagSet("starter", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	// Up to the command name only: the command's own flag set takes the rest, global flags included.
	fs.SetInterspersed(false)
	connFlags := flag.NewFlagSet("temporal", flag.ContinueOnError)
	temporalFlags := temporalconn.Register(connFlags)
	fs.AddGoFlagSet(connFlags)
	taskQueue := fs.String("task-queue", workflows.TaskQueue, "task queue the worker polls")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0 // pflag has printed the usage
		}
		fmt.Fprintln(stderr, "starter:", err)
		fs.Usage()
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "starter: no command given")
		fs.Usage()
		return 2
	}
	cmd, err := parseCommand(fs.Arg(0), fs.Args()[1:], fs)
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "starter:", err)
		if errors.Is(err, errUnknownCommand) {
			fs.Usage()
		}
		return 2
	}

	if cmd.local() {
		if err := cmd.runLocal(ctx, os.Stdin, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "starter:", err)
			return 1
		}
		return 0
	}
	conn, err := temporalFlags.Load(env)
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return 2
	}
	opts, err := temporalconn.ClientOptions(conn)
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return 2
	}
	opts.Logger = quietLogger{}
	c, err := dial(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "starter: connect to Temporal at %s: %v\n", temporalconn.Describe(conn), err)
		return 1
	}
	defer c.Close()
	if err := cmd.execute(ctx, &Operator{Client: c, TaskQueue: *taskQueue}, stdout); err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return 1
	}
	return 0
}

// quietLogger keeps the SDK's connection chatter out of the command's output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
