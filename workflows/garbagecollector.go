package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

// GarbageCollectorID is the workflow id of the singleton garbage collector.
const GarbageCollectorID = "garbage-collector"

// InterruptInstanceGone is the Kind of the interrupt the garbage collector sends a node
// workflow whose instance EC2 has terminated: the drain is forceful and due at once.
const InterruptInstanceGone = "InstanceTerminated"

// GarbageCollectorInput sets the period and carries counters across continue-as-new.
type GarbageCollectorInput struct {
	// Every is the time between two looks; DefaultGarbageCollectEvery when zero.
	Every Duration              `json:"every,omitempty"`
	State GarbageCollectorState `json:"state"`
}

// GarbageCollectorState counts what was reclaimed; the state query returns it.
type GarbageCollectorState struct {
	Looks              int       `json:"looks"`
	InstancesReclaimed int       `json:"instancesReclaimed"`
	ClaimsReclaimed    int       `json:"claimsReclaimed"`
	VanishedSignalled  int       `json:"vanishedSignalled"`
	LastLook           time.Time `json:"lastLook,omitempty"`
	LastError          string    `json:"lastError,omitempty"`
}

// DefaultGarbageCollectEvery is Karpenter's instance garbage collection period.
const DefaultGarbageCollectEvery = 2 * time.Minute

// maxLooksPerRun bounds a run's history before it continues as new.
const maxLooksPerRun = 200

var gcActs *activities.GarbageCollector

// GarbageCollectorWorkflow looks for what no running node workflow accounts for, every
// Every, and reclaims it: instances nobody runs (a lost launch answer, a workflow terminated
// or reset by hand) are terminated; a Node or NodeClaim whose workflow has ended is deleted
// with its instance; a node workflow whose instance EC2 terminated is told so, as an
// interruption due now. A failed reclaim is retried by the next look.
func GarbageCollectorWorkflow(ctx workflow.Context, in GarbageCollectorInput) error {
	every := time.Duration(in.Every)
	if every <= 0 {
		every = DefaultGarbageCollectEvery
	}
	state := in.State
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryState,
		func() (GarbageCollectorState, error) { return state, nil },
		workflow.QueryHandlerOptions{Description: "What the garbage collector has reclaimed"}); err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	for looks := 0; ; looks++ {
		if looks >= maxLooksPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return workflow.NewContinueAsNewError(ctx, GarbageCollectorWorkflow, GarbageCollectorInput{Every: Duration(every), State: state})
		}
		collectGarbage(ctx, &state)
		if err := workflow.Sleep(ctx, every); err != nil {
			return err
		}
	}
}

// collectGarbage is one look and its reclaims, side by side.
func collectGarbage(ctx workflow.Context, state *GarbageCollectorState) {
	state.Looks++
	state.LastLook = workflow.Now(ctx)
	var found activities.Garbage
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, garbageOptions()), gcActs.FindGarbage).Get(ctx, &found); err != nil {
		state.LastError = "find garbage: " + err.Error()
		return
	}
	state.LastError = ""
	actx := workflow.WithActivityOptions(ctx, garbageOptions())
	var instances, claims, signals []workflow.Future
	for _, o := range found.Instances {
		instances = append(instances, workflow.ExecuteActivity(actx, gcActs.CollectInstance, o))
	}
	for _, o := range found.Claims {
		claims = append(claims, workflow.ExecuteActivity(actx, gcActs.CollectClaim, o))
	}
	now := workflow.Now(ctx)
	for _, v := range found.Vanished {
		msg := Interrupt{Kind: InterruptInstanceGone, EventTime: now, Deadline: now, State: v.State}
		signals = append(signals, workflow.SignalExternalWorkflow(ctx, v.WorkflowID, "", SignalInterrupt, msg))
	}
	state.InstancesReclaimed += settled(ctx, state, instances)
	state.ClaimsReclaimed += settled(ctx, state, claims)
	for _, f := range signals {
		if err := f.Get(ctx, nil); err != nil {
			state.LastError = err.Error()
			continue
		}
		state.VanishedSignalled++
	}
}

// settled waits for every reclaim and counts those that reclaimed something; the last
// failure is kept for the state query.
func settled(ctx workflow.Context, state *GarbageCollectorState, reclaims []workflow.Future) int {
	n := 0
	for _, f := range reclaims {
		var reclaimed bool
		if err := f.Get(ctx, &reclaimed); err != nil {
			state.LastError = err.Error()
			continue
		}
		if reclaimed {
			n++
		}
	}
	return n
}

// garbageOptions: a look or a reclaim that keeps failing waits for the next look.
func garbageOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	}
}
