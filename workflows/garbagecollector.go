package workflows

import (
	"fmt"
	"strings"
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

// SignalGarbageCollectorSettings (GarbageCollectorSettings) changes the period of the running
// garbage collector, or stops it; a worker sends it at start with its own settings.
const SignalGarbageCollectorSettings = "settings"

// GarbageCollectorSettings is the payload of SignalGarbageCollectorSettings.
type GarbageCollectorSettings struct {
	// Every is the new period; at least a second.
	Every Duration `json:"every,omitempty"`
	// Off ends the garbage collector.
	Off bool `json:"off,omitempty"`
}

// GarbageCollectorInput sets the period and carries counters across continue-as-new.
type GarbageCollectorInput struct {
	// Every is the time between two looks; DefaultGarbageCollectEvery when zero.
	Every Duration              `json:"every,omitempty"`
	State GarbageCollectorState `json:"state"`
}

// GarbageCollectorState counts what was reclaimed; the state query returns it.
type GarbageCollectorState struct {
	Looks int `json:"looks"`
	// Reclaimed counts instances terminated and claims deleted.
	Reclaimed         int       `json:"reclaimed"`
	VanishedSignalled int       `json:"vanishedSignalled"`
	LastLook          time.Time `json:"lastLook,omitempty"`
	LastError         string    `json:"lastError,omitempty"`
	// Halted says why the last look reclaimed nothing although it found orphans.
	Halted string `json:"halted,omitempty"`
	// Missing are instances of running workflows EC2 did not know, by when first missed.
	Missing map[string]time.Time `json:"missing,omitempty"`
}

// DefaultGarbageCollectEvery is Karpenter's instance garbage collection period.
const DefaultGarbageCollectEvery = 2 * time.Minute

const (
	// maxLooksPerRun bounds a run's history before it continues as new.
	maxLooksPerRun = 200
	// maxReclaimsAtOnce bounds the reclaims in flight, so a look that finds much does not
	// crowd out the node workflows' own EC2 calls.
	maxReclaimsAtOnce = 10
	// minGarbageCollectEvery is the shortest period a settings signal may ask for.
	minGarbageCollectEvery = time.Second
)

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
	settings := workflow.GetSignalChannelWithOptions(ctx, SignalGarbageCollectorSettings,
		workflow.SignalChannelOptions{Description: "A new period, or off (GarbageCollectorSettings)"})
	off := false
	for looks := 0; ; looks++ {
		if looks >= maxLooksPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return workflow.NewContinueAsNewError(ctx, GarbageCollectorWorkflow, GarbageCollectorInput{Every: Duration(every), State: state})
		}
		before := state
		collectGarbage(ctx, &state)
		workflow.SetCurrentDetails(ctx, garbageDetails(state, state.Reclaimed-before.Reclaimed, state.VanishedSignalled-before.VanishedSignalled))
		timer := workflow.NewTimer(ctx, every)
		for slept := false; !slept && !off; {
			sel := workflow.NewSelector(ctx)
			sel.AddFuture(timer, func(workflow.Future) { slept = true })
			sel.AddReceive(settings, func(c workflow.ReceiveChannel, _ bool) {
				var msg GarbageCollectorSettings
				if !receive(ctx, c, &msg) {
					return
				}
				if msg.Off {
					off = true
				} else if time.Duration(msg.Every) >= minGarbageCollectEvery {
					every = time.Duration(msg.Every) // from the next sleep on
				} else {
					workflow.GetLogger(ctx).Warn("settings ignored: every must be at least 1s", "every", msg.Every)
				}
			})
			sel.Select(ctx)
		}
		if off {
			return nil
		}
	}
}

// collectGarbage is one look and its reclaims, a few at a time.
func collectGarbage(ctx workflow.Context, state *GarbageCollectorState) {
	state.Looks++
	state.LastLook = workflow.Now(ctx)
	var found activities.Garbage
	query := activities.GarbageQuery{Missing: state.Missing}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, garbageOptions()), gcActs.FindGarbage, query).Get(ctx, &found); err != nil {
		state.LastError = "find garbage: " + err.Error()
		return
	}
	state.Missing, state.Halted, state.LastError = found.Missing, found.Halted, strings.Join(found.Errors, "; ")
	actx := workflow.WithActivityOptions(ctx, garbageOptions())
	var reclaims []func() workflow.Future
	for _, o := range found.Instances {
		reclaims = append(reclaims, func() workflow.Future {
			return workflow.ExecuteActivity(actx, gcActs.CollectInstance, o)
		})
	}
	for _, o := range found.Claims {
		reclaims = append(reclaims, func() workflow.Future { return workflow.ExecuteActivity(actx, gcActs.CollectClaim, o) })
	}
	for len(reclaims) > 0 {
		batch := reclaims[:min(maxReclaimsAtOnce, len(reclaims))]
		reclaims = reclaims[len(batch):]
		futures := make([]workflow.Future, 0, len(batch))
		for _, start := range batch {
			futures = append(futures, start())
		}
		settled(ctx, state, futures)
	}
	now := workflow.Now(ctx)
	var signals []workflow.Future
	for _, v := range found.Vanished {
		msg := Interrupt{Kind: InterruptInstanceGone, EventTime: now, Deadline: now, State: v.State, InstanceID: v.InstanceID}
		signals = append(signals, workflow.SignalExternalWorkflow(ctx, v.WorkflowID, "", SignalInterrupt, msg))
	}
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
func settled(ctx workflow.Context, state *GarbageCollectorState, reclaims []workflow.Future) {
	for _, f := range reclaims {
		var reclaimed bool
		if err := f.Get(ctx, &reclaimed); err != nil {
			state.LastError = err.Error()
			continue
		}
		if reclaimed {
			state.Reclaimed++
		}
	}
}

// garbageOptions: a look or a reclaim that keeps failing waits for the next look.
func garbageOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	}
}
