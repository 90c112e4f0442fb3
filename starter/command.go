package starter

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nodewright/nodewright/apis/loader"
	"github.com/nodewright/nodewright/workflows"
)

// command holds a command line's values once parsed and checked: everything that can be
// validated without Temporal.
type command struct {
	all    bool          // nodes: include closed workflows
	node   string        // describe, drain, cancel-drain, extend
	reason string        // drain
	grace  time.Duration // drain
	by     time.Duration // extend
	file   string        // convert
	output outputFormat  // read commands: -o
	advise adviseOptions // advise
	plan   planOptions   // plan
	why    whyOptions    // why
	// kube reaches the cluster, for commands that read it; the cli sets it before running.
	kube kubeConnector
}

// commandSpec is one starter command. Adding a command is adding an entry to commandSpecs.
type commandSpec struct {
	// use is the command's name and arguments, as its usage line shows them.
	use   string
	short string
	// flags binds the command's own flags to c; nil when it has none.
	flags func(fs *pflag.FlagSet, c *command)
	// args checks the positional arguments left once flags are parsed and keeps them in c.
	args func(c *command, args []string) error
	// read marks a command that prints state: it takes -o table|wide|json|yaml.
	read bool
	// complete, when set, offers the shell's completions for the first argument.
	complete func(a *cli) cobra.CompletionFunc
	// local carries out a command that needs no Temporal; run one that does. One is set, or
	// both with remote.
	local func(ctx context.Context, c command, stdin io.Reader, out, errOut io.Writer) error
	run   func(ctx context.Context, op *Operator, c command, out io.Writer) error
	// remote, when set on a command with both, says when it runs through Temporal rather
	// than locally (plan --live).
	remote func(c command) bool
}

// commandSpecs are the starter's commands (its usage lists them by name).
func commandSpecs() []commandSpec {
	return []commandSpec{
		{use: "start", short: "ensure the Provisioner and disruption controller run",
			args: noArgs, run: runStart},
		{use: "nodes [--all] [-o FORMAT]", short: "list node workflows (node, phase, type, zone, capacity type, $/h, age)",
			flags: func(fs *pflag.FlagSet, c *command) {
				fs.BoolVar(&c.all, "all", false, "include closed node workflows")
			},
			args: noArgs, read: true, run: runNodes},
		{use: "describe NODE [-o FORMAT]", short: "show a node's live state (its workflow's state query)",
			args: oneNode, read: true, run: runDescribe, complete: nodeArg},
		{use: "drain [--grace-period D] NODE [REASON]", short: "drain and terminate a node (refused, with the reason, for a node already terminating)",
			flags: func(fs *pflag.FlagSet, c *command) {
				fs.DurationVar(&c.grace, "grace-period", 0, "wait this long before draining; cancel-drain withdraws it meanwhile")
			},
			args: drainArgs, run: runDrain, complete: nodeArg},
		{use: "cancel-drain NODE", short: "withdraw a drain whose grace period has not ended",
			args: oneNode, run: runCancelDrain, complete: nodeArg},
		{use: "extend NODE DURATION", short: "push a node's expiry (expireAfter) back, e.g. extend NODE 24h",
			args: extendArgs, run: runExtend, complete: nodeArg},
		{use: "convert FILE", short: "print FILE's NodePools and EC2NodeClasses in their v1 form; - reads stdin",
			args: convertArgs, local: runConvert},
		{use: "pause disruption [--reason R]", short: "kill switch: stop consolidation and drift (expiration and interruptions go on) until resumed; starter nodes shows it",
			flags: func(fs *pflag.FlagSet, c *command) {
				fs.StringVar(&c.reason, "reason", "", "why, for the controller's record and starter nodes")
			},
			args: disruptionArg, run: runPause, complete: disruptionWord},
		{use: "resume disruption", short: "let consolidation and drift go again",
			args: disruptionArg, run: runResume, complete: disruptionWord},
		{use: "why NODE|pod/[NAMESPACE/]NAME [-o FORMAT]", short: "why a node was launched and why it is going; why a pod is pending, or the claim or node it went to",
			flags: whyFlags, args: whyArgs, read: true, run: runWhy, complete: nodeArg},
		{use: "advise [-f FILE]... [--from-cluster] [-o FORMAT]", short: "check NodePools and workloads against best practices; exits 1 when a finding has severity error",
			flags: adviseFlags, args: adviseArgs, local: runAdviseCommand},
		{use: "plan [-f FILE]... [--from-cluster|--live] [-o FORMAT]", short: "dry run: the nodes the worker would launch (pool, types, zones, $/h), where each pod goes, what stays pending and why; launches nothing",
			flags: planFlags, args: planArgs, read: true, local: runPlan, run: runPlanLive,
			remote: func(c command) bool { return c.plan.live }},
	}
}

// nodeArg completes a NODE argument with the running nodes' names.
func nodeArg(a *cli) cobra.CompletionFunc { return a.completeNode }

// disruptionWord completes pause's and resume's one argument.
func disruptionWord(*cli) cobra.CompletionFunc { return completeWords("disruption") }

// subcommand builds a spec's cobra command: flags parsed anywhere among the arguments (up to
// --), arguments checked before anything runs, usage errors marked as such.
func (a *cli) subcommand(spec commandSpec) *cobra.Command {
	c := &command{}
	cmd := &cobra.Command{
		Use:                   spec.use,
		Short:                 spec.short,
		DisableFlagsInUseLine: true, // the usage line names the flags itself
		Args: func(cmd *cobra.Command, args []string) error {
			if err := spec.args(c, args); err != nil {
				return usageError{fmt.Errorf("%s: %w (usage: %s)", cmd.Name(), err, cmd.UseLine())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return a.run(cmd.Context(), cmd.InOrStdin(), spec, *c) },
	}
	if spec.flags != nil {
		spec.flags(cmd.Flags(), c)
	}
	if spec.read {
		cmd.Flags().VarP(&c.output, "output", "o", "output format: "+strings.Join(outputFormats(), ", "))
	}
	if cmd.Flags().Lookup("output") != nil { // read commands', and advise's own
		_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats(), cobra.ShellCompDirectiveNoFileComp))
	}
	if spec.complete != nil {
		cmd.ValidArgsFunction = spec.complete(a)
	}
	return cmd
}

// run carries out a checked command, dialing Temporal only for commands that need it.
func (a *cli) run(ctx context.Context, stdin io.Reader, spec commandSpec, c command) error {
	if spec.local != nil && (spec.remote == nil || !spec.remote(c)) {
		if err := spec.local(ctx, c, stdin, a.stdout, a.stderr); err != nil {
			return failure{err}
		}
		return nil
	}
	op, closeConn, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer closeConn()
	c.kube = a.kube
	if err := spec.run(ctx, op, c, a.stdout); err != nil {
		return failure{err}
	}
	return nil
}

func noArgs(_ *command, args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("takes no arguments besides its flags, got %q", args)
	}
	return nil
}

func oneNode(c *command, args []string) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("takes exactly one NODE, got %q", args)
	}
	c.node = args[0]
	return nil
}

func drainArgs(c *command, args []string) error {
	if len(args) < 1 || len(args) > 2 || args[0] == "" {
		return fmt.Errorf("takes a NODE and an optional REASON, got %q", args)
	}
	if c.grace < 0 {
		return fmt.Errorf("--grace-period %s must not be negative; leave it out to drain now", c.grace)
	}
	c.node, c.reason = args[0], "manual"
	if len(args) == 2 {
		c.reason = args[1]
	}
	return nil
}

func extendArgs(c *command, args []string) error {
	if len(args) != 2 || args[0] == "" {
		return fmt.Errorf("takes a NODE and a DURATION, got %q", args)
	}
	by, err := time.ParseDuration(args[1])
	if err != nil || by <= 0 {
		return fmt.Errorf("DURATION %q must be a positive Go duration such as 24h or 90m", args[1])
	}
	c.node, c.by = args[0], by
	return nil
}

func convertArgs(c *command, args []string) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("takes exactly one FILE (- for standard input), got %q", args)
	}
	c.file = args[0]
	return nil
}

func runStart(ctx context.Context, op *Operator, _ command, out io.Writer) error {
	runs, err := op.Start(ctx)
	if err != nil {
		return err
	}
	for _, id := range []string{workflows.ProvisionerID, workflows.DisruptionID} {
		fmt.Fprintf(out, "%s running (run %s)\n", id, runs[id])
	}
	return nil
}

func runNodes(ctx context.Context, op *Operator, c command, out io.Writer) error {
	rows, err := op.Nodes(ctx, c.all)
	if err != nil {
		return err
	}
	if err := printNodes(out, c.output, rows, time.Now()); err != nil {
		return err
	}
	if c.output == outputJSON || c.output == outputYAML {
		return nil // structured output stays parseable; the state query has the pause
	}
	return printPauseOf(ctx, op, out)
}

// disruptionArg checks pause's and resume's one argument, what they act on.
func disruptionArg(_ *command, args []string) error {
	if len(args) != 1 || args[0] != "disruption" {
		return fmt.Errorf("takes one argument, disruption, got %q", args)
	}
	return nil
}

func runPause(ctx context.Context, op *Operator, c command, out io.Writer) error {
	if err := op.PauseDisruption(ctx, c.reason); err != nil {
		return err
	}
	fmt.Fprintln(out, "pause sent to the disruption controller: consolidation and drift wait; expiration and interruptions go on")
	return printPauseOf(ctx, op, out)
}

func runResume(ctx context.Context, op *Operator, _ command, out io.Writer) error {
	if err := op.ResumeDisruption(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "resume sent to the disruption controller")
	return nil
}

// stateWait bounds the wait for the disruption controller's state: with no worker running it
// would not answer at all.
const stateWait = 5 * time.Second

// printPauseOf prints the pause line when the disruption controller is paused, or a line
// saying its state is unknown when it does not answer; nothing when it runs unpaused or does
// not run.
func printPauseOf(ctx context.Context, op *Operator, out io.Writer) error {
	qctx, cancel := context.WithTimeout(ctx, stateWait)
	defer cancel()
	st, err := op.DisruptionState(qctx)
	switch {
	case isNotFound(err):
		return nil
	case err != nil:
		_, err = fmt.Fprintf(out, "disruption controller state unknown: %v\n", err)
		return err
	}
	return PrintDisruptionPause(out, st.Pause)
}

func runDescribe(ctx context.Context, op *Operator, c command, out io.Writer) error {
	id, err := op.Resolve(ctx, c.node)
	if err != nil {
		return err
	}
	st, err := op.Describe(ctx, id)
	if err != nil {
		return err
	}
	return printState(out, c.output, id, st)
}

func runDrain(ctx context.Context, op *Operator, c command, out io.Writer) error {
	id, accepted, err := op.Drain(ctx, c.node, c.reason, c.grace)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "drain of %s accepted (workflow %s); it starts %s\n", c.node, id, accepted.StartsAt.UTC().Format(time.RFC3339))
	return nil
}

func runCancelDrain(ctx context.Context, op *Operator, c command, out io.Writer) error {
	id, err := op.CancelDrain(ctx, c.node)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "cancel-drain sent to %s (workflow %s); `starter describe %s` shows whether a drain was withdrawn\n", c.node, id, c.node)
	return nil
}

func runExtend(ctx context.Context, op *Operator, c command, out io.Writer) error {
	id, at, err := op.Extend(ctx, c.node, c.by)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s (workflow %s) now expires %s\n", c.node, id, at.UTC().Format(time.RFC3339))
	return nil
}

// runConvert prints the file's NodePools and EC2NodeClasses in their karpenter.sh/v1 and
// karpenter.k8s.aws/v1 form, and the warnings about what moved or was dropped on stderr.
func runConvert(ctx context.Context, c command, stdin io.Reader, out, errOut io.Writer) error {
	var data []byte
	var err error
	if c.file == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(c.file)
	}
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	ld, err := loader.New()
	if err != nil {
		return err
	}
	converted, warnings, err := ld.Convert(ctx, data)
	for _, w := range warnings {
		fmt.Fprintln(errOut, "warning:", w)
	}
	if err != nil {
		return fmt.Errorf("convert %s: %w", c.file, err)
	}
	_, err = out.Write(converted)
	return err
}
