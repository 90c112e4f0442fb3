package starter

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"k8s.io/client-go/kubernetes"

	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// Exit codes of the starter, as kubectl and the temporal CLI use them.
const (
	exitOK     = 0
	exitFailed = 1 // Temporal or the command failed
	exitUsage  = 2 // the command line is malformed; nothing was sent
)

const rootLong = `starter is Nodewright's operator CLI: it starts the controllers, lists and describes node
workflows, and drains, keeps or extends nodes through their workflows.

NODE is a Node name, a NodeClaim name, an instance id or a node/<claim> workflow id.
A pod (why) is pod/NAMESPACE/NAME, or pod/NAME in the kubeconfig context's namespace.
Flags may stand before or after the command and its arguments; -- ends them, so an
argument after it may start with a dash (starter drain NODE -- -REASON).

The Temporal connection is read as the temporal CLI reads it (TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, a TEMPORAL_CONFIG_FILE profile),
flags overriding.

exit codes:
  0  the command succeeded
  1  Temporal or the command failed
  2  the command line is malformed (nothing was sent to Temporal)`

// dialFunc connects to Temporal; tests swap it to prove bad arguments never reach the network.
type dialFunc func(ctx context.Context, opts client.Options) (client.Client, error)

// usageError is a malformed command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// failure is a command that ran and failed: exit code 1.
type failure struct{ err error }

func (e failure) Error() string { return e.err.Error() }
func (e failure) Unwrap() error { return e.err }

// Main runs the starter command line and returns the process exit code: 0 on success, 1 when
// Temporal or the command fails, 2 for a malformed command line. version is what --version
// prints.
func Main(ctx context.Context, version string, args []string, stdout, stderr io.Writer, env temporalconn.Env) int {
	return runCLI(ctx, args, stdout, stderr, env, client.DialContext, version)
}

// cli is one run of the command line: where it writes, where it reads the environment and how
// it reaches Temporal.
type cli struct {
	stdout, stderr io.Writer
	env            temporalconn.Env
	dial           dialFunc
	temporal       *temporalconn.Flags
	taskQueue      string
	// kube connects to the cluster for commands that read it; tests swap it for a fake.
	kube kubeConnector
}

// kubeConnector returns a client for the cluster a kubeconfig and context point at, and the
// context's namespace ("default" when it names none), as kubectl takes them.
type kubeConnector func(kubeconfig, kubeContext string) (kubernetes.Interface, string, error)

// connectKube connects as kubectl does (see kubeClients).
func connectKube(kubeconfig, kubeContext string) (kubernetes.Interface, string, error) {
	config := kubeConfig(kubeconfig, kubeContext)
	kube, _, err := clientsOf(config)
	if err != nil {
		return nil, "", err
	}
	return kube, namespaceOf(config), nil
}

// runCLI checks the whole command line before dialing, so a typo fails at once with usage
// instead of after a connection attempt (or a connection timeout). Errors cobra reports itself
// (unknown commands and flags) are usage errors; a command's own are marked by it.
func runCLI(ctx context.Context, args []string, stdout, stderr io.Writer, env temporalconn.Env, dial dialFunc, version string) int {
	app := &cli{stdout: stdout, stderr: stderr, env: env, dial: dial, kube: connectKube}
	return app.execute(ctx, args, version)
}

// execute runs one command line and returns its exit code. A panic is a failure (1), with its
// stack for the bug report: Go would exit 2, which says the command line was wrong.
func (a *cli) execute(ctx context.Context, args []string, version string) (code int) {
	stderr := a.stderr
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "starter: internal error, please report it with this output: %v\n%s", r, debug.Stack())
			code = exitFailed
		}
	}()
	root := a.rootCommand(version)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "starter:", err)
	var failed failure
	if errors.As(err, &failed) {
		return exitFailed
	}
	if !cmd.HasParent() {
		fmt.Fprint(stderr, cmd.UsageString())
	} else {
		fmt.Fprintf(stderr, "run '%s -h' for its flags\n", cmd.CommandPath())
	}
	return exitUsage
}

// rootCommand is starter with its global flags and every command of commandSpecs.
func (a *cli) rootCommand(version string) *cobra.Command {
	root := &cobra.Command{
		Use:                   "starter [flags] <command> [args]",
		Long:                  rootLong,
		Version:               version,
		SilenceErrors:         true, // runCLI prints them, with the exit code's usage text
		SilenceUsage:          true,
		DisableFlagsInUseLine: true,
		Args:                  nil, // cobra then rejects an unknown command by name
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("no command given")}
		},
	}
	root.SetOut(a.stdout) // completion scripts and --version
	root.SetErr(a.stderr)
	root.SetHelpFunc(a.help)
	root.SetUsageFunc(writeUsage)
	root.SetVersionTemplate("starter {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%s: %w (usage: %s; put -- before an argument that starts with a dash)", c.Name(), err, c.UseLine())}
	})
	connFlags := flag.NewFlagSet("temporal", flag.ContinueOnError)
	a.temporal = temporalconn.Register(connFlags)
	root.PersistentFlags().AddGoFlagSet(connFlags)
	root.PersistentFlags().StringVar(&a.taskQueue, "task-queue", workflows.TaskQueue, "task queue the worker polls")
	for _, spec := range commandSpecs() {
		root.AddCommand(a.subcommand(spec))
	}
	return root
}

// help writes a command's description and usage to stderr, as the starter always has, so
// stdout holds only what a command prints.
func (a *cli) help(c *cobra.Command, _ []string) {
	if c.Long != "" {
		fmt.Fprintln(a.stderr, c.Long)
		fmt.Fprintln(a.stderr)
	} else if c.Short != "" {
		fmt.Fprintln(a.stderr, c.Short)
		fmt.Fprintln(a.stderr)
	}
	fmt.Fprint(a.stderr, c.UsageString())
}

// writeUsage is a command's usage: its usage line, its commands with their arguments, and its
// own and global flags.
func writeUsage(c *cobra.Command) error {
	w := c.OutOrStderr()
	fmt.Fprintf(w, "usage: %s\n", c.UseLine())
	if c.HasAvailableSubCommands() {
		fmt.Fprintln(w, "\ncommands:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				fmt.Fprintf(tw, "  %s\t%s\n", sub.Use, sub.Short)
			}
		}
		tw.Flush()
	}
	writeFlags(w, "flags", c.LocalFlags())
	writeFlags(w, "global flags", c.InheritedFlags())
	return nil
}

func writeFlags(w io.Writer, title string, fs *pflag.FlagSet) {
	if fs.HasAvailableFlags() {
		fmt.Fprintf(w, "\n%s:\n%s", title, strings.TrimRight(fs.FlagUsages(), " \n")+"\n")
	}
}

// connect reads the connection settings (usage errors when they cannot work) and dials.
func (a *cli) connect(ctx context.Context) (*Operator, func(), error) {
	conn, err := a.temporal.Load(a.env)
	if err != nil {
		return nil, nil, usageError{err}
	}
	opts, err := temporalconn.ClientOptions(conn)
	if err != nil {
		return nil, nil, usageError{err}
	}
	opts.Logger = quietLogger{}
	c, err := a.dial(ctx, opts)
	if err != nil {
		return nil, nil, failure{fmt.Errorf("connect to Temporal at %s: %w", temporalconn.Describe(conn), err)}
	}
	return &Operator{Client: c, TaskQueue: a.taskQueue}, c.Close, nil
}

// quietLogger keeps the SDK's connection chatter out of the command's output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
