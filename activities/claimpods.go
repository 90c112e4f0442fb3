package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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

// claimReadsAtOnce bounds the histories PodsOf reads at the same time.
const claimReadsAtOnce = 8

// PodsOf returns the pod keys of each claim. A claim whose workflow is gone, or whose
// history does not hold a node workflow's input (nothing will ever read from it), holds
// none. Histories not cached are read a few at a time; those read are cached even when
// another read fails, so a retry reads only what is missing. A read that fails (Temporal
// unreachable, throttled) fails the call: a plan that did not know a claim's pods would
// launch them a second node. The cache keeps only the claims asked about, so it stays as
// small as the claims in flight.
func (n *NodeWorkflowPods) PodsOf(ctx context.Context, claims []string) (map[string][]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string][]string, len(claims))
	var missing []string
	for _, claim := range claims {
		if pods, ok := n.pods[claim]; ok {
			out[claim] = pods
		} else {
			missing = append(missing, claim)
		}
	}
	read := make([][]string, len(missing))
	errs := forEachAtOnce(len(missing), claimReadsAtOnce, func(i int) (err error) {
		read[i], err = n.startedWith(ctx, missing[i])
		return err
	})
	var failed []error
	for i, claim := range missing {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			continue
		}
		out[claim] = read[i]
	}
	n.pods = maps.Clone(out)
	if len(failed) > 0 {
		return nil, fmt.Errorf("read the pods of %d of %d in-flight claims: %w", len(failed), len(claims), errors.Join(failed[:min(len(failed), 3)]...))
	}
	return out, nil
}

// Started remembers the pods of a node workflow this worker just started (Signals.Started),
// so that the next plan need not read its history: the plan after a large scale-out's first
// would otherwise read hundreds of them, a few at a time. The claim is taken from the start's
// input as startedWith takes it from the history, and only when the workflow ID is its claim's.
func (n *NodeWorkflowPods) Started(w WorkflowStart) {
	var in struct {
		Claim Claim `json:"claim"`
	}
	if json.Unmarshal(w.Input, &in) != nil || in.Claim.Name == "" || n.WorkflowID(in.Claim.Name) != w.ID {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pods == nil {
		n.pods = map[string][]string{}
	}
	n.pods[in.Claim.Name] = in.Claim.Pods
}

// startedWith decodes the claim from the first event of its node workflow's history. Only a
// failure to read is an error: a history that is gone or does not start with a node
// workflow's input holds no pods, and reading it again would not change that.
func (n *NodeWorkflowPods) startedWith(ctx context.Context, claim string) ([]string, error) {
	id := n.WorkflowID(claim)
	events := n.Client.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !events.HasNext() {
		return nil, nil
	}
	first, err := events.Next()
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim %s: read the start of workflow %s: %w", claim, id, err)
	}
	var in struct {
		Claim Claim `json:"claim"`
	}
	attrs := first.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in) != nil {
		return nil, nil
	}
	return in.Claim.Pods, nil
}
