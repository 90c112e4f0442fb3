package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// WorkflowStart is one workflow for StartWorkflows to start.
type WorkflowStart struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	TaskQueue string `json:"taskQueue"`
	// RequestID makes the start idempotent: a start repeated with the same RequestID (a
	// retried activity) finds the run it started, where another start of the same ID is
	// refused as taken.
	RequestID string `json:"requestId"`
	// Summary and Details are the Temporal UI's static summary and details.
	Summary string `json:"summary,omitempty"`
	Details string `json:"details,omitempty"`
	// Keywords are the run's first keyword search attributes.
	Keywords map[string]string `json:"keywords,omitempty"`
	// Input is the workflow's argument, already JSON.
	Input json.RawMessage `json:"input"`
	// TaskTimeout is the run's workflow task timeout; zero leaves the server's 10 s.
	TaskTimeout time.Duration `json:"taskTimeout,omitempty"`
}

// StartOutcome says what became of one WorkflowStart. At most one of Taken and Error is
// set; neither means the workflow runs (started by this request, now or on an earlier try).
type StartOutcome struct {
	// Taken is true when another run already holds (or held) the workflow ID and the reuse
	// policy refuses a second one.
	Taken bool `json:"taken,omitempty"`
	// Error is why the start was refused for good (an invalid request, a missing namespace).
	Error string `json:"error,omitempty"`
}

// startConcurrency bounds the starts in flight: enough to keep the frontend busy while
// each start waits on persistence, few enough not to crowd out the workers' own polls.
const startConcurrency = 16

// startTimeout bounds one start; the activity's retry repeats it, deduplicated.
const startTimeout = 10 * time.Second

// StartWorkflows starts each workflow in the calling workflow's namespace, a few at a time,
// and says for each whether it runs, was taken, or was refused. A Provisioner starts its
// node workflows with it rather than as children: Temporal starts a parent's children one
// at a time under the parent's lock, and so a large plan's nodes started one after the
// other. A failure that may pass (the server unavailable, a timeout) fails the whole
// call, to be retried: the RequestIDs make repeating the starts that succeeded harmless.
func (s *Signals) StartWorkflows(ctx context.Context, starts []WorkflowStart) ([]StartOutcome, error) {
	namespace := activity.GetInfo(ctx).Namespace
	out := make([]StartOutcome, len(starts))
	errs := forEachAtOnce(len(starts), startConcurrency, func(i int) (err error) {
		out[i], err = s.start(ctx, namespace, starts[i])
		return err
	})
	failed := 0
	var first error
	for _, err := range errs {
		if err != nil {
			failed++
			first = cmp.Or(first, err)
		}
	}
	if s.Started != nil {
		for i, o := range out {
			if errs[i] == nil && !o.Taken && o.Error == "" {
				s.Started(starts[i])
			}
		}
	}
	if failed > 0 {
		return nil, fmt.Errorf("%d of %d starts failed for now, the first: %w", failed, len(starts), first)
	}
	return out, nil
}

// start starts one workflow: through the SDK client, eagerly, with RequestIDInterceptor
// giving the request its RequestID; otherwise by a request made directly, the SDK client's
// ExecuteWorkflow picking a new RequestID on every call.
func (s *Signals) start(ctx context.Context, namespace string, w WorkflowStart) (StartOutcome, error) {
	if err := w.check(); err != nil {
		return StartOutcome{Error: err.Error()}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var err error
	// Only a first attempt asks for eager execution: the server hands a repeated RequestID's
	// first task back again while it is still on its first attempt, and this worker would run
	// that task (a node's launch) twice.
	if s.EagerStart && activity.GetInfo(ctx).Attempt <= 1 {
		err = s.startEagerly(ctx, w)
	} else {
		req, buildErr := startRequest(namespace, s.Identity, w)
		if buildErr != nil {
			return StartOutcome{Error: buildErr.Error()}, nil
		}
		_, err = s.Client.WorkflowService().StartWorkflowExecution(ctx, req)
	}
	var (
		taken        *serviceerror.WorkflowExecutionAlreadyStarted
		invalid      *serviceerror.InvalidArgument
		noNamespace  *serviceerror.NamespaceNotFound
		denied       *serviceerror.PermissionDenied
		precondition *serviceerror.FailedPrecondition
	)
	switch {
	case err == nil:
		return StartOutcome{}, nil
	case errors.As(err, &taken):
		return StartOutcome{Taken: true}, nil
	case errors.As(err, &invalid), errors.As(err, &noNamespace), errors.As(err, &denied), errors.As(err, &precondition):
		return StartOutcome{Error: fmt.Sprintf("start workflow %s: %v", w.ID, err)}, nil
	default:
		return StartOutcome{}, fmt.Errorf("start workflow %s: %w", w.ID, err)
	}
}

// startEagerly starts the workflow with the SDK client asking for its first task inline,
// which the client hands to this process's worker when it has a free slot.
func (s *Signals) startEagerly(ctx context.Context, w WorkflowStart) error {
	var keywords []temporal.SearchAttributeUpdate
	for _, name := range slices.Sorted(maps.Keys(w.Keywords)) {
		keywords = append(keywords, temporal.NewSearchAttributeKeyKeyword(name).ValueSet(w.Keywords[name]))
	}
	id := &requestID{value: w.RequestID}
	_, err := s.Client.ExecuteWorkflow(context.WithValue(ctx, requestIDKey{}, id), client.StartWorkflowOptions{
		ID:                                       w.ID,
		TaskQueue:                                w.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowTaskTimeout:                      w.TaskTimeout,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(keywords...),
		StaticSummary:                            w.Summary,
		StaticDetails:                            w.Details,
		EnableEagerStart:                         true,
	}, w.Type, w.Input)
	if err == nil && !id.applied.Load() {
		// A programming error: the run started under a RequestID of the SDK's, so a retry
		// would find it taken.
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"start workflow %s: the Temporal client was dialled without RequestIDInterceptor", w.ID), "NotIdempotent", nil)
	}
	return err
}

// requestIDKey is the context key of the RequestID a start is made with.
type requestIDKey struct{}

// requestID is a start's RequestID, and whether RequestIDInterceptor put it on the request.
type requestID struct {
	value   string
	applied atomic.Bool
}

// RequestIDInterceptor gives a StartWorkflowExecutionRequest the RequestID its context
// carries (Signals' eager starts), as the SDK client's ExecuteWorkflow has no option for
// it. Dial the client Signals starts workflows with through it.
func RequestIDInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if start, ok := req.(*workflowservice.StartWorkflowExecutionRequest); ok {
			if id, ok := ctx.Value(requestIDKey{}).(*requestID); ok {
				start.RequestId = id.value
				id.applied.Store(true)
			}
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// check refuses a start that lacks what every start needs.
func (w WorkflowStart) check() error {
	if w.ID == "" || w.Type == "" || w.TaskQueue == "" || w.RequestID == "" {
		return fmt.Errorf("start workflow %q: id, type, taskQueue and requestId are all required", w.ID)
	}
	return nil
}

// startRequest builds the request the SDK client would, with the caller's RequestID, a
// workflow ID that a closed run keeps (reuse rejected), and the same encodings: JSON
// payloads, typed keyword search attributes, UI metadata as payloads.
func startRequest(namespace, identity string, w WorkflowStart) (*workflowservice.StartWorkflowExecutionRequest, error) {
	dc := converter.GetDefaultDataConverter()
	input, err := dc.ToPayloads(w.Input)
	if err != nil {
		return nil, fmt.Errorf("start workflow %s: encode input: %w", w.ID, err)
	}
	req := &workflowservice.StartWorkflowExecutionRequest{
		Namespace:             namespace,
		WorkflowId:            w.ID,
		WorkflowType:          &commonpb.WorkflowType{Name: w.Type},
		TaskQueue:             &taskqueuepb.TaskQueue{Name: w.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Input:                 input,
		Identity:              identity,
		RequestId:             w.RequestID,
		WorkflowIdReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
	if w.TaskTimeout > 0 {
		req.WorkflowTaskTimeout = durationpb.New(w.TaskTimeout)
	}
	if len(w.Keywords) > 0 {
		req.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}}
		for name, value := range w.Keywords {
			p, err := dc.ToPayload(value)
			if err != nil {
				return nil, fmt.Errorf("start workflow %s: encode search attribute %s: %w", w.ID, name, err)
			}
			p.Metadata["type"] = []byte(enumspb.INDEXED_VALUE_TYPE_KEYWORD.String())
			req.SearchAttributes.IndexedFields[name] = p
		}
	}
	if w.Summary != "" || w.Details != "" {
		req.UserMetadata = &sdkpb.UserMetadata{}
		if w.Summary != "" {
			if req.UserMetadata.Summary, err = dc.ToPayload(w.Summary); err != nil {
				return nil, fmt.Errorf("start workflow %s: encode summary: %w", w.ID, err)
			}
		}
		if w.Details != "" {
			if req.UserMetadata.Details, err = dc.ToPayload(w.Details); err != nil {
				return nil, fmt.Errorf("start workflow %s: encode details: %w", w.ID, err)
			}
		}
	}
	return req, nil
}
