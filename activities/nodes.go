package activities

import (
	"context"
	"fmt"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// Nodes looks node workflows up in Temporal's visibility store.
type Nodes struct {
	Client client.Client
}

// NodeWorkflow is what the interruption controller needs to know about an instance's node.
type NodeWorkflow struct {
	WorkflowID   string `json:"workflowId"`
	InstanceType string `json:"instanceType,omitempty"`
	Zone         string `json:"zone,omitempty"`
	CapacityType string `json:"capacityType,omitempty"`
}

// FindNodeWorkflow finds the running node workflow of an instance by its InstanceID search
// attribute; an empty WorkflowID means the instance is not one of ours.
func (n *Nodes) FindNodeWorkflow(ctx context.Context, instanceID string) (NodeWorkflow, error) {
	query := fmt.Sprintf(`WorkflowType = "NodeLifecycleWorkflow" AND ExecutionStatus = "Running" AND InstanceID = %q`, instanceID)
	resp, err := n.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 2})
	if err != nil {
		return NodeWorkflow{}, fmt.Errorf("find node workflow of %s: %w", instanceID, err)
	}
	if len(resp.Executions) == 0 {
		return NodeWorkflow{}, nil
	}
	e := resp.Executions[0]
	out := NodeWorkflow{WorkflowID: e.GetExecution().GetWorkflowId()}
	fields := e.GetSearchAttributes().GetIndexedFields()
	out.InstanceType, out.Zone, out.CapacityType = keywordOf(fields["InstanceType"]), keywordOf(fields["Zone"]), keywordOf(fields["CapacityType"])
	return out, nil
}
