package starter

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"github.com/nodewright/nodewright/worker/temporalconn"
)

// The shell's completion (cobra's hidden __complete command, which the scripts call) offers
// the running nodes' Node and NodeClaim names for a NODE argument, fixed words where the
// argument is one, and the output formats for -o; it never offers files there.
func TestCompletionOffersNodesAndFormats(t *testing.T) {
	registered := nodeExecution(t, "node/web-abcde", nil)
	name, err := converter.GetDefaultDataConverter().ToPayload("ip-10-0-0-7.ec2.internal")
	if err != nil {
		t.Fatal(err)
	}
	registered.SearchAttributes.IndexedFields["NodeName"] = name
	launching := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: "node/batch-xyz12"}}
	c := &listingClient{executions: []*workflowpb.WorkflowExecutionInfo{registered, launching}}

	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"describe", ""}, []string{"batch-xyz12", "ip-10-0-0-7.ec2.internal", "web-abcde"}}, // oldest first
		{[]string{"drain", "--grace-period", "5m", "ip"}, []string{"ip-10-0-0-7.ec2.internal"}},
		{[]string{"why", "b"}, []string{"batch-xyz12"}},
		{[]string{"extend", "web-abcde", ""}, nil}, // DURATION: nothing to offer
		{[]string{"cancel-drain", "zz"}, nil},
		{[]string{"pause", ""}, []string{"disruption"}},
		{[]string{"nodes", "-o", ""}, []string{"table", "wide", "json", "yaml"}},
		{[]string{"advise", "-f", "x.yaml", "-o", ""}, []string{"table", "wide", "json", "yaml"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"__completeNoDesc"}, tt.args...)
			if code := runCLI(context.Background(), args, &stdout, &stderr, temporalconn.MapEnv(nil), c.dial, "test"); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			directive := lines[len(lines)-1]
			if got := lines[:len(lines)-1]; !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("offered %q, want %q", got, tt.want)
			}
			if directive != ":4" { // cobra.ShellCompDirectiveNoFileComp
				t.Errorf("directive %s, want :4 (no file completion)", directive)
			}
		})
	}
}

// Descriptions say what a name is: a Node (with its claim) or a NodeClaim, with pool, phase
// and type as known.
func TestNodeCompletionsDescribeEachName(t *testing.T) {
	rows := []NodeRow{
		{WorkflowID: "node/web-abcde", NodeName: "ip-1", NodePool: "web", Phase: "Ready", InstanceType: "m5.large"},
		{WorkflowID: "node/batch-xyz12"},
	}
	want := []string{
		"ip-1\tNode of NodeClaim web-abcde, web Ready m5.large",
		"web-abcde\tNodeClaim, web Ready m5.large",
		"batch-xyz12\tNodeClaim",
	}
	if got := nodeCompletions(rows, ""); !slices.Equal(got, want) {
		t.Errorf("nodeCompletions = %q, want %q", got, want)
	}
}
