package starter

import (
	"bytes"
	"context"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// listingClient is a Temporal client that lists the given workflows; any other call lands on
// the nil embedded client and panics.
type listingClient struct {
	client.Client
	executions []*workflowpb.WorkflowExecutionInfo
	// disruption is what the disruption controller's state query answers; nil when it does
	// not run.
	disruption *workflows.DisruptionState
	// signals are the signals sent, to running or started workflows.
	signals []sentSignal
}

// sentSignal is a signal the starter sent; started says it came with a start.
type sentSignal struct {
	workflowID, name string
	arg              any
	started          bool
}

func (c *listingClient) QueryWorkflow(_ context.Context, id, _, query string, _ ...any) (converter.EncodedValue, error) {
	if id != workflows.DisruptionID || query != workflows.QueryState || c.disruption == nil {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	payloads, err := converter.GetDefaultDataConverter().ToPayloads(*c.disruption)
	if err != nil {
		return nil, err
	}
	return encodedValues{payloads}, nil
}

func (c *listingClient) SignalWorkflow(_ context.Context, id, _, name string, arg any) error {
	if id == workflows.DisruptionID && c.disruption == nil {
		return serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	c.signals = append(c.signals, sentSignal{workflowID: id, name: name, arg: arg})
	return nil
}

func (c *listingClient) SignalWithStartWorkflow(_ context.Context, id, name string, arg any, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	c.signals = append(c.signals, sentSignal{workflowID: id, name: name, arg: arg, started: c.disruption == nil})
	return nil, nil
}

// UpdateWorkflow finds no workflow: no test of this client runs a Provisioner.
func (c *listingClient) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, serviceerror.NewNotFound("workflow not found for ID: " + opts.WorkflowID)
}

// encodedValues is a query's answer as the SDK hands it over.
type encodedValues struct{ payloads *commonpb.Payloads }

func (e encodedValues) HasValue() bool { return e.payloads != nil }
func (e encodedValues) Get(into any) error {
	return converter.GetDefaultDataConverter().FromPayloads(e.payloads, into)
}

func (c *listingClient) dial(context.Context, client.Options) (client.Client, error) { return c, nil }
func (c *listingClient) Close()                                                      {}

func (c *listingClient) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: c.executions}, nil
}

// nodeExecution is a listed node workflow of an m5.large, its memo holding the given fields.
func nodeExecution(t *testing.T, id string, memo map[string]any) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	payload := func(v any) *commonpb.Payload {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	e := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id},
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			"InstanceType": payload("m5.large"), "NodePhase": payload("Ready"),
		}},
	}
	if memo != nil {
		e.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{}}
		for k, v := range memo {
			e.Memo.Fields[k] = payload(v)
		}
	}
	return e
}

func TestNodesShowWhatEachNodeCosts(t *testing.T) {
	tests := []struct {
		name string
		memo map[string]any
		// wantPrice is the PRICE/h column.
		wantPrice string
	}{
		{name: "a node's price comes from its workflow's memo", memo: map[string]any{workflows.MemoPricePerHour: 0.0423}, wantPrice: "$0.0423"},
		{name: "a node without a memo has no known price", wantPrice: "-"},
		{name: "a memo price that is not a number is not shown", memo: map[string]any{workflows.MemoPricePerHour: "cheap"}, wantPrice: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &listingClient{executions: []*workflowpb.WorkflowExecutionInfo{nodeExecution(t, "node/claim-1", tt.memo)}}
			var stdout, stderr bytes.Buffer
			if code := runCLI(context.Background(), []string{"nodes"}, &stdout, &stderr, temporalconn.MapEnv{}, c.dial, "test"); code != 0 {
				t.Fatalf("starter nodes exited %d: %s", code, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("starter nodes printed %d lines, want a header and one node:\n%s", len(lines), stdout.String())
			}
			header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
			if len(row) != len(header) {
				t.Fatalf("row %q does not match header %q", row, header)
			}
			got := map[string]string{}
			for i, column := range header {
				got[column] = row[i]
			}
			if got["PRICE/h"] != tt.wantPrice {
				t.Errorf("PRICE/h = %q, want %q:\n%s", got["PRICE/h"], tt.wantPrice, stdout.String())
			}
			if got["INSTANCE-TYPE"] != "m5.large" {
				t.Errorf("INSTANCE-TYPE = %q, want m5.large from the search attributes:\n%s", got["INSTANCE-TYPE"], stdout.String())
			}
		})
	}
}
