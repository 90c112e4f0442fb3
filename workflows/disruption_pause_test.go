package workflows

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// pauseAt signals the controller to pause at d.
func (r *disruptionRun) pauseAt(d time.Duration, msg PauseDisruption) {
	r.at(d, func() { r.env.SignalWorkflow(SignalPauseDisruption, msg) })
}

// resumeAt signals the controller to resume at d.
func (r *disruptionRun) resumeAt(d time.Duration) {
	r.at(d, func() { r.env.SignalWorkflow(SignalResumeDisruption, ResumeDisruption{By: "bob"}) })
}

// stepNames are what was done to the candidates, in order.
func (r *disruptionRun) stepNames() []string {
	var out []string
	for _, s := range r.steps {
		out = append(out, s.what)
	}
	return out
}

func TestDisruptionPausedWithholdsConsolidationAndDrift(t *testing.T) {
	for _, reason := range []string{disruption.ReasonEmpty, disruption.ReasonUnderutilized, disruption.ReasonDrifted} {
		t.Run(reason+" nodes are looked at but not disrupted", func(t *testing.T) {
			r := newDisruptionRun(t, decided(reason, 0.2, "default-aaaaa", "default-bbbbb"))
			r.pauseAt(5*time.Second, PauseDisruption{Reason: "incident 42", By: "alice"})
			var st DisruptionState
			r.stateAt(t, time.Minute, &st)
			r.run(t, time.Minute, DisruptionInput{})

			if len(r.findTimes) == 0 {
				t.Fatal("a paused controller stopped looking; it should look and withhold")
			}
			if len(r.validations) != 0 || len(r.steps) != 0 || len(r.signals) != 0 || len(r.replacements) != 0 {
				t.Errorf("validations %v, steps %v, signals %v, replacements %v: want none while paused", r.validations, r.steps, r.signals, r.replacements)
			}
			want := DisruptionPause{Since: r.start.Add(5 * time.Second), Reason: "incident 42", By: "alice", Withheld: 1,
				LastWithheld: reason + ": ip-default-aaaaa ip-default-bbbbb"}
			if st.Pause == nil || !st.Pause.Since.Equal(want.Since) {
				t.Fatalf("pause %+v, want one since %s", st.Pause, want.Since)
			}
			if want.Since = st.Pause.Since; *st.Pause != want {
				t.Errorf("pause %+v, want %+v", st.Pause, want)
			}
			if st.Decisions != 0 || len(st.Recent) != 0 {
				t.Errorf("decisions %d, recent %+v: a withheld decision is not one", st.Decisions, st.Recent)
			}
		})
	}
}

func TestDisruptionPausedMidDecisionStopsBeforeTheCandidatesGo(t *testing.T) {
	tests := []struct {
		name  string
		found findAnswer
		// pause is when the pause arrives; the decision was taken at 10s.
		pause     time.Duration
		wantSteps []string
	}{
		{
			name:  "a pause during the validation delay drops the decision before any taint",
			found: decided(disruption.ReasonUnderutilized, 0.1, "default-aaaaa"),
			pause: 15 * time.Second,
		},
		{
			name:      "a pause while the replacement boots takes the taint off and tells no node to go",
			found:     withReplacement(decided(disruption.ReasonUnderutilized, 0.1, "default-aaaaa"), "default"),
			pause:     30 * time.Second,
			wantSteps: []string{"taint", "launch", "recheck", "untaint"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDisruptionRun(t, tt.found)
			r.pauseAt(tt.pause, PauseDisruption{Reason: "incident"})
			if tt.found.decision.Replacement != nil {
				r.replacementReadyAt(t, 40*time.Second)
			}
			var st DisruptionState
			r.stateAt(t, time.Minute, &st)
			r.run(t, time.Minute, DisruptionInput{})

			if d := r.disrupts(); len(d) != 0 {
				t.Errorf("disrupt signals %+v, want none once paused", d)
			}
			if got := r.stepNames(); !slices.Equal(got, tt.wantSteps) {
				t.Errorf("steps %v, want %v", got, tt.wantSteps)
			}
			if len(st.Recent) != 1 || st.Recent[0].Outcome != "withheld: disruption paused" {
				t.Errorf("recent %+v, want the one decision withheld", st.Recent)
			}
			if st.Pause == nil || st.Pause.Withheld != 1 {
				t.Errorf("pause %+v, want one decision withheld", st.Pause)
			}
		})
	}
}

func TestDisruptionResumedActsAgain(t *testing.T) {
	found := decided(disruption.ReasonUnderutilized, 0.1, "default-aaaaa")
	r := newDisruptionRun(t, found, found)
	r.pauseAt(5*time.Second, PauseDisruption{Reason: "incident"})
	r.resumeAt(15 * time.Second)
	var paused, resumed DisruptionState
	r.stateAt(t, 12*time.Second, &paused)
	r.stateAt(t, time.Minute, &resumed)
	r.run(t, time.Minute, DisruptionInput{})

	if paused.Pause == nil {
		t.Fatal("not paused at 12s")
	}
	// Withheld at 10s; found again at 20s, validated at 35s, disrupted then.
	if d := r.disrupts(); len(d) != 1 || d[0].at != 35*time.Second {
		t.Errorf("disrupt signals %+v, want one at 35s once resumed", d)
	}
	if resumed.Pause != nil || resumed.Decisions != 1 || len(resumed.Recent) != 1 || resumed.Recent[0].Outcome != "Disrupted" {
		t.Errorf("state after resume %+v, want not paused and the one decision Disrupted", resumed)
	}
}

func TestDisruptionPauseSurvivesContinueAsNew(t *testing.T) {
	found := decided(disruption.ReasonDrifted, 0, "default-aaaaa")
	r := newDisruptionRun(t, found)
	r.pauseAt(5*time.Second, PauseDisruption{Reason: "incident", By: "alice"})
	r.at(15*time.Second, func() { r.env.SetContinueAsNewSuggested(true) })
	r.execute(DisruptionInput{})

	next := continuedAs[DisruptionInput](t, r.env)
	p := next.State.Pause
	if p == nil || !p.Since.Equal(r.start.Add(5*time.Second)) || p.Reason != "incident" || p.By != "alice" || p.Withheld != 1 {
		t.Fatalf("carried pause %+v, want alice's from 5s with one decision withheld", p)
	}

	// The next run starts paused: it withholds what it finds until resumed.
	r2 := newDisruptionRun(t, found)
	var st DisruptionState
	r2.stateAt(t, 30*time.Second, &st)
	r2.run(t, 30*time.Second, next)
	if len(r2.signals) != 0 || len(r2.steps) != 0 {
		t.Errorf("signals %v, steps %v in the next run, want none while still paused", r2.signals, r2.steps)
	}
	if st.Pause == nil || !st.Pause.Since.Equal(p.Since) || st.Pause.Withheld != 2 {
		t.Errorf("pause in the next run %+v, want the carried one with a second decision withheld", st.Pause)
	}
}

// takingPauseSignals is a workflow that leaves the pause signals waiting for a minute, as a
// run's last pass may, then takes them as the run does before continuing as new.
func takingPauseSignals(ctx workflow.Context) (DisruptionState, error) {
	c := &controller{}
	c.openPauseChannels(ctx)
	if err := workflow.Sleep(ctx, time.Minute); err != nil {
		return c.state, err
	}
	c.takePauseSignals(ctx)
	return c.state, nil
}

// pauseSignalCounter counts the pause signals delivered to a workflow, as they are
// delivered: before any coroutine runs.
type pauseSignalCounter struct {
	interceptor.WorkerInterceptorBase
	delivered *int
}

func (w *pauseSignalCounter) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &pauseSignalInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, delivered: w.delivered}
}

type pauseSignalInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	delivered *int
}

func (w *pauseSignalInbound) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	if in.SignalName == SignalPauseDisruption {
		*w.delivered++
	}
	return w.Next.HandleSignal(ctx, in)
}

// TestDisruptionKeepsAPauseArrivingWithTheLastPass: a pause delivered in the workflow task in
// which the run's last pass ends is held by servePause's selector when the main loop takes
// the waiting signals; it must still be carried into the next run, or the kill switch is
// off again without a word. The workflow below serves the pause signals as the controller
// does and takes them the moment one is delivered, in that same task.
func TestDisruptionKeepsAPauseArrivingWithTheLastPass(t *testing.T) {
	delivered := 0
	lastPass := func(ctx workflow.Context) (DisruptionState, error) {
		c := &controller{}
		c.servePause(ctx)
		if err := workflow.Await(ctx, func() bool { return delivered > 0 }); err != nil {
			return c.state, err
		}
		c.takePauseSignals(ctx)
		return c.state, nil
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&pauseSignalCounter{delivered: &delivered}}})
	env.RegisterWorkflowWithOptions(lastPass, workflow.RegisterOptions{Name: "lastPass"})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalPauseDisruption, PauseDisruption{Reason: "incident"}) }, time.Second)
	env.ExecuteWorkflow("lastPass")
	var st DisruptionState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if st.Pause == nil || st.Pause.Reason != "incident" {
		t.Fatalf("state taken for the next run %+v: the pause delivered with the last pass was lost", st)
	}
}

func TestDisruptionTakesWaitingPauseSignalsBeforeContinuingAsNew(t *testing.T) {
	tests := []struct {
		name       string
		signals    []string
		wantPaused bool
	}{
		{name: "a waiting pause is carried", signals: []string{SignalPauseDisruption}, wantPaused: true},
		{name: "a pause then a resume waiting together: the pause wins", signals: []string{SignalPauseDisruption, SignalResumeDisruption}, wantPaused: true},
		{name: "a resume then a pause waiting together: the pause wins", signals: []string{SignalResumeDisruption, SignalPauseDisruption}, wantPaused: true},
		{name: "nothing waiting leaves it running", wantPaused: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			env.RegisterWorkflow(takingPauseSignals)
			for i, name := range tt.signals {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(name, PauseDisruption{Reason: "waiting"}) }, time.Duration(i+1)*time.Second)
			}
			env.ExecuteWorkflow(takingPauseSignals)
			var st DisruptionState
			if err := env.GetWorkflowResult(&st); err != nil {
				t.Fatal(err)
			}
			if got := st.Pause != nil; got != tt.wantPaused {
				t.Errorf("paused = %v, want %v", got, tt.wantPaused)
			}
		})
	}
}

func TestDisruptionPauseDistrustsItsPayload(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	tests := []struct {
		name string
		send any
		// wantPaused, and then the reason and by it keeps.
		wantPaused bool
		wantReason string
		wantBy     string
		// reasonPrefix: the reason only starts with wantReason.
		reasonPrefix bool
	}{
		{
			name: "a huge reason and name are cut to their bounds", send: PauseDisruption{Reason: huge, By: huge},
			wantPaused: true, wantReason: strings.Repeat("x", maxPauseReason-len("…")) + "…", wantBy: strings.Repeat("x", maxPauseBy-len("…")) + "…",
		},
		{
			name: "newlines and control characters cannot forge lines of output", send: PauseDisruption{Reason: "ok\ndisruption resumed\x1b[2J", By: "eve\r"},
			wantPaused: true, wantReason: "ok disruption resumed [2J", wantBy: "eve",
		},
		{
			name: "a cut never splits a character", send: PauseDisruption{Reason: strings.Repeat("é", maxPauseReason)},
			wantPaused: true, wantReason: strings.Repeat("é", (maxPauseReason-len("…"))/2) + "…",
		},
		{
			name: "invalid UTF-8 is replaced", send: PauseDisruption{Reason: "bad \xff byte"},
			wantPaused: true, wantReason: "bad \uFFFD byte",
		},
		{
			name: "a payload that does not decode pauses all the same, and says so", send: map[string]any{"reason": 42},
			wantPaused: true, wantReason: "(unreadable pause payload: ", reasonPrefix: true,
		},
		{
			name: "a bare string for a reason pauses all the same", send: "incident 42",
			wantPaused: true, wantReason: "(unreadable pause payload: ", reasonPrefix: true,
		},
		{
			name: "no payload pauses", send: nil, wantPaused: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDisruptionRun(t, decided(disruption.ReasonDrifted, 0, "default-aaaaa"))
			r.at(5*time.Second, func() { r.env.SignalWorkflow(SignalPauseDisruption, tt.send) })
			var st DisruptionState
			r.stateAt(t, 15*time.Second, &st)
			r.run(t, 15*time.Second, DisruptionInput{})

			if got := st.Pause != nil; got != tt.wantPaused {
				t.Fatalf("paused = %v, want %v (state %+v)", got, tt.wantPaused, st)
			}
			if st.Passes != 1 {
				t.Errorf("%d passes, want the controller to have run on to its pass at 10s", st.Passes)
			}
			if !tt.wantPaused {
				return
			}
			reasonOK := st.Pause.Reason == tt.wantReason || tt.reasonPrefix && strings.HasPrefix(st.Pause.Reason, tt.wantReason)
			if !reasonOK || st.Pause.By != tt.wantBy {
				t.Errorf("reason %q (%d bytes) by %q, want %q by %q", short(st.Pause.Reason), len(st.Pause.Reason), short(st.Pause.By), short(tt.wantReason), short(tt.wantBy))
			}
			if !utf8.ValidString(st.Pause.Reason) || len(st.Pause.Reason) > maxPauseReason || len(st.Pause.By) > maxPauseBy {
				t.Errorf("kept a reason of %d bytes and a name of %d, want valid UTF-8 within %d and %d", len(st.Pause.Reason), len(st.Pause.By), maxPauseReason, maxPauseBy)
			}
		})
	}
}

// short is s cut for a failure message.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func TestDisruptionPausedTwiceKeepsTheFirstPause(t *testing.T) {
	r := newDisruptionRun(t)
	r.pauseAt(5*time.Second, PauseDisruption{Reason: "first", By: "alice"})
	r.pauseAt(25*time.Second, PauseDisruption{Reason: "second", By: "bob"})
	var st DisruptionState
	r.stateAt(t, 30*time.Second, &st)
	r.run(t, 30*time.Second, DisruptionInput{})

	if p := st.Pause; p == nil || !p.Since.Equal(r.start.Add(5*time.Second)) || p.Reason != "first" || p.By != "alice" {
		t.Errorf("pause %+v, want alice's first one, since 5s", st.Pause)
	}
}

func TestDisruptionPauseGauges(t *testing.T) {
	rec := newCountRecorder()
	suite := &testsuite.WorkflowTestSuite{}
	suite.SetMetricsHandler(rec)
	r := newDisruptionRunIn(t, suite)
	type reading struct{ paused, since float64 }
	read := func() reading {
		p, _ := rec.gauge(MetricDisruptionPaused)
		s, _ := rec.gauge(MetricDisruptionPausedSince)
		return reading{p, s}
	}
	var before, during, after reading
	r.at(12*time.Second, func() { before = read() })
	r.pauseAt(15*time.Second, PauseDisruption{Reason: "incident"})
	r.at(17*time.Second, func() { during = read() })
	r.resumeAt(25 * time.Second)
	r.at(27*time.Second, func() { after = read() })
	r.run(t, 30*time.Second, DisruptionInput{})

	since := float64(r.start.Add(15*time.Second).UnixNano()) / 1e9
	if want := (reading{0, 0}); before != want {
		t.Errorf("gauges before the pause %+v, want %+v", before, want)
	}
	if want := (reading{1, since}); during != want {
		t.Errorf("gauges while paused %+v, want %+v", during, want)
	}
	if want := (reading{0, 0}); after != want {
		t.Errorf("gauges after resume %+v, want %+v", after, want)
	}
}

// FuzzDisruptionSignals sends the disruption controller a pause or a resume with an arbitrary
// payload at 5s, then a good resume at 25s. The controller must not fail or stop passing; a
// pause, whatever its payload, must hold the drift found at 10s and 20s until the good
// resume; a lone resume changes nothing.
func FuzzDisruptionSignals(f *testing.F) {
	for _, seed := range []struct {
		signal  uint8
		payload string
	}{
		{0, `{"reason":"incident 42","by":"alice"}`}, {0, `{"reason":42}`}, {0, `"incident"`}, {0, `null`}, {0, ``}, {0, `{`},
		{0, `{"reason":"a\nb","by":"\u001b[2J"}`}, {1, `{"by":"bob"}`}, {1, `[]`}, {1, `{`},
	} {
		f.Add(seed.signal, []byte(seed.payload))
	}
	f.Fuzz(func(t *testing.T, signal uint8, payload []byte) {
		name := []string{SignalPauseDisruption, SignalResumeDisruption}[int(signal)%2]
		found := decided(disruption.ReasonDrifted, 0, "default-aaaaa")
		r := newDisruptionRun(t, found, found, found)
		r.at(5*time.Second, func() { r.env.SignalWorkflow(name, rawJSON(payload)) })
		r.resumeAt(25 * time.Second)
		var st DisruptionState
		r.stateAt(t, 15*time.Second, &st)
		r.run(t, 35*time.Second, DisruptionInput{})

		if st.Passes < 1 {
			t.Fatalf("after %s %q: %d passes by 15s, want the controller to run on", name, payload, st.Passes)
		}
		d := r.disrupts()
		if len(d) == 0 {
			t.Fatalf("after %s %q and a good resume nothing was disrupted", name, payload)
		}
		paused := name == SignalPauseDisruption
		if got := st.Pause != nil; got != paused {
			t.Fatalf("after %s %q paused = %v, want %v", name, payload, got, paused)
		}
		if paused && d[0].at < 25*time.Second {
			t.Errorf("after %s %q a node was disrupted at %v, before the resume at 25s", name, payload, d[0].at)
		}
		if !paused && d[0].at != 10*time.Second {
			t.Errorf("after %s %q the first disruption was at %v, want at the first pass, 10s", name, payload, d[0].at)
		}
		if p := st.Pause; p != nil && (!utf8.ValidString(p.Reason) || len(p.Reason) > maxPauseReason || len(p.By) > maxPauseBy) {
			t.Errorf("after %s %q kept reason %q by %q: want valid UTF-8 within bounds", name, payload, short(p.Reason), short(p.By))
		}
	})
}
