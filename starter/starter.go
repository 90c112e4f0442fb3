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
	workflowpb "go.temporal.io/api/workflow/v1"
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

// Start makes sure the singleton controllers run (the Provisioner and the disruption
// controller); it is a no-op for those that already do. It returns their run ids by
// workflow id.
func (o *Operator) Start(ctx context.Context) (map[string]string, error) {
	runs := map[string]string{}
	for _, c := range []struct {
		id    string
		wf    any
		input any
	}{
		{workflows.ProvisionerID, workflows.ProvisionerWorkflow, workflows.ProvisionerInput{}},
		{workflows.DisruptionID, workflows.DisruptionWorkflow, workflows.DisruptionInput{}},
	} {
		run, err := o.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       c.id,
			TaskQueue:                o.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, c.wf, c.input)
		if err != nil {
			return runs, fmt.Errorf("start %s workflow: %w", c.id, err)
		}
		runs[c.id] = run.GetRunID()
	}
	return runs, nil
}

// NodeRow is one line of the nodes table, read from the workflows' search attributes and memo.
// Its JSON form (nodes -o json) names the workflow status (Running, Completed, ...).
type NodeRow struct {
	WorkflowID   string `json:"workflowID"`
	NodeName     string `json:"nodeName,omitempty"`
	Phase        string `json:"phase,omitempty"`
	NodePool     string `json:"nodePool,omitempty"`
	InstanceID   string `json:"instanceID,omitempty"`
	InstanceType string `json:"instanceType,omitempty"`
	Zone         string `json:"zone,omitempty"`
	CapacityType string `json:"capacityType,omitempty"`
	// PricePerHour is what the node costs, from its workflow's memo; 0 when unknown (a node
	// still launching, or one launched before nodes showed their price).
	PricePerHour float64                         `json:"pricePerHour,omitempty"`
	Started      time.Time                       `json:"started,omitzero"` // zero when the server did not report it
	Status       enumspb.WorkflowExecutionStatus `json:"-"`                // by name in MarshalJSON
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
			rows = append(rows, nodeRowOf(e))
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

// nodeRowOf reads a node workflow's row from its search attributes and its memo's price.
func nodeRowOf(e *workflowpb.WorkflowExecutionInfo) NodeRow {
	row := NodeRow{WorkflowID: e.GetExecution().GetWorkflowId(), Status: e.GetStatus()}
	if e.GetStartTime() != nil { // a nil timestamp's AsTime is 1970, not "unknown"
		row.Started = e.GetStartTime().AsTime()
	}
	dc := converter.GetDefaultDataConverter()
	fields := e.GetSearchAttributes().GetIndexedFields()
	for name, dst := range map[string]*string{
		"NodeName": &row.NodeName, "NodePhase": &row.Phase, "NodePool": &row.NodePool,
		"InstanceID": &row.InstanceID, "InstanceType": &row.InstanceType, "Zone": &row.Zone,
		"CapacityType": &row.CapacityType,
	} {
		if p, ok := fields[name]; ok {
			_ = dc.FromPayload(p, dst)
		}
	}
	if p, ok := e.GetMemo().GetFields()[workflows.MemoPricePerHour]; ok {
		_ = dc.FromPayload(p, &row.PricePerHour) // unreadable: unknown, as before the memo
	}
	return row
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

// Drain asks a node's workflow to drain and terminate it, through the requestDrain update:
// the answer says when the drain starts, or why the node refused (already terminating, a
// drain already requested).
func (o *Operator) Drain(ctx context.Context, node, reason string, gracePeriod time.Duration) (string, workflows.DrainAccepted, error) {
	id, err := o.Resolve(ctx, node)
	if err != nil {
		return "", workflows.DrainAccepted{}, err
	}
	var accepted workflows.DrainAccepted
	err = o.update(ctx, id, workflows.UpdateRequestDrain, workflows.DrainRequest{Reason: reason, GracePeriod: workflows.Duration(gracePeriod)}, &accepted)
	return id, accepted, err
}

// CancelDrain withdraws a manual drain whose grace period has not ended.
func (o *Operator) CancelDrain(ctx context.Context, node string) (string, error) {
	id, err := o.Resolve(ctx, node)
	if err != nil {
		return "", err
	}
	if err := o.Client.SignalWorkflow(ctx, id, "", workflows.SignalCancelDrain, nil); err != nil {
		return "", fmt.Errorf("signal %s to %s: %w", workflows.SignalCancelDrain, id, err)
	}
	return id, nil
}

// Extend pushes a node's expiry back by the given duration.
func (o *Operator) Extend(ctx context.Context, node string, by time.Duration) (string, time.Time, error) {
	id, err := o.Resolve(ctx, node)
	if err != nil {
		return "", time.Time{}, err
	}
	var ext workflows.ExpiryExtended
	err = o.update(ctx, id, workflows.UpdateExtendExpiry, workflows.ExtendExpiry{By: workflows.Duration(by)}, &ext)
	return id, ext.ExpiresAt, err
}

// update runs a workflow update to completion; a rejection comes back as the error.
func (o *Operator) update(ctx context.Context, id, name string, arg, result any) error {
	h, err := o.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return fmt.Errorf("%s on %s: %w", name, id, err)
	}
	if err := h.Get(ctx, result); err != nil {
		return fmt.Errorf("%s on %s rejected: %w", name, id, err)
	}
	return nil
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
