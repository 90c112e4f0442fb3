package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	// Started, when set, is told of each workflow StartWorkflows started with its input, by
	// this call or by an earlier try of it (a run that may have closed since), before the
	// call returns.
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

// SignalsAtOnce bounds the signals SignalEach has in flight: a disruption decision tells a
// hundred workflows or more.
const SignalsAtOnce = 16

// SignalTimeout bounds each signal of SignalEach, so that the call answers for every
// workflow within ceil(n / SignalsAtOnce) of them, even while the server is slow.
const SignalTimeout = 10 * time.Second

// SignalEach signals each workflow's current run, a few at a time, and says for each, in
// order, why it was not told: "" when it was. A workflow that is not running was not told.
// It fails only when the request holds no signal name; a signal that failed is reported in
// its place, for the caller to handle as a receiver it could not reach.
func (s *Signals) SignalEach(ctx context.Context, req SignalRequest) ([]string, error) {
	if req.Name == "" {
		return nil, errors.New("signal each: the request names no signal")
	}
	errs := forEachAtOnce(len(req.WorkflowIDs), SignalsAtOnce, func(i int) error {
		ctx, cancel := context.WithTimeout(ctx, SignalTimeout)
		defer cancel()
		return s.Client.SignalWorkflow(ctx, req.WorkflowIDs[i], "", req.Name, req.Payload)
	})
	out := make([]string, len(errs))
	for i, err := range errs {
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			out[i] = "not running"
		case err != nil:
			out[i] = fmt.Sprintf("signal %s to workflow %s: %v", req.Name, req.WorkflowIDs[i], err)
		}
	}
	return out, nil
}
