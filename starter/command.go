package starter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/nodewright/nodewright/apis/loader"
	"github.com/nodewright/nodewright/workflows"
)

// errUnknownCommand marks a command name the starter does not have.
var errUnknownCommand = errors.New("unknown command")

// command is a checked command line: everything that can be validated without Temporal.
type command struct {
	name   string
	all    bool          // nodes: include closed workflows
	node   string        // describe, drain, cancel-drain, extend
	reason string        // drain
	grace  time.Duration // drain
	by     time.Duration // extend
	file   string        // convert
}

// parseCommand validates a command's arguments; errors name the arguments it expects. The
// command's flags and the global ones (bound to the values runCLI reads) may stand anywhere
// among its arguments, up to a "--".
func parseCommand(name string, args []string, global *pflag.FlagSet) (command, error) {
	cmd := command{name: name}
	own := pflag.NewFlagSet(name, pflag.ContinueOnError)
	switch name {
	case "nodes":
		own.BoolVar(&cmd.all, "all", false, "include closed node workflows")
	case "drain":
		own.DurationVar(&cmd.grace, "grace-period", 0, "wait this long before draining; cancel-drain withdraws it meanwhile")
	case "start", "describe", "cancel-drain", "extend", "convert":
	default:
		return cmd, fmt.Errorf("%w %q", errUnknownCommand, name)
	}
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(global.Output())
	fs.AddFlagSet(own)
	fs.AddFlagSet(global)
	fs.Usage = func() {
		global.Usage()
		if own.HasFlags() {
			fmt.Fprintf(global.Output(), "\n%s flags:\n%s", name, own.FlagUsages())
		}
	}
	if err := fs.Parse(args); err != nil {
		return cmd, fmt.Errorf("%s: %w (usage: %s; put -- before an argument that starts with a dash)", name, err, usageOf(name))
	}
	err := cmd.takeArgs(fs.Args())
	return cmd, err
}

// usageOf is the usage line of a command parseCommand knows.
func usageOf(name string) string {
	switch name {
	case "nodes":
		return "starter nodes [--all]"
	case "describe", "cancel-drain":
		return "starter " + name + " NODE"
	case "drain":
		return "starter drain [--grace-period D] NODE [REASON]"
	case "extend":
		return "starter extend NODE 24h"
	case "convert":
		return "starter convert FILE"
	default:
		return "starter " + name
	}
}

// takeArgs checks and keeps a command's positional arguments, the flags already parsed.
func (c *command) takeArgs(args []string) error {
	switch c.name {
	case "start":
		if len(args) != 0 {
			return fmt.Errorf("start takes no arguments, got %q (usage: %s)", args, usageOf(c.name))
		}
	case "nodes":
		if len(args) != 0 {
			return fmt.Errorf("nodes takes no arguments besides --all, got %q (usage: %s)", args, usageOf(c.name))
		}
	case "describe", "cancel-drain":
		if len(args) != 1 || args[0] == "" {
			return fmt.Errorf("%s takes exactly one NODE, got %q (usage: %s)", c.name, args, usageOf(c.name))
		}
		c.node = args[0]
	case "drain":
		if len(args) < 1 || len(args) > 2 || args[0] == "" {
			return fmt.Errorf("drain takes a NODE and an optional REASON, got %q (usage: %s)", args, usageOf(c.name))
		}
		if c.grace < 0 {
			return fmt.Errorf("drain: --grace-period %s must not be negative; leave it out to drain now (usage: %s)", c.grace, usageOf(c.name))
		}
		c.node, c.reason = args[0], "manual"
		if len(args) == 2 {
			c.reason = args[1]
		}
	case "extend":
		if len(args) != 2 || args[0] == "" {
			return fmt.Errorf("extend takes a NODE and a DURATION, got %q (usage: %s)", args, usageOf(c.name))
		}
		by, err := time.ParseDuration(args[1])
		if err != nil || by <= 0 {
			return fmt.Errorf("extend: DURATION %q must be a positive Go duration such as 24h or 90m", args[1])
		}
		c.node, c.by = args[0], by
	case "convert":
		if len(args) != 1 || args[0] == "" {
			return fmt.Errorf("convert takes exactly one FILE (- for standard input), got %q (usage: %s)", args, usageOf(c.name))
		}
		c.file = args[0]
	}
	return nil
}

// local reports whether the command runs without Temporal.
func (c command) local() bool { return c.name == "convert" }

// runLocal carries out a command that needs no Temporal: convert prints the file's NodePools
// and EC2NodeClasses in their karpenter.sh/v1 and karpenter.k8s.aws/v1 form, and the
// warnings about what moved or was dropped on stderr.
func (c command) runLocal(ctx context.Context, stdin io.Reader, out, errOut io.Writer) error {
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

// execute carries out a checked command against Temporal.
func (c command) execute(ctx context.Context, op *Operator, out io.Writer) error {
	switch c.name {
	case "start":
		runs, err := op.Start(ctx)
		if err != nil {
			return err
		}
		for _, id := range []string{workflows.ProvisionerID, workflows.DisruptionID} {
			fmt.Fprintf(out, "%s running (run %s)\n", id, runs[id])
		}
	case "nodes":
		rows, err := op.Nodes(ctx, c.all)
		if err != nil {
			return err
		}
		return PrintNodes(out, rows, time.Now())
	case "describe":
		id, err := op.Resolve(ctx, c.node)
		if err != nil {
			return err
		}
		st, err := op.Describe(ctx, id)
		if err != nil {
			return err
		}
		return PrintState(out, id, st)
	case "drain":
		id, accepted, err := op.Drain(ctx, c.node, c.reason, c.grace)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "drain of %s accepted (workflow %s); it starts %s\n", c.node, id, accepted.StartsAt.UTC().Format(time.RFC3339))
	case "cancel-drain":
		id, err := op.CancelDrain(ctx, c.node)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "cancel-drain sent to %s (workflow %s); `starter describe %s` shows whether a drain was withdrawn\n", c.node, id, c.node)
	case "extend":
		id, at, err := op.Extend(ctx, c.node, c.by)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s (workflow %s) now expires %s\n", c.node, id, at.UTC().Format(time.RFC3339))
	default:
		return fmt.Errorf("%w %q", errUnknownCommand, c.name) // parseCommand lets none through
	}
	return nil
}
