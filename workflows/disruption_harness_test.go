package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// sentSignal is a signal a controller sent to another workflow, and when (after start).
type sentSignal struct {
	at         time.Duration
	workflowID string
	name       string
	arg        any
	// each: sent by the SignalEach local activity, not by a signal command.
	each bool
}

// errSignalEachFails, returned by answerSignals' answer for a signal of SignalEach, fails
// the whole call instead of that signal.
var errSignalEachFails = errors.New("the SignalEach call fails")

// recordSignals mocks every external signal to succeed and hands each to record.
func recordSignals(env *testsuite.TestWorkflowEnvironment, start time.Time, record func(sentSignal)) {
	answerSignals(env, start, func(s sentSignal) error { record(s); return nil })
}

// answerSignals mocks every external signal, whether a signal command or one of a
// SignalEach call, handing each to answer for the error it gets.
func answerSignals(env *testsuite.TestWorkflowEnvironment, start time.Time, answer func(sentSignal) error) {
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", mock.Anything, mock.Anything).Return(
		func(_, workflowID, _ string, name string, arg any) error {
			return answer(sentSignal{at: env.Now().Sub(start), workflowID: workflowID, name: name, arg: arg})
		})
	env.OnActivity(signalActs.SignalEach, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.SignalRequest) ([]string, error) {
			why := make([]string, len(req.WorkflowIDs))
			for i, id := range req.WorkflowIDs {
				err := answer(sentSignal{at: env.Now().Sub(start), workflowID: id, name: req.Name, arg: req.Payload, each: true})
				if errors.Is(err, errSignalEachFails) {
					return nil, err
				}
				if err != nil {
					why[i] = err.Error()
				}
			}
			return why, nil
		}).Maybe()
}

// queryStateAs answers the workflow's state query, decoded as T.
func queryStateAs[T any](t *testing.T, env *testsuite.TestWorkflowEnvironment) T {
	t.Helper()
	var s T
	v, err := env.QueryWorkflow(QueryState)
	if err != nil {
		t.Fatalf("query state: %v", err)
	}
	if err := v.Get(&s); err != nil {
		t.Fatalf("decode state: %v", err)
	}
	return s
}

// continuedAs returns the input a workflow continued as new with, failing the test if it
// ended any other way.
func continuedAs[T any](t *testing.T, env *testsuite.TestWorkflowEnvironment) T {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next T
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatalf("decode continue-as-new input: %v", err)
	}
	return next
}

// findAnswer is one scripted FindDisruption result.
type findAnswer struct {
	decision activities.DisruptionDecision
	err      error
}

// validateCall is one ValidateDisruption call: when, and the command it re-checked.
type validateCall struct {
	at  time.Duration
	cmd disruption.Command
}

// replacementStart is a NodeLifecycle the controller started as a replacement.
type replacementStart struct {
	at time.Duration
	id string
	in NodeLifecycleInput
}

// disruptionRun drives the disruption controller with scripted decisions and records what
// it looked up, validated, started and signalled.
type disruptionRun struct {
	env   *testsuite.TestWorkflowEnvironment
	start time.Time
	// finds are answered in order; nothing to do once used up.
	finds []findAnswer
	// onFind, when set, is called with each lookup's number (1, 2, ...) as it is made.
	onFind func(n int)
	// invalid and validateErr are every validation's answer; invalidAt, when set, answers
	// the validations by their number (1, 2, ...) instead of invalid.
	invalid     string
	validateErr error
	invalidAt   func(n int) string
	// taintErr, recheckInvalid and recheckErr answer every taint and re-check; signalErr
	// fails the signals to some workflows, by id.
	taintErr       error
	recheckInvalid string
	recheckErr     error
	signalErr      map[string]error
	// signalEachFails fails every SignalEach call as a whole.
	signalEachFails bool
	// goneAfter is how long the nodes of a decision carried out take to go; goneErr fails
	// every wait for them.
	goneAfter time.Duration
	goneErr   error
	// goneLeft is how many nodes every wait for them to go answers are still there.
	goneLeft int
	// beforeDecidingAhead runs the controller as a workflow begun before changeDecideAhead.
	beforeDecidingAhead bool

	mu sync.Mutex // mocks may run on other goroutines
	// goneWaits are the waits for a decision's nodes to go: when each began, and the nodes.
	goneWaits []candidateStep
	// done is set once the controller has finished: an activity its cancellation left
	// running records nothing after it, so the test reads what the mocks recorded safely.
	done      bool
	findTimes []time.Duration
	// findsAhead are, for each lookup in findTimes, the nodes it was told are leaving
	// (FindDisruptionAhead), space-separated; "" for FindDisruption.
	findsAhead   []string
	validations  []validateCall
	replacements []replacementStart
	signals      []sentSignal
	// announced are the events recorded on the decision's nodes, with the nodes.
	announced []activities.DisruptionAnnouncement
	// steps are what was done to the candidates and for them, in order: taint, launch,
	// recheck, disrupt and untaint.
	steps []candidateStep
}

// candidateStep is one thing done to a decision's candidates, or for them.
type candidateStep struct {
	at    time.Duration
	what  string
	nodes string // the nodes it was done to, space-separated
}

func (r *disruptionRun) step(what string, nodes ...string) {
	r.steps = append(r.steps, candidateStep{at: r.since(), what: what, nodes: strings.Join(nodes, " ")})
}

func refNames(refs []activities.NodeRef) []string {
	names := make([]string, len(refs))
	for i, n := range refs {
		names[i] = n.Name
	}
	return names
}

func newDisruptionRun(t *testing.T, finds ...findAnswer) *disruptionRun {
	t.Helper()
	return newDisruptionRunIn(t, &testsuite.WorkflowTestSuite{}, finds...)
}

// newDisruptionRunIn is newDisruptionRun in the given suite (one with a metrics handler).
func newDisruptionRunIn(t *testing.T, suite *testsuite.WorkflowTestSuite, finds ...findAnswer) *disruptionRun {
	t.Helper()
	r := &disruptionRun{env: suite.NewTestWorkflowEnvironment(), finds: finds}
	r.start = r.env.Now()
	r.env.RegisterWorkflow(DisruptionWorkflow)
	r.env.RegisterWorkflow(NodeLifecycleWorkflow)
	return r
}

func (r *disruptionRun) since() time.Duration { return r.env.Now().Sub(r.start) }

// execute mocks the activities, the replacement node workflow and signals, and runs the
// controller to its end.
func (r *disruptionRun) execute(in DisruptionInput) {
	var d *activities.Disruption
	if r.beforeDecidingAhead {
		r.env.OnGetVersion(changeDecideAhead, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	find := func(leaving []string) (activities.DisruptionDecision, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.done {
			return activities.DisruptionDecision{}, nil // an activity the controller's cancellation left running
		}
		r.findTimes = append(r.findTimes, r.since())
		r.findsAhead = append(r.findsAhead, strings.Join(leaving, " "))
		if r.onFind != nil {
			r.onFind(len(r.findTimes))
		}
		if len(r.finds) == 0 {
			return activities.DisruptionDecision{}, nil
		}
		a := r.finds[0]
		r.finds = r.finds[1:]
		return a.decision, a.err
	}
	r.env.OnActivity(d.FindDisruption, mock.Anything).Return(func(context.Context) (activities.DisruptionDecision, error) {
		return find(nil)
	})
	r.env.OnActivity(d.FindDisruptionAhead, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.DisruptionAheadRequest) (activities.DisruptionDecision, error) {
			return find(req.Leaving)
		}).Maybe()
	r.env.OnActivity(d.AnnounceDisruption, mock.Anything, mock.Anything).Return(func(_ context.Context, a activities.DisruptionAnnouncement) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.done {
			return nil // an activity the controller's cancellation left running
		}
		r.announced = append(r.announced, a)
		return nil
	})
	r.env.OnActivity(d.ValidateDisruption, mock.Anything, mock.Anything).Return(func(_ context.Context, cmd disruption.Command) (string, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.done {
			return "", nil // an activity the controller's cancellation left running
		}
		r.validations = append(r.validations, validateCall{at: r.since(), cmd: cmd})
		if r.invalidAt != nil {
			return r.invalidAt(len(r.validations)), r.validateErr
		}
		return r.invalid, r.validateErr
	})
	r.env.OnActivity(d.WaitNodesGone, mock.Anything, mock.Anything).Return(func(_ context.Context, req activities.NodesGoneRequest) (int, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.done {
			return 0, nil // an activity the controller's cancellation left running
		}
		what := "wait " + time.Duration(req.Within).String()
		if req.Enough > 0 {
			what += fmt.Sprintf(" until %d gone", req.Enough)
		}
		r.goneWaits = append(r.goneWaits, candidateStep{at: r.since() - r.goneAfter, what: what, nodes: strings.Join(req.Nodes, " ")})
		return r.goneLeft, r.goneErr
	}).After(r.goneAfter)
	r.env.OnActivity(d.TaintCandidates, mock.Anything, mock.Anything).Return(func(_ context.Context, nodes []activities.NodeRef) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.done {
			return nil // an activity the controller's cancellation left running
		}
		r.step("taint", refNames(nodes)...)
		return r.taintErr
	})
	r.env.OnActivity(d.UntaintCandidates, mock.Anything, mock.Anything).Return(func(_ context.Context, nodes []activities.NodeRef) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.done {
			return nil // an activity the controller's cancellation left running
		}
		r.step("untaint", refNames(nodes)...)
		return nil
	})
	r.env.OnActivity(d.RecheckDisruption, mock.Anything, mock.Anything).Return(func(_ context.Context, cmd disruption.Command) (string, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.done {
			return "", nil // an activity the controller's cancellation left running
		}
		r.step("recheck", cmd.Nodes...)
		return r.recheckInvalid, r.recheckErr
	})
	r.env.OnWorkflow(NodeLifecycleWorkflow, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in NodeLifecycleInput) (NodeLifecycleResult, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.replacements = append(r.replacements, replacementStart{at: r.since(), id: workflow.GetInfo(ctx).WorkflowExecution.ID, in: in})
			r.step("launch")
			return NodeLifecycleResult{}, nil
		})
	answerSignals(r.env, r.start, func(s sentSignal) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if s.each && r.signalEachFails {
			return errSignalEachFails
		}
		if err := r.signalErr[s.workflowID]; err != nil {
			return err
		}
		r.signals = append(r.signals, s)
		if s.name == SignalDisrupt {
			r.step("disrupt", s.workflowID)
		}
		return nil
	})
	r.env.ExecuteWorkflow(DisruptionWorkflow, in)
	r.mu.Lock()
	r.done = true // from here on the test reads what the mocks recorded
	r.mu.Unlock()
}

// run executes the controller until it is cancelled at end.
func (r *disruptionRun) run(t *testing.T, end time.Duration, in DisruptionInput) {
	t.Helper()
	r.at(end, r.env.CancelWorkflow)
	r.execute(in)
	if !r.env.IsWorkflowCompleted() {
		t.Fatal("disruption controller did not finish")
	}
}

func (r *disruptionRun) at(d time.Duration, fn func()) { r.env.RegisterDelayedCallback(fn, d) }

// stateAt records the state query's answer at d into *into.
func (r *disruptionRun) stateAt(t *testing.T, d time.Duration, into *DisruptionState) {
	t.Helper()
	r.at(d, func() { *into = queryStateAs[DisruptionState](t, r.env) })
}

// disrupts returns the disrupt signals sent.
func (r *disruptionRun) disrupts() []sentSignal {
	var out []sentSignal
	for _, s := range r.signals {
		if s.name == SignalDisrupt {
			out = append(out, s)
		}
	}
	return out
}

// replacementClaim is the claim name of the only replacement started so far.
func (r *disruptionRun) replacementClaim(t *testing.T) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.replacements) != 1 {
		t.Fatalf("%d replacements started, want 1", len(r.replacements))
	}
	return r.replacements[0].in.Claim.Name
}

// replacementReadyAt tells the controller, at d, that the replacement's node is Ready.
func (r *disruptionRun) replacementReadyAt(t *testing.T, d time.Duration) {
	r.at(d, func() {
		r.env.SignalWorkflow(SignalNodeReady, NodeReady{Claim: r.replacementClaim(t), NodeName: "ip-new"})
	})
}

// methodOf is the method the engine uses for each reason in these tests.
var methodOf = map[string]string{
	disruption.ReasonEmpty:         disruption.MethodEmptiness,
	disruption.ReasonDrifted:       disruption.MethodDrift,
	disruption.ReasonUnderutilized: disruption.MethodSingleNodeConsolidation,
}

// decided is a decision to disrupt the nodes of the given claims (node ip-<claim>) for reason.
func decided(reason string, savings float64, claims ...string) findAnswer {
	cmd := &disruption.Command{Method: methodOf[reason], Reason: reason, Savings: savings}
	var refs []activities.NodeRef
	for _, c := range claims {
		cmd.Nodes = append(cmd.Nodes, "ip-"+c)
		refs = append(refs, activities.NodeRef{Name: "ip-" + c, Claim: c})
	}
	return findAnswer{decision: activities.DisruptionDecision{Command: cmd, Nodes: refs}}
}

// withReplacement adds a replacement claim from pool to a decision.
func withReplacement(a findAnswer, pool string) findAnswer {
	c := claimFor(pool)
	a.decision.Replacement = &c
	return a
}
