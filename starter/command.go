package starter

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nodewright/nodewright/workflows"
)

// errUnknownCommand marks a command name the starter does not have.
var errUnknownCommand = errors.New("unknown command")

// command is a checked command line: everything that can be validated without Temporal.
type command struct {
	name   string
	all    bool   // nodes: include closed workflows
	node   string // describe, drain
	reason string // drain
}

// parseCommand validates a command's arguments; errors name the arguments it expects.
func parseCommand(name string, args []string, stderr io.Writer) (command, error) {
	cmd := command{name: name}
	switch name {
	case "start":
		if len(args) != 0 {
			return cmd, fmt.Errorf("start takes no arguments, got %q (usage: starter start)", args)
		}
	case "nodes":
		fs := flag.NewFlagSet("nodes", flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.BoolVar(&cmd.all, "all", false, "include closed node workflows")
		if err := fs.Parse(args); err != nil {
			return cmd, fmt.Errorf("nodes: %w (usage: starter nodes [--all])", err)
		}
		if fs.NArg() != 0 {
			return cmd, fmt.Errorf("nodes takes no arguments besides --all, got %q (usage: starter nodes [--all])", fs.Args())
		}
	case "describe":
		if len(args) != 1 || args[0] == "" {
			return cmd, fmt.Errorf("describe takes exactly one NODE, got %q (usage: starter describe NODE)", args)
		}
		cmd.node = args[0]
	case "drain":
		if len(args) < 1 || len(args) > 2 || args[0] == "" {
			return cmd, fmt.Errorf("drain takes a NODE and an optional REASON, got %q (usage: starter drain NODE [REASON])", args)
		}
		cmd.node, cmd.reason = args[0], "manual"
		if len(args) == 2 {
			cmd.reason = args[1]
		}
	default:
		return cmd, fmt.Errorf("%w %q", errUnknownCommand, name)
	}
	return cmd, nil
}

// execute carries out a checked command against Temporal.
func (c command) execute(ctx context.Context, op *Operator, out io.Writer) error {
	switch c.name {
	case "start":
		runID, err := op.Start(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "provisioner running (workflow %s, run %s)\n", workflows.ProvisionerID, runID)
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
		id, err := op.Drain(ctx, c.node, c.reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "drain requested for %s (workflow %s)\n", c.node, id)
	default:
		return fmt.Errorf("%w %q", errUnknownCommand, c.name) // parseCommand lets none through
	}
	return nil
}
