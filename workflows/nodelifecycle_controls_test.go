package workflows

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	corev1 "k8s.io/api/core/v1"

	"github.com/nodewright/nodewright/activities"
	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Tests of a Ready node's controls: expiration, the operator's drain, cancelDrain,
// requestDrain and extendExpiry, the controllers' disrupt and interrupt, and
// continue-as-new. happyPath makes the node Ready at 3m; each drain and termination
// activity takes a minute.

// controlsRun is a nodeRun that also records what each DrainNode call asked for and every
// value the workflow gave the DisruptionReason search attribute.
type controlsRun struct {
	*nodeRun
	drains []drainCall
	// disruptionReasons holds the DisruptionReason search attribute after each upsert, in
	// order; "" is unset.
	disruptionReasons []string
}

// drainCall is one DrainNode activity: when it started and its request.
type drainCall struct {
	at  time.Time
	req activities.DrainRequest
}

func newControlsRun(t *testing.T) *controlsRun {
	t.Helper()
	r := &controlsRun{nodeRun: newNodeRun(t)}
	onActivityStarted(r.env, func(name string, args func(any) error) {
		if name == "ProjectNodeClaim" || name == "Signal" {
			return // recorded by their mocks, in projections and signals
		}
		r.activities = append(r.activities, name)
		if name != "DrainNode" {
			return
		}
		var req activities.DrainRequest
		if err := args(&req); err != nil {
			t.Errorf("decode DrainNode request: %v", err)
		}
		r.drains = append(r.drains, drainCall{at: r.env.Now(), req: req})
	})
	r.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{
		&disruptionReasonRecorder{record: func(v string) { r.disruptionReasons = append(r.disruptionReasons, v) }},
	}})
	return r
}

// startAt moves the run's start, so a restored run continues at the time its previous run
// ended.
func (r *controlsRun) startAt(at time.Time) {
	r.env.SetStartTime(at)
	r.start = at
}

func (r *controlsRun) executeClaim(c activities.Claim) {
	r.env.ExecuteWorkflow(NodeLifecycleWorkflow, NodeLifecycleInput{Claim: c})
}

func (r *controlsRun) signalAt(d time.Duration, name string, payload any) {
	r.at(d, func() { r.env.SignalWorkflow(name, payload) })
}

// queryAt records the state query's answer at d into *into.
func (r *controlsRun) queryAt(t *testing.T, d time.Duration, into *NodeState) {
	t.Helper()
	r.at(d, func() { *into = r.query(t) })
}

// updateOutcome is what an update answered: its result when accepted, its validator's
// error when rejected.
type updateOutcome struct {
	sent     bool
	result   any
	rejected error
	failed   error
}

// updateAt sends the update at d and records its outcome.
func (r *controlsRun) updateAt(d time.Duration, name string, payload any) *updateOutcome {
	out := &updateOutcome{}
	r.at(d, func() {
		out.sent = true
		r.env.UpdateWorkflow(name, name+"@"+d.String(), &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { out.rejected = err },
			OnComplete: func(v any, err error) { out.result, out.failed = v, err },
		}, payload)
	})
	return out
}

// onlyDrain returns the single DrainNode call, failing the test if there was not exactly one.
func (r *controlsRun) onlyDrain(t *testing.T) drainCall {
	t.Helper()
	if len(r.drains) != 1 {
		t.Fatalf("node drained %d times (at %v), want once", len(r.drains), r.drainTimes())
	}
	return r.drains[0]
}

func (r *controlsRun) drainTimes() []time.Duration {
	var out []time.Duration
	for _, d := range r.drains {
		out = append(out, d.at.Sub(r.start))
	}
	return out
}

// finalState is the state the terminated node returned.
func (r *controlsRun) finalState(t *testing.T) NodeState {
	t.Helper()
	var result NodeLifecycleResult
	if err := r.env.GetWorkflowResult(&result); err != nil {
		t.Fatalf("node workflow did not finish cleanly: %v", err)
	}
	return result.State
}

// lastDisruptionReason is the DisruptionReason search attribute after the last upsert.
func (r *controlsRun) lastDisruptionReason() string {
	if len(r.disruptionReasons) == 0 {
		return ""
	}
	return r.disruptionReasons[len(r.disruptionReasons)-1]
}

// claimWith is the test claim from a NodePool with the given expireAfter and
// terminationGracePeriod (0 is Never / unbounded).
func claimWith(expireAfter, terminationGracePeriod time.Duration) activities.Claim {
	c := testNodeClaim()
	c.ExpireAfter, c.TerminationGracePeriod = expireAfter, terminationGracePeriod
	return c
}

// disruptionReasonRecorder reports the DisruptionReason search attribute after each upsert;
// the environment's upsert mock cannot tell an unset from an upsert that leaves it alone.
type disruptionReasonRecorder struct {
	interceptor.WorkerInterceptorBase
	record func(string)
}

func (w *disruptionReasonRecorder) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &disruptionReasonInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, record: w.record}
}

type disruptionReasonInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	record func(string)
}

func (w *disruptionReasonInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&disruptionReasonOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, record: w.record})
}

type disruptionReasonOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	record func(string)
}

func (w *disruptionReasonOutbound) UpsertTypedSearchAttributes(ctx workflow.Context, updates ...temporal.SearchAttributeUpdate) error {
	err := w.Next.UpsertTypedSearchAttributes(ctx, updates...)
	v, _ := w.Next.GetTypedSearchAttributes(ctx).GetKeyword(SearchAttrDisruptionReason)
	w.record(v)
	return err
}

func TestNodeLifecycleExpiration(t *testing.T) {
	tests := []struct {
		name          string
		claim         activities.Claim
		drainSignalAt time.Duration
		wantDrainAt   time.Duration
		wantDeadline  time.Duration // from the run's start; 0 is none
		wantExpiresAt time.Duration // 0 is Never
		want          Disruption    // RequestedAt, StartsAt and Deadline are checked apart
	}{
		{
			name:          "a node expires forcefully at launch plus expireAfter",
			claim:         claimWith(2*time.Hour, 0),
			wantDrainAt:   2 * time.Hour,
			wantExpiresAt: 2 * time.Hour,
			want:          Disruption{Source: SourceExpiration, Reason: "Expired", Forceful: true},
		},
		{
			name:          "terminationGracePeriod sets the drain deadline from the drain's start",
			claim:         claimWith(2*time.Hour, 10*time.Minute),
			wantDrainAt:   2 * time.Hour,
			wantDeadline:  2*time.Hour + 10*time.Minute,
			wantExpiresAt: 2 * time.Hour,
			want:          Disruption{Source: SourceExpiration, Reason: "Expired", Forceful: true},
		},
		{
			name:          "expireAfter Never keeps the node until someone drains it",
			claim:         claimWith(0, 0),
			drainSignalAt: 1000 * time.Hour,
			wantDrainAt:   1000 * time.Hour,
			want:          Disruption{Source: SourceManual, Reason: "retired"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newControlsRun(t)
			r.happyPath()
			var ready NodeState
			r.queryAt(t, tt.wantDrainAt-time.Second, &ready)
			if tt.drainSignalAt > 0 {
				r.signalAt(tt.drainSignalAt, SignalDrain, DrainRequest{Reason: "retired"})
			}
			r.executeClaim(tt.claim)

			if ready.Phase != PhaseReady {
				t.Errorf("phase a second before the drain = %s, want Ready", ready.Phase)
			}
			wantExpiry := r.start.Add(tt.wantExpiresAt)
			if got := ready.ExpiresAt; (tt.wantExpiresAt == 0) != (got == nil) || got != nil && !got.Equal(wantExpiry) {
				t.Errorf("ExpiresAt %v, want %s after launch (0 is Never)", got, tt.wantExpiresAt)
			}
			drain := r.onlyDrain(t)
			if got := drain.at.Sub(r.start); got != tt.wantDrainAt {
				t.Errorf("drained at %s, want %s", got, tt.wantDrainAt)
			}
			wantDeadline := time.Time{}
			if tt.wantDeadline > 0 {
				wantDeadline = r.start.Add(tt.wantDeadline)
			}
			if !drain.req.Deadline.Equal(wantDeadline) {
				t.Errorf("DrainNode deadline %v, want %v", drain.req.Deadline, wantDeadline)
			}
			if drain.req.Forceful != tt.want.Forceful {
				t.Errorf("DrainNode forceful = %v, want %v (expiration ignores do-not-disrupt)", drain.req.Forceful, tt.want.Forceful)
			}
			d := r.finalState(t).Disruption
			if d == nil {
				t.Fatal("terminated node has no Disruption recorded")
			}
			if got := (Disruption{Source: d.Source, Reason: d.Reason, Forceful: d.Forceful}); got != tt.want {
				t.Errorf("disruption %+v, want %+v", got, tt.want)
			}
			if at := r.start.Add(tt.wantDrainAt); !d.RequestedAt.Equal(at) || !d.StartsAt.Equal(at) {
				t.Errorf("disruption requested %v starting %v, want both at %s", d.RequestedAt, d.StartsAt, tt.wantDrainAt)
			}
			if r.lastDisruptionReason() != tt.want.Reason {
				t.Errorf("DisruptionReason search attribute %q, want %q", r.lastDisruptionReason(), tt.want.Reason)
			}
		})
	}
}

func TestNodeLifecycleExtendExpiry(t *testing.T) {
	tests := []struct {
		name          string
		expireAfter   time.Duration
		by            string // as typed into the CLI or UI
		wantRejected  string
		wantExpiresAt time.Duration // from the run's start, after the update
		drainSignalAt time.Duration
		wantDrainAt   time.Duration
	}{
		{
			name: "by 0s is rejected naming by", expireAfter: 2 * time.Hour, by: "0s",
			wantRejected: "by must be a positive duration", wantExpiresAt: 2 * time.Hour, wantDrainAt: 2 * time.Hour,
		},
		{
			name: "a negative by is rejected", expireAfter: 2 * time.Hour, by: "-1h",
			wantRejected: "by must be a positive duration", wantExpiresAt: 2 * time.Hour, wantDrainAt: 2 * time.Hour,
		},
		{
			name: "an extension over a year is rejected naming the limit", expireAfter: 2 * time.Hour, by: "8761h",
			wantRejected: "over the limit of 8760h0m0s", wantExpiresAt: 2 * time.Hour, wantDrainAt: 2 * time.Hour,
		},
		{
			name: "a node whose pool never expires cannot be extended", by: "1h",
			wantRejected: "does not expire", drainSignalAt: 5 * time.Hour, wantDrainAt: 5 * time.Hour,
		},
		{
			name: "an accepted extension moves the expiry drain to the new time", expireAfter: 2 * time.Hour, by: "3h",
			wantExpiresAt: 5 * time.Hour, wantDrainAt: 5 * time.Hour,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newControlsRun(t)
			r.happyPath()
			var before, after NodeState
			r.queryAt(t, time.Hour-time.Second, &before)
			out := r.updateAt(time.Hour, UpdateExtendExpiry, map[string]string{"by": tt.by})
			r.queryAt(t, time.Hour+time.Second, &after)
			if tt.drainSignalAt > 0 {
				r.signalAt(tt.drainSignalAt, SignalDrain, DrainRequest{})
			}
			r.executeClaim(claimWith(tt.expireAfter, 0))

			if !out.sent {
				t.Fatal("extendExpiry was never sent")
			}
			if tt.wantRejected != "" {
				if out.rejected == nil || !strings.Contains(out.rejected.Error(), tt.wantRejected) {
					t.Errorf("extendExpiry by %s answered %v (rejection %v), want a rejection saying %q", tt.by, out.result, out.rejected, tt.wantRejected)
				}
				if !reflect.DeepEqual(before, after) {
					t.Errorf("a rejected extendExpiry changed the state:\nbefore %+v\nafter  %+v", before, after)
				}
			} else {
				got, ok := out.result.(ExpiryExtended)
				if out.rejected != nil || out.failed != nil || !ok || !got.ExpiresAt.Equal(r.start.Add(tt.wantExpiresAt)) {
					t.Errorf("extendExpiry by %s answered %+v (rejected %v, failed %v), want ExpiresAt %s after launch",
						tt.by, out.result, out.rejected, out.failed, tt.wantExpiresAt)
				}
			}
			if tt.wantExpiresAt > 0 && (after.ExpiresAt == nil || !after.ExpiresAt.Equal(r.start.Add(tt.wantExpiresAt))) {
				t.Errorf("state ExpiresAt %v after the update, want %s after launch", after.ExpiresAt, tt.wantExpiresAt)
			}
			if got := r.onlyDrain(t).at.Sub(r.start); got != tt.wantDrainAt {
				t.Errorf("drained at %s, want %s", got, tt.wantDrainAt)
			}
		})
	}
}

func TestNodeLifecycleRequestDrain(t *testing.T) {
	type ask struct {
		at  time.Duration
		req any // DrainRequest, or the JSON a person types
		// wantStartsAt is the accepted drain's start; zero with wantRejected set.
		wantStartsAt time.Duration
		wantPhase    Phase
		wantRejected []string
	}
	tests := []struct {
		name        string
		asks        []ask
		wantDrainAt time.Duration
		wantReason  string
	}{
		{
			name: "an accepted request answers when its grace period ends and the drain starts then",
			asks: []ask{{at: 10 * time.Minute, req: map[string]string{"reason": "kernel upgrade", "gracePeriod": "5m"},
				wantStartsAt: 15 * time.Minute, wantPhase: PhaseReady}},
			wantDrainAt: 15 * time.Minute, wantReason: "kernel upgrade",
		},
		{
			name:        "a request without a grace period drains at once",
			asks:        []ask{{at: 10 * time.Minute, req: DrainRequest{Reason: "now"}, wantStartsAt: 10 * time.Minute, wantPhase: PhaseReady}},
			wantDrainAt: 10 * time.Minute, wantReason: "now",
		},
		{
			name: "a grace period over thirty days is rejected naming the limit",
			asks: []ask{
				{at: 10 * time.Minute, req: map[string]string{"reason": "later", "gracePeriod": "721h"}, wantRejected: []string{"gracePeriod 721h0m0s is over the limit of 720h0m0s"}},
				{at: 20 * time.Minute, req: DrainRequest{Reason: "now"}, wantStartsAt: 20 * time.Minute, wantPhase: PhaseReady},
			},
			wantDrainAt: 20 * time.Minute, wantReason: "now",
		},
		{
			name: "a second request while the first is pending is rejected and changes nothing",
			asks: []ask{
				{at: 10 * time.Minute, req: DrainRequest{Reason: "first", GracePeriod: Duration(30 * time.Minute)}, wantStartsAt: 40 * time.Minute, wantPhase: PhaseReady},
				{at: 20 * time.Minute, req: DrainRequest{Reason: "second"}, wantRejected: []string{"already has a drain requested", `"first"`, SignalCancelDrain}},
			},
			wantDrainAt: 40 * time.Minute, wantReason: "first",
		},
		{
			name: "a request after draining began is rejected as already terminating, with the phase",
			asks: []ask{
				{at: 10 * time.Minute, req: DrainRequest{Reason: "first"}, wantStartsAt: 10 * time.Minute, wantPhase: PhaseReady},
				{at: 10*time.Minute + 30*time.Second, req: DrainRequest{Reason: "second"}, wantRejected: []string{"already terminating", "phase Draining", "Manual: first"}},
			},
			wantDrainAt: 10 * time.Minute, wantReason: "first",
		},
		{
			name: "a negative grace period is rejected",
			asks: []ask{
				{at: 10 * time.Minute, req: map[string]string{"gracePeriod": "-5m"}, wantRejected: []string{"gracePeriod", "negative"}},
				{at: 20 * time.Minute, req: DrainRequest{Reason: "later"}, wantStartsAt: 20 * time.Minute, wantPhase: PhaseReady},
			},
			wantDrainAt: 20 * time.Minute, wantReason: "later",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newControlsRun(t)
			r.happyPath()
			outs := make([]*updateOutcome, len(tt.asks))
			befores, afters := make([]NodeState, len(tt.asks)), make([]NodeState, len(tt.asks))
			for i, a := range tt.asks {
				r.queryAt(t, a.at-time.Second, &befores[i])
				outs[i] = r.updateAt(a.at, UpdateRequestDrain, a.req)
				r.queryAt(t, a.at+time.Second, &afters[i])
			}
			r.executeClaim(testNodeClaim())

			for i, a := range tt.asks {
				out := outs[i]
				if len(a.wantRejected) > 0 {
					if out.rejected == nil {
						t.Errorf("request %d answered %+v, want a rejection", i+1, out.result)
						continue
					}
					for _, s := range a.wantRejected {
						if !strings.Contains(out.rejected.Error(), s) {
							t.Errorf("request %d rejected with %q, which does not say %q", i+1, out.rejected, s)
						}
					}
					if !reflect.DeepEqual(befores[i], afters[i]) {
						t.Errorf("rejected request %d changed the state:\nbefore %+v\nafter  %+v", i+1, befores[i], afters[i])
					}
					continue
				}
				want := DrainAccepted{Phase: a.wantPhase, StartsAt: r.start.Add(a.wantStartsAt)}
				if got, ok := out.result.(DrainAccepted); out.rejected != nil || !ok || got.Phase != want.Phase || !got.StartsAt.Equal(want.StartsAt) {
					t.Errorf("request %d answered %+v (rejected: %v), want %+v", i+1, out.result, out.rejected, want)
				}
			}
			drain := r.onlyDrain(t)
			if got := drain.at.Sub(r.start); got != tt.wantDrainAt {
				t.Errorf("drained at %s, want %s", got, tt.wantDrainAt)
			}
			if drain.req.Reason != tt.wantReason {
				t.Errorf("DrainNode reason %q, want %q", drain.req.Reason, tt.wantReason)
			}
		})
	}
}

func TestNodeLifecycleCancelDrain(t *testing.T) {
	t.Run("cancelDrain within the grace period withdraws the drain", func(t *testing.T) {
		r := newControlsRun(t)
		r.happyPath()
		var pending, withdrawn NodeState
		r.signalAt(10*time.Minute, SignalDrain, map[string]string{"reason": "upgrade", "gracePeriod": "5m"})
		r.queryAt(t, 11*time.Minute, &pending)
		r.signalAt(12*time.Minute, SignalCancelDrain, nil)
		r.queryAt(t, 16*time.Minute, &withdrawn)
		var reasonsWhenWithdrawn []string
		r.at(16*time.Minute, func() { reasonsWhenWithdrawn = slices.Clone(r.disruptionReasons) })
		r.signalAt(30*time.Minute, SignalDrain, DrainRequest{Reason: "finally"})
		r.executeClaim(testNodeClaim())

		if pending.Disruption == nil || !pending.Disruption.StartsAt.Equal(r.start.Add(15*time.Minute)) {
			t.Fatalf("pending drain %+v, want one starting at 15m", pending.Disruption)
		}
		if withdrawn.Phase != PhaseReady || withdrawn.Disruption != nil || withdrawn.DrainReason != "" {
			t.Errorf("state after cancelDrain: phase %s, disruption %+v, drain reason %q; want Ready with none",
				withdrawn.Phase, withdrawn.Disruption, withdrawn.DrainReason)
		}
		if n := len(reasonsWhenWithdrawn); n < 2 || reasonsWhenWithdrawn[n-2] != "upgrade" || reasonsWhenWithdrawn[n-1] != "" {
			t.Errorf("DisruptionReason after each upsert until 16m %q, want \"upgrade\" then unset", reasonsWhenWithdrawn)
		}
		if got := r.onlyDrain(t); got.at.Sub(r.start) != 30*time.Minute || got.req.Reason != "finally" {
			t.Errorf("drained at %s for %q, want only the later drain at 30m", got.at.Sub(r.start), got.req.Reason)
		}
	})

	t.Run("cancelDrain after the drain began is ignored", func(t *testing.T) {
		r := newControlsRun(t)
		r.happyPath()
		r.signalAt(10*time.Minute, SignalDrain, DrainRequest{Reason: "upgrade"})
		r.signalAt(10*time.Minute+30*time.Second, SignalCancelDrain, nil)
		r.executeClaim(testNodeClaim())

		final := r.finalState(t)
		if final.Phase != PhaseTerminated || final.Disruption == nil || final.Disruption.Reason != "upgrade" {
			t.Errorf("final phase %s disruption %+v, want Terminated by the upgrade drain", final.Phase, final.Disruption)
		}
		if !slices.Contains(r.activities, "Terminate") {
			t.Errorf("activities %v: the instance was not terminated", r.activities)
		}
		if got := r.onlyDrain(t).at.Sub(r.start); got != 10*time.Minute {
			t.Errorf("drained at %s, want 10m", got)
		}
	})
}

func TestNodeLifecycleInterruption(t *testing.T) {
	const interruptAt = 20 * time.Minute
	tests := []struct {
		name         string
		tgp          time.Duration
		wantDeadline time.Duration
	}{
		{name: "the interruption's deadline bounds the drain", wantDeadline: interruptAt + 2*time.Minute},
		{name: "a terminationGracePeriod ending earlier sets the deadline", tgp: time.Minute, wantDeadline: interruptAt + time.Minute},
		{name: "a terminationGracePeriod ending later leaves the interruption's deadline", tgp: 10 * time.Minute, wantDeadline: interruptAt + 2*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newControlsRun(t)
			r.happyPath()
			// A manual drain waits 30m; the interruption two minutes' notice cannot.
			r.signalAt(10*time.Minute, SignalDrain, DrainRequest{Reason: "upgrade", GracePeriod: Duration(30 * time.Minute)})
			r.at(interruptAt, func() {
				now := r.env.Now()
				r.env.SignalWorkflow(SignalInterrupt, Interrupt{Kind: "SpotInterruption", EventTime: now, Deadline: now.Add(2 * time.Minute)})
			})
			r.executeClaim(claimWith(0, tt.tgp))

			drain := r.onlyDrain(t)
			if got := drain.at.Sub(r.start); got != interruptAt {
				t.Errorf("drained at %s, want at once on the interruption at %s", got, interruptAt)
			}
			if want := r.start.Add(tt.wantDeadline); !drain.req.Deadline.Equal(want) {
				t.Errorf("DrainNode deadline %s after start, want %s", drain.req.Deadline.Sub(r.start), tt.wantDeadline)
			}
			d := r.finalState(t).Disruption
			if d == nil || d.Source != SourceInterruption || d.Reason != "SpotInterruption" || !d.Forceful ||
				d.Deadline == nil || !d.Deadline.Equal(r.start.Add(tt.wantDeadline)) {
				t.Errorf("disruption %+v, want a forceful SpotInterruption with deadline %s", d, tt.wantDeadline)
			}
			if r.lastDisruptionReason() != "SpotInterruption" {
				t.Errorf("DisruptionReason search attribute %q, want SpotInterruption", r.lastDisruptionReason())
			}
		})
	}
}

func TestNodeLifecycleDisrupt(t *testing.T) {
	first := Disrupt{Reason: "Underutilized", DecisionID: "d-1", Savings: 0.1, Replacement: "c-2"}
	second := Disrupt{Reason: "Empty", DecisionID: "d-2"}
	tests := []struct {
		name string
		send func(r *controlsRun)
	}{
		{
			name: "a second decision during the drain is ignored",
			send: func(r *controlsRun) {
				r.signalAt(10*time.Minute, SignalDisrupt, first)
				r.signalAt(10*time.Minute+30*time.Second, SignalDisrupt, second)
			},
		},
		{
			name: "a second decision delivered with the first is ignored",
			send: func(r *controlsRun) {
				r.at(10*time.Minute, func() {
					r.env.SignalWorkflowSkippingWorkflowTask(SignalDisrupt, first)
					r.env.SignalWorkflow(SignalDisrupt, second)
				})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newControlsRun(t)
			r.happyPath()
			tt.send(r)
			r.executeClaim(testNodeClaim())

			at := r.start.Add(10 * time.Minute)
			want := Disruption{Source: SourceDisruption, Reason: "Underutilized", RequestedAt: at, StartsAt: at,
				DecisionID: "d-1", Savings: 0.1, Replacement: "c-2"}
			final := r.finalState(t)
			if !sameDisruption(final.Disruption, want) {
				t.Errorf("disruption %+v, want %+v", final.Disruption, want)
			}
			if final.DrainReason != "Underutilized" {
				t.Errorf("drain reason %q, want Underutilized", final.DrainReason)
			}
			if slices.Contains(r.disruptionReasons, "Empty") || r.lastDisruptionReason() != "Underutilized" {
				t.Errorf("DisruptionReason upserts %q, want Underutilized and never Empty", r.disruptionReasons)
			}
			if drain := r.onlyDrain(t); drain.at != at || drain.req.Reason != "Underutilized" {
				t.Errorf("drained at %s for %q, want at 10m for Underutilized", drain.at.Sub(r.start), drain.req.Reason)
			}
		})
	}
}

func TestNodeLifecycleDisruptWhileAManualDrainWaitsIsIgnored(t *testing.T) {
	r := newControlsRun(t)
	r.happyPath()
	r.signalAt(5*time.Minute, SignalDrain, DrainRequest{Reason: "upgrade", GracePeriod: Duration(30 * time.Minute)})
	r.signalAt(10*time.Minute, SignalDisrupt, Disrupt{Reason: "Underutilized", DecisionID: "d-1"})
	r.executeClaim(testNodeClaim())

	final := r.finalState(t)
	if d := final.Disruption; d == nil || d.Source != SourceManual || d.Reason != "upgrade" || d.DecisionID != "" {
		t.Errorf("disruption %+v, want the manual upgrade drain, not decision d-1", d)
	}
	if drain := r.onlyDrain(t); drain.at.Sub(r.start) != 35*time.Minute {
		t.Errorf("drained at %s, want 35m when the manual drain's grace period ends", drain.at.Sub(r.start))
	}
}

// sameDisruption compares times with Equal, as reflect.DeepEqual sees a time's monotonic
// reading and location.
func sameDisruption(got *Disruption, want Disruption) bool {
	if got == nil || !got.RequestedAt.Equal(want.RequestedAt) || !got.StartsAt.Equal(want.StartsAt) ||
		(got.Deadline == nil) != (want.Deadline == nil) || got.Deadline != nil && !got.Deadline.Equal(*want.Deadline) {
		return false
	}
	g := *got
	g.RequestedAt, g.StartsAt, g.Deadline = want.RequestedAt, want.StartsAt, want.Deadline
	return g == want
}

// continuedInput runs a node that is told to continue as new at 10m, right as signals
// arrive (send), and returns the input its next run gets.
func continuedInput(t *testing.T, r *controlsRun, send func()) NodeLifecycleInput {
	t.Helper()
	r.happyPath()
	r.at(10*time.Minute, func() {
		r.env.SetContinueAsNewSuggested(true)
		send()
	})
	r.executeClaim(claimWith(2*time.Hour, 0))

	var can *workflow.ContinueAsNewError
	if err := r.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	if can.WorkflowType.Name != "NodeLifecycleWorkflow" {
		t.Errorf("continued as %s, want NodeLifecycleWorkflow", can.WorkflowType.Name)
	}
	var in NodeLifecycleInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
		t.Fatalf("decode continue-as-new input: %v", err)
	}
	return in
}

func TestNodeLifecycleContinueAsNewCarriesState(t *testing.T) {
	tests := []struct {
		name string
		send func(r *controlsRun)
		// wantSource and wantReason describe the carried drain; "" is none.
		wantSource, wantReason string
		wantStartsAt           time.Duration
	}{
		{
			name: "a drain signalled with the suggestion is carried with its grace period",
			send: func(r *controlsRun) {
				r.env.SignalWorkflow(SignalDrain, DrainRequest{Reason: "upgrade", GracePeriod: Duration(30 * time.Minute)})
			},
			wantSource: SourceManual, wantReason: "upgrade", wantStartsAt: 40 * time.Minute,
		},
		{
			name: "signals buffered before continuing are all applied: a drain then its cancellation carry no drain",
			send: func(r *controlsRun) {
				r.env.SignalWorkflowSkippingWorkflowTask(SignalDrain, DrainRequest{Reason: "upgrade", GracePeriod: Duration(30 * time.Minute)})
				r.env.SignalWorkflow(SignalCancelDrain, nil)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newControlsRun(t)
			in := continuedInput(t, r, func() { tt.send(r) })

			if slices.Contains(r.activities, "DrainNode") {
				t.Errorf("activities %v: the node drained instead of continuing", r.activities)
			}
			if in.Claim.Name != testClaim || in.Restore == nil {
				t.Fatalf("continued with claim %q and restore %v, want claim %s and its state", in.Claim.Name, in.Restore, testClaim)
			}
			s := in.Restore
			if s.Phase != PhaseReady || s.NodeName != testNode || s.InstanceID != testInstance().ID ||
				s.ExpiresAt == nil || !s.ExpiresAt.Equal(r.start.Add(2*time.Hour)) {
				t.Errorf("restore %+v, want phase Ready, node %s, instance %s, expiring 2h after launch", s, testNode, testInstance().ID)
			}
			d := s.Disruption
			switch {
			case tt.wantSource == "" && d != nil:
				t.Errorf("restore carries disruption %+v, want none", d)
			case tt.wantSource != "" && (d == nil || d.Source != tt.wantSource || d.Reason != tt.wantReason || !d.StartsAt.Equal(r.start.Add(tt.wantStartsAt))):
				t.Errorf("restore carries disruption %+v, want %s %q starting %s after launch", d, tt.wantSource, tt.wantReason, tt.wantStartsAt)
			}
			// The next run inherits the search attributes as they are: they must show what it
			// carries, a drain withdrawn while continuing included.
			if got := r.lastDisruptionReason(); got != tt.wantReason {
				t.Errorf("DisruptionReason search attribute %q on continuing, want %q", got, tt.wantReason)
			}
		})
	}
}

// A restored run brings its Node up to date (labels, finalizer) before serving, without
// putting back a taint someone removed since registration, and serves even when the Node
// cannot be reached: a drain signalled then still drains and terminates the node.
func TestRestoredRunCatchesUpItsNodeWithoutTaintsAndServesWhateverHappens(t *testing.T) {
	for _, syncErr := range []error{nil, errors.New("node unreachable")} {
		t.Run(fmt.Sprintf("sync error %v", syncErr), func(t *testing.T) {
			first := newControlsRun(t)
			in := continuedInput(t, first, func() { wakeWithCancelDrain(first) })
			in.Claim.Taints = []corev1.Taint{{Key: "team", Value: "ml", Effect: corev1.TaintEffectNoSchedule}}

			r := newControlsRun(t)
			r.startAt(first.start.Add(10 * time.Minute))
			var syncs []activities.SyncRequest
			r.env.OnActivity(r.kube.SyncNode, mock.Anything, mock.Anything).Return(
				func(_ context.Context, req activities.SyncRequest) error {
					syncs = append(syncs, req)
					return syncErr
				})
			r.happyPath()
			r.signalAt(time.Minute, SignalDrain, DrainRequest{Reason: "upgrade"})
			r.env.ExecuteWorkflow(NodeLifecycleWorkflow, in)

			if len(syncs) == 0 {
				t.Fatal("the restored run did not sync its Node")
			}
			for _, req := range syncs {
				if req.NodeName != testNode || len(req.Taints) != 0 || req.Labels[v1.LabelNodeClaim] != testClaim {
					t.Errorf("sync %+v: want node %s, its labels and no taints", req, testNode)
				}
			}
			if syncErr != nil && len(syncs) > 3 {
				t.Errorf("a failing sync was tried %d times, want a few quick tries", len(syncs))
			}
			if final := r.finalState(t); final.Phase != PhaseTerminated {
				t.Errorf("final phase %s, want Terminated by the drain", final.Phase)
			}
		})
	}
}

// wakeWithCancelDrain sends a signal that changes nothing, so the node sees the
// continue-as-new suggestion.
func wakeWithCancelDrain(r *controlsRun) { r.env.SignalWorkflow(SignalCancelDrain, nil) }

func TestNodeLifecycleRestoredRun(t *testing.T) {
	const continuedAt = 10 * time.Minute
	tests := []struct {
		name        string
		send        func(r *controlsRun) // signals that wake the first run to continue as new
		signal      time.Duration        // drain signal to the restored run, from the first run's start; 0 is none
		wantDrainAt time.Duration        // from the first run's start
		wantSource  string
	}{
		{
			name: "a restored node waits without relaunching and drains on a drain signal",
			send: wakeWithCancelDrain, signal: 50 * time.Minute, wantDrainAt: 50 * time.Minute, wantSource: SourceManual,
		},
		{
			name: "a drain carried across starts when its grace period ends",
			send: func(r *controlsRun) {
				r.env.SignalWorkflow(SignalDrain, DrainRequest{Reason: "upgrade", GracePeriod: Duration(30 * time.Minute)})
			},
			wantDrainAt: 40 * time.Minute, wantSource: SourceManual,
		},
		{
			name: "the carried expiry still fires", send: wakeWithCancelDrain, wantDrainAt: 2 * time.Hour, wantSource: SourceExpiration,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := newControlsRun(t)
			in := continuedInput(t, first, func() { tt.send(first) })

			r := newControlsRun(t)
			r.startAt(first.start.Add(continuedAt))
			r.happyPath()
			if tt.signal > 0 {
				r.signalAt(tt.signal-continuedAt, SignalDrain, DrainRequest{Reason: "retired"})
			}
			r.env.ExecuteWorkflow(NodeLifecycleWorkflow, in)

			// A restored run first checks its instance and Node are its own, confirms its Node
			// and NodeClaim (a node running when NodeClaims came in gets them so), then only
			// drains and terminates.
			want := []string{"VerifyInstance", "VerifyNode", "SyncNode", "TaintOwnNode", "DrainNode", "Terminate", "DeleteNode", "ReleaseNodeClaim"}
			if !slices.Equal(r.activities, want) {
				t.Errorf("restored run called %v, want only %v", r.activities, want)
			}
			if len(r.projections) == 0 || r.projections[0] != string(PhaseReady) {
				t.Errorf("restored run wrote its NodeClaim at %v, want first as Ready", r.projections)
			}
			drain := r.onlyDrain(t)
			if got := drain.at.Sub(first.start); got != tt.wantDrainAt {
				t.Errorf("restored node drained %s after launch, want %s", got, tt.wantDrainAt)
			}
			final := r.finalState(t)
			if final.Disruption == nil || final.Disruption.Source != tt.wantSource {
				t.Errorf("disruption %+v, want source %s", final.Disruption, tt.wantSource)
			}
			all := []Phase{PhaseLaunching, PhaseRegistering, PhaseInitializing, PhaseReady, PhaseDraining, PhaseTerminating, PhaseTerminated}
			if got := phasesOf(final); !slices.Equal(got, all) {
				t.Errorf("phase history %v, want the first run's phases continued: %v", got, all)
			}
		})
	}
}

func TestNodeLifecycleStateQueryDuringAndAfterADrain(t *testing.T) {
	r := newControlsRun(t)
	blocked := map[string]string{"ns/db-0": "BlockedByPDB", "ns/cache-0": "BlockedByDoNotDisrupt"}
	// Registered before happyPath's DrainNode mock, so this one answers.
	r.env.OnActivity(r.kube.DrainNode, mock.Anything, mock.Anything).After(time.Minute).
		Return(activities.DrainResult{Evicted: []string{"ns/web-1"}, Deleted: []string{"ns/db-0", "ns/cache-0"}, Blocked: blocked, Completed: true}, nil).Once()
	r.happyPath()
	var draining, terminating NodeState
	r.signalAt(10*time.Minute, SignalDrain, DrainRequest{Reason: "maintenance"})
	r.queryAt(t, 10*time.Minute+30*time.Second, &draining)
	r.queryAt(t, 11*time.Minute+30*time.Second, &terminating)
	r.executeClaim(claimWith(0, 10*time.Minute))

	d := draining.Disruption
	if draining.Phase != PhaseDraining || d == nil || d.Source != SourceManual || d.Reason != "maintenance" ||
		d.Deadline == nil || !d.Deadline.Equal(r.start.Add(20*time.Minute)) {
		t.Errorf("state during the drain: phase %s, disruption %+v; want Draining, Manual maintenance, deadline 20m", draining.Phase, d)
	}
	if len(draining.PodsLeft) != 0 {
		t.Errorf("pods left %v before the drain answered, want none", draining.PodsLeft)
	}
	if terminating.Phase != PhaseTerminating || !maps.Equal(terminating.PodsLeft, blocked) {
		t.Errorf("state after the drain: phase %s, pods left %v; want Terminating with %v", terminating.Phase, terminating.PodsLeft, blocked)
	}
	if final := r.finalState(t); !maps.Equal(final.PodsLeft, blocked) {
		t.Errorf("final pods left %v, want %v", final.PodsLeft, blocked)
	}
}
