package starter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// completionWait bounds the Temporal call behind a NODE completion: a shell waits on it at
// every TAB, so an unreachable server must cost seconds, not the SDK's dial timeout.
const completionWait = 3 * time.Second

// completeNode offers, for a command's NODE argument, the running node workflows: each
// node's Node name once it has one, and its NodeClaim name, with the pool, phase and type
// as the description. A failed listing offers nothing rather than files.
func (a *cli) completeNode(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionWait)
	defer cancel()
	op, closeClient, err := a.connect(ctx)
	if err != nil {
		cobra.CompDebugln(err.Error(), true)
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer closeClient()
	rows, err := op.Nodes(ctx, false)
	if err != nil {
		cobra.CompDebugln(err.Error(), true)
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return nodeCompletions(rows, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// nodeCompletions are the names rows go by that start with prefix, each described.
func nodeCompletions(rows []NodeRow, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, r := range rows {
		claim := strings.TrimPrefix(r.WorkflowID, "node/")
		desc := strings.Join(nonEmpty(r.NodePool, r.Phase, r.InstanceType), " ")
		if r.NodeName != "" && strings.HasPrefix(r.NodeName, prefix) {
			out = append(out, cobra.CompletionWithDesc(r.NodeName, fmt.Sprintf("Node of NodeClaim %s, %s", claim, desc)))
		}
		if strings.HasPrefix(claim, prefix) {
			out = append(out, cobra.CompletionWithDesc(claim, strings.TrimSuffix("NodeClaim, "+desc, ", ")))
		}
	}
	return out
}

func nonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// completeWords offers fixed words for a command's only argument (pause disruption).
func completeWords(words ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}
