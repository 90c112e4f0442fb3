package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// NodeWorkflowPods reads the pods a claim was planned for from the input its node workflow
// was started with. Temporal keeps that input from the moment the Provisioner starts the
// claim, so the Provisioner carries no per-pod state, and neither a worker restart nor
// another worker running the planner forgets a nomination.
type NodeWorkflowPods struct {
	Client client.Client
	// WorkflowID names a claim's node workflow.
	WorkflowID func(claim string) string

	mu sync.Mutex
	// pods caches each claim's pods: a started workflow's input never changes.
	pods map[string][]string
}

// PodsOf returns the pod keys of each claim; a claim whose workflow is gone holds none. The
// cache keeps only the claims asked about, so it stays as small as the claims in flight.
func (n *NodeWorkflowPods) PodsOf(ctx context.Context, claims []string) (map[string][]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string][]string, len(claims))
	for _, claim := range claims {
		pods, ok := n.pods[claim]
		if !ok {
			var err error
			if pods, err = n.startedWith(ctx, claim); err != nil {
				return nil, err
			}
		}
		out[claim] = pods
	}
	n.pods = out
	return out, nil
}

// startedWith decodes the claim from the first event of its node workflow's history.
func (n *NodeWorkflowPods) startedWith(ctx context.Context, claim string) ([]string, error) {
	id := n.WorkflowID(claim)
	events := n.Client.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !events.HasNext() {
		return nil, fmt.Errorf("claim %s: workflow %s has no history", claim, id)
	}
	first, err := events.Next()
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim %s: read the start of workflow %s: %w", claim, id, err)
	}
	attrs := first.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return nil, fmt.Errorf("claim %s: workflow %s does not start with its input", claim, id)
	}
	var in struct {
		Claim Claim `json:"claim"`
	}
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		return nil, fmt.Errorf("claim %s: decode the input of workflow %s: %w", claim, id, err)
	}
	return in.Claim.Pods, nil
}
