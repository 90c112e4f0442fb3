package starter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/nodewright/nodewright/workflows"
)

// Operator talks to the Temporal namespace the worker serves.
type Operator struct {
	Client    client.Client
	TaskQueue string
}

// Start makes sure the Provisioner workflow runs; it is a no-op when it already does.
func (o *Operator) Start(ctx context.Context) (runID string, err error) {
	run, err := o.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.ProvisionerID,
		TaskQueue:                o.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.ProvisionerWorkflow, workflows.ProvisionerInput{})
	if err != nil {
		return "", fmt.Errorf("start %s workflow: %w", workflows.ProvisionerID, err)
	}
	return run.GetRunID(), nil
}

// NodeRow is one line of the nodes table, read from the workflows' search attributes.
type NodeRow struct {
	WorkflowID   string
	NodeName     string
	Phase        string
	NodePool     string
	InstanceID   string
	InstanceType string
	Zone         string
	CapacityType string
	Started      time.Time // zero when the server did not report it
	Status       enumspb.WorkflowExecutionStatus
}

// Nodes lists node workflows, running ones only unless all is set, oldest first.
func (o *Operator) Nodes(ctx context.Context, all bool) ([]NodeRow, error) {
	query := `WorkflowType = "NodeLifecycleWorkflow"`
	if !all {
		query += ` AND ExecutionStatus = "Running"`
	}
	var rows []NodeRow
	var token []byte
	for {
		resp, err := o.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list node workflows: %w", err)
		}
		for _, e := range resp.Executions {
			row := NodeRow{WorkflowID: e.GetExecution().GetWorkflowId(), Status: e.GetStatus()}
			if e.GetStartTime() != nil { // a nil timestamp's AsTime is 1970, not "unknown"
				row.Started = e.GetStartTime().AsTime()
			}
			fields := e.GetSearchAttributes().GetIndexedFields()
			for name, dst := range map[string]*string{
				"NodeName": &row.NodeName, "NodePhase": &row.Phase, "NodePool": &row.NodePool,
				"InstanceID": &row.InstanceID, "InstanceType": &row.InstanceType, "Zone": &row.Zone,
				"CapacityType": &row.CapacityType,
			} {
				if p, ok := fields[name]; ok {
					_ = converter.GetDefaultDataConverter().FromPayload(p, dst)
				}
			}
			rows = append(rows, row)
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	slices.SortFunc(rows, func(a, b NodeRow) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.WorkflowID, b.WorkflowID)
	})
	return rows, nil
}

// ErrNodeNotFound is returned when no running node workflow matches a name.
var ErrNodeNotFound = errors.New("no running node workflow matches")

// Resolve finds the workflow id for a node given as a Node name, a claim name or a workflow id.
func (o *Operator) Resolve(ctx context.Context, node string) (string, error) {
	if strings.HasPrefix(node, "node/") {
		return node, nil
	}
	id := workflows.NodeWorkflowID(node)
	if _, err := o.Client.DescribeWorkflowExecution(ctx, id, ""); err == nil {
		return id, nil
	} else if !isNotFound(err) {
		return "", fmt.Errorf("describe %s: %w", id, err)
	}
	rows, err := o.Nodes(ctx, false)
	if err != nil {
		return "", err
	}
	for _, r := range rows {
		if r.NodeName == node || r.InstanceID == node {
			return r.WorkflowID, nil
		}
	}
	return "", fmt.Errorf("%w %q (give a node name, a claim name or a node/<claim> workflow id; `starter nodes` lists them)", ErrNodeNotFound, node)
}

// Drain asks a node's workflow to drain and terminate it.
func (o *Operator) Drain(ctx context.Context, node, reason string) (string, error) {
	id, err := o.Resolve(ctx, node)
	if err != nil {
		return "", err
	}
	if err := o.Client.SignalWorkflow(ctx, id, "", workflows.SignalDrain, workflows.DrainRequest{Reason: reason}); err != nil {
		return "", fmt.Errorf("signal %s to %s: %w", workflows.SignalDrain, id, err)
	}
	return id, nil
}

// Describe returns a node workflow's live state through its state query.
func (o *Operator) Describe(ctx context.Context, node string) (workflows.NodeState, error) {
	id, err := o.Resolve(ctx, node)
	if err != nil {
		return workflows.NodeState{}, err
	}
	v, err := o.Client.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err != nil {
		return workflows.NodeState{}, fmt.Errorf("query %s of %s: %w", workflows.QueryState, id, err)
	}
	var st workflows.NodeState
	if err := v.Get(&st); err != nil {
		return workflows.NodeState{}, fmt.Errorf("decode state of %s: %w", id, err)
	}
	return st, nil
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
