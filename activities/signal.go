package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Signals sends a workflow's news to other workflows from an activity. Run as a local
// activity it costs the sender's history one event, where a signal command costs two and a
// workflow task of three more; the price is that a retried activity may deliver a signal
// twice, so it carries only news its receivers take idempotently.
type Signals struct {
	Client client.Client
	// Identity names this worker on the workflows StartWorkflows starts, as the SDK client
	// names it on the ones it starts.
	Identity string
	// EagerStart starts workflows through the SDK client, asking for eager execution: the
	// server hands the first workflow task back with the start, to this worker, instead of
	// through its task queue. Set it only for a Client dialled with RequestIDInterceptor,
	// which keeps the starts idempotent.
	EagerStart bool
	// Started, when set, is told of each workflow StartWorkflows saw running with its input
	// (started by this call, or by an earlier try of it) before the call returns.
	Started func(WorkflowStart)
}

// SignalRequest is one signal for a few workflows.
type SignalRequest struct {
	WorkflowIDs []string `json:"workflowIds"`
	Name        string   `json:"name"`
	Payload     any      `json:"payload,omitempty"`
}

// Signal signals each workflow's current run. A workflow that is not running is skipped: the
// news is for a live receiver, and a closed one has no use for it.
func (s *Signals) Signal(ctx context.Context, req SignalRequest) error {
	var errs []error
	for _, id := range req.WorkflowIDs {
		err := s.Client.SignalWorkflow(ctx, id, "", req.Name, req.Payload)
		var notFound *serviceerror.NotFound
		if err != nil && !errors.As(err, &notFound) {
			errs = append(errs, fmt.Errorf("signal %s to workflow %s: %w", req.Name, id, err))
		}
	}
	return errors.Join(errs...)
}
