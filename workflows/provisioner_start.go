package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

// changeStartNodesFromActivity versions starting node workflows from a local activity
// rather than as children. Temporal creates a parent's children one at a time while it
// holds the parent's lock (about 250 ms each on a busy 2-core lab), so a plan of 300
// claims started its last node workflow more than a minute after its first; started from
// the client, many start at once and the Provisioner's history takes one marker per call
// of up to startsPerCall instead of two events per child.
const changeStartNodesFromActivity = "start-nodes-from-activity"

// nodeWorkflowType is NodeLifecycleWorkflow's registered name, for starts by name.
const nodeWorkflowType = "NodeLifecycleWorkflow"

// startsPerCall bounds the starts of one StartWorkflows call, so that one attempt fits its
// start-to-close timeout even when each start takes seconds; a plan's calls run at once.
const startsPerCall = 128

// startNodes starts a NodeLifecycle per claim, all at once, and nominates each started
// claim's pods. A claim whose generated name is taken is renamed, up to claimNameAttempts
// names; a claim whose start was refused has its pods requeued. A claim whose start stayed
// unknown (the starts kept failing for a reason that may pass, past every retry) is counted
// in flight all the same: had it been requeued, a node workflow that did start would launch
// a second node for its pods, while the planner reads a claim's pods from its node workflow
// and finds none for one that never started. It returns the started claims, named.
func (p *provisioner) startNodes(ctx workflow.Context, claims []activities.Claim) []activities.Claim {
	if workflow.GetVersion(ctx, changeStartNodesFromActivity, workflow.DefaultVersion, 1) < 1 {
		return p.startNodeChildren(ctx, claims)
	}
	var started []activities.Claim
	pending := claims
	for attempt := 1; len(pending) > 0; attempt++ {
		named := make([]activities.Claim, 0, len(pending))
		starts := make([]activities.WorkflowStart, 0, len(pending))
		for _, c := range pending {
			c.Name = p.nextClaimName(ctx, c.NodePool)
			start, err := nodeWorkflowStart(ctx, c)
			if err != nil {
				p.startFailed(ctx, c, err)
				continue
			}
			named, starts = append(named, c), append(starts, start)
		}
		outcomes, errs := startWorkflows(ctx, starts)
		pending = nil
		for i, c := range named {
			switch {
			case errs[i] != nil:
				workflow.GetLogger(ctx).Error("node workflow start unknown; its claim counts in flight", "claim", c.Name, "error", errs[i])
				p.nominate(ctx, c)
				started = append(started, c)
			case outcomes[i].Taken && attempt < claimNameAttempts:
				pending = append(pending, c) // the generated name is taken: try the next one
			case outcomes[i].Taken:
				p.startFailed(ctx, c, fmt.Errorf("%d generated names were taken, the last %s", claimNameAttempts, c.Name))
			case outcomes[i].Error != "":
				p.startFailed(ctx, c, errors.New(outcomes[i].Error))
			default:
				p.nominate(ctx, c)
				started = append(started, c)
			}
		}
	}
	return started
}

// startWorkflows runs the starts in calls of at most startsPerCall, all at once, and returns
// each start's outcome, or the error of the call it was in.
func startWorkflows(ctx workflow.Context, starts []activities.WorkflowStart) ([]activities.StartOutcome, []error) {
	outcomes := make([]activities.StartOutcome, len(starts))
	errs := make([]error, len(starts))
	lctx := workflow.WithLocalActivityOptions(ctx, startNodesOptions())
	type call struct {
		from, to int
		future   workflow.Future
	}
	var calls []call
	for from := 0; from < len(starts); from += startsPerCall {
		to := min(from+startsPerCall, len(starts))
		calls = append(calls, call{from, to, workflow.ExecuteLocalActivity(lctx, signalActs.StartWorkflows, starts[from:to])})
	}
	for _, c := range calls {
		var out []activities.StartOutcome
		err := c.future.Get(ctx, &out)
		if err == nil && len(out) != c.to-c.from {
			err = fmt.Errorf("%d outcomes for %d starts", len(out), c.to-c.from)
		}
		for i := c.from; i < c.to; i++ {
			if err != nil {
				errs[i] = err
			} else {
				outcomes[i] = out[i-c.from]
			}
		}
	}
	return outcomes, errs
}

// nodeWorkflowTaskTimeout is a node workflow's task timeout. Its first task runs the claim's
// NodeClaim write and launch as local activities, which take seconds while a scale-out of
// hundreds of nodes queues them (a median 8 s at 5,000 pods). At Temporal's 10 s default, 174
// tasks of that scale-out outlived their timeout and ran again from history; at 30 s, 1 did.
const nodeWorkflowTaskTimeout = 30 * time.Second

// nodeWorkflowStart is the start of a claim's node workflow, with what a child would have:
// its ID, static summary and details, and first search attributes. Its RequestID, the
// Provisioner's run and the claim's name, lets a retried start find the run it started.
func nodeWorkflowStart(ctx workflow.Context, c activities.Claim) (activities.WorkflowStart, error) {
	input, err := json.Marshal(NodeLifecycleInput{Claim: c, Listed: true})
	if err != nil {
		return activities.WorkflowStart{}, fmt.Errorf("encode the node workflow's input: %w", err)
	}
	return activities.WorkflowStart{
		ID: NodeWorkflowID(c.Name), Type: nodeWorkflowType, TaskQueue: TaskQueue,
		RequestID: workflow.GetInfo(ctx).WorkflowExecution.RunID + "/" + c.Name,
		Summary:   nodeSummary(c), Details: nodeStaticDetails(c, ""),
		Keywords: map[string]string{
			SearchAttrNodePool.GetName():  c.NodePool,
			SearchAttrNodePhase.GetName(): string(PhaseLaunching),
		},
		Input: input, TaskTimeout: nodeWorkflowTaskTimeout,
	}, nil
}

// startNodesOptions: starts are idempotent, so a failure that may pass is retried whole for
// as long as a claim's pods would wait anyway; past that, the claims' starts are unknown.
func startNodesOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second},
	}
}

// startFailed requeues the pods of a claim whose node workflow did not start.
func (p *provisioner) startFailed(ctx workflow.Context, c activities.Claim, err error) {
	workflow.GetLogger(ctx).Error("start node workflow", "claim", c.Name, "error", err)
	p.onClaimFailed(ctx, ClaimFailed{Claim: c.Name, Pods: c.Pods, Reason: err.Error()})
}

// startNodeChildren is startNodes for runs recorded before changeStartNodesFromActivity:
// each node workflow a child of the Provisioner.
func (p *provisioner) startNodeChildren(ctx workflow.Context, claims []activities.Claim) []activities.Claim {
	type start struct {
		claim    activities.Claim
		attempts int
		future   workflow.ChildWorkflowFuture
	}
	starts := make([]*start, len(claims))
	launch := func(s *start) {
		s.claim.Name = p.nextClaimName(ctx, s.claim.NodePool)
		s.attempts++
		cctx := workflow.WithChildOptions(ctx, nodeWorkflowOptions(s.claim, ""))
		s.future = workflow.ExecuteChildWorkflow(cctx, NodeLifecycleWorkflow, NodeLifecycleInput{Claim: s.claim, Listed: true})
	}
	for i, c := range claims {
		starts[i] = &start{claim: c}
		launch(starts[i])
	}
	var started []activities.Claim
	for _, s := range starts {
		for {
			err := s.future.GetChildWorkflowExecution().Get(ctx, nil)
			var taken *temporal.ChildWorkflowExecutionAlreadyStartedError
			if errors.As(err, &taken) && s.attempts < claimNameAttempts {
				launch(s) // the generated name is taken: try the next one
				continue
			}
			if err != nil {
				p.startFailed(ctx, s.claim, err)
				break
			}
			p.nominate(ctx, s.claim)
			started = append(started, s.claim)
			break
		}
	}
	return started
}
