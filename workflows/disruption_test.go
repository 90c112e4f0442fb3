package workflows

import (
	"cmp"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

func TestDisruptionPassWithNothingToDo(t *testing.T) {
	skipped := map[string]string{"ip-a": "pod ns/web-1 has karpenter.sh/do-not-disrupt", "ip-b": "NodePool budget allows 0"}
	r := newDisruptionRun(t, findAnswer{decision: activities.DisruptionDecision{Skipped: skipped}})
	var st DisruptionState
	r.stateAt(t, 15*time.Second, &st)
	r.run(t, 15*time.Second, DisruptionInput{})

	if !slices.Equal(r.findTimes, []time.Duration{10 * time.Second}) {
		t.Errorf("looked for disruptions at %v, want [10s]", r.findTimes)
	}
	if len(r.signals) != 0 || len(r.validations) != 0 || len(r.replacements) != 0 {
		t.Errorf("signals %v, validations %v, replacements %v: want none with nothing to do", r.signals, r.validations, r.replacements)
	}
	if st.Passes != 1 || st.Decisions != 0 || len(st.Recent) != 0 {
		t.Errorf("state passes=%d decisions=%d recent=%v, want 1, 0 and none", st.Passes, st.Decisions, st.Recent)
	}
	if !maps.Equal(st.LastSkipped, skipped) {
		t.Errorf("LastSkipped %v, want %v", st.LastSkipped, skipped)
	}
}

func TestDisruptionActsOnADecision(t *testing.T) {
	tests := []struct {
		name        string
		found       findAnswer
		invalid     string
		validateErr error
		// wantValidatedAt is when the decision was re-checked; 0 is never.
		wantValidatedAt time.Duration
		// wantSignalAt is when the disrupt signals went out; 0 is never.
		wantSignalAt time.Duration
		wantOutcome  string // prefix
	}{
		{
			name:            "an empty node is re-checked after the validation delay and then told to go",
			found:           decided(disruption.ReasonEmpty, 0.19, "default-aaaaa", "default-bbbbb"),
			wantValidatedAt: 25 * time.Second,
			wantSignalAt:    25 * time.Second,
			wantOutcome:     "Disrupted",
		},
		{
			name:         "a drifted node is told to go at once, without re-checking",
			found:        decided(disruption.ReasonDrifted, 0, "default-aaaaa"),
			wantSignalAt: 10 * time.Second,
			wantOutcome:  "Disrupted",
		},
		{
			name:            "an underutilized node that no longer qualifies is left alone",
			found:           decided(disruption.ReasonUnderutilized, 0.05, "default-aaaaa"),
			invalid:         "node ip-default-aaaaa gained pod ns/web-3",
			wantValidatedAt: 25 * time.Second,
			wantOutcome:     "no longer valid: node ip-default-aaaaa gained pod ns/web-3",
		},
		{
			name:            "a decision that cannot be re-checked is dropped",
			found:           decided(disruption.ReasonUnderutilized, 0.05, "default-aaaaa"),
			validateErr:     temporal.NewNonRetryableApplicationError("list nodes: connection refused", "KubeError", nil),
			wantValidatedAt: 25 * time.Second,
			wantOutcome:     "validation failed: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDisruptionRun(t, tt.found)
			r.invalid, r.validateErr = tt.invalid, tt.validateErr
			var st DisruptionState
			r.stateAt(t, time.Minute, &st)
			r.run(t, time.Minute, DisruptionInput{})

			var validatedAt []time.Duration
			for _, v := range r.validations {
				validatedAt = append(validatedAt, v.at)
				if !slices.Equal(v.cmd.Nodes, tt.found.decision.Command.Nodes) || v.cmd.Reason != tt.found.decision.Command.Reason {
					t.Errorf("validated %+v, want the decision %+v", v.cmd, *tt.found.decision.Command)
				}
			}
			if want := timesOrNone(tt.wantValidatedAt, 1); !slices.Equal(validatedAt, want) {
				t.Errorf("validated at %v, want %v", validatedAt, want)
			}
			if len(st.Recent) != 1 {
				t.Fatalf("recent decisions %+v, want exactly one", st.Recent)
			}
			rec := st.Recent[0]
			if !strings.HasPrefix(rec.Outcome, tt.wantOutcome) {
				t.Errorf("outcome %q, want it to start with %q", rec.Outcome, tt.wantOutcome)
			}
			cmd := tt.found.decision.Command
			if rec.Method != cmd.Method || rec.Reason != cmd.Reason || !slices.Equal(rec.Nodes, cmd.Nodes) ||
				rec.Savings != cmd.Savings || !rec.At.Equal(r.start.Add(10*time.Second)) || !strings.HasSuffix(rec.ID, "-1") {
				t.Errorf("recorded %+v, want the command %+v decided at 10s with an id ending -1", rec, *cmd)
			}
			if st.Decisions != 1 {
				t.Errorf("decisions %d, want 1", st.Decisions)
			}

			var want []sentSignal
			if tt.wantSignalAt > 0 {
				for _, n := range tt.found.decision.Nodes {
					want = append(want, sentSignal{
						at: tt.wantSignalAt, workflowID: NodeWorkflowID(n.Claim), name: SignalDisrupt,
						arg: Disrupt{Reason: cmd.Reason, DecisionID: rec.ID, Savings: cmd.Savings}, each: true,
					})
				}
			}
			if !slices.Equal(r.signals, want) {
				t.Errorf("signals %+v, want %+v", r.signals, want)
			}
		})
	}
}

// timesOrNone is n times d, or none when d is 0.
func timesOrNone(d time.Duration, n int) []time.Duration {
	if d == 0 {
		return nil
	}
	return slices.Repeat([]time.Duration{d}, n)
}

func TestDisruptionLaunchesTheReplacementFirst(t *testing.T) {
	found := withReplacement(decided(disruption.ReasonUnderutilized, 0.3, "default-aaaaa", "default-bbbbb"), "default")
	found.decision.Replacement.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
	r := newDisruptionRun(t, found)
	r.goneAfter = time.Second // the candidates are gone a second after they are told
	// The replacement starts at 25s, after validation.
	r.at(time.Minute, func() {
		r.env.SignalWorkflow(SignalNodeReady, NodeReady{Claim: "default-other", NodeName: "ip-other"})
	})
	r.replacementReadyAt(t, 2*time.Minute)
	var st DisruptionState
	r.stateAt(t, 3*time.Minute, &st)
	r.run(t, 3*time.Minute, DisruptionInput{})

	claim := r.replacementClaim(t)
	start := r.replacements[0]
	if start.at != 25*time.Second {
		t.Errorf("replacement started at %s, want 25s, after validation", start.at)
	}
	var reasons []string
	for _, a := range r.announced {
		if len(a.Nodes) != 2 || a.Nodes[0].Claim != "default-aaaaa" {
			t.Errorf("event %s on %+v, want it on the decision's two nodes", a.Reason, a.Nodes)
		}
		reasons = append(reasons, a.Reason)
	}
	if !slices.Equal(reasons, []string{"DisruptionLaunching", "DisruptionWaitingReadiness"}) {
		t.Errorf("events on the candidates %v, want DisruptionLaunching then DisruptionWaitingReadiness", reasons)
	}
	if start.id != NodeWorkflowID(claim) || start.in.Notify != DisruptionID {
		t.Errorf("replacement workflow %q notifying %q, want %s notifying %q", start.id, start.in.Notify, NodeWorkflowID(claim), DisruptionID)
	}
	if !strings.HasPrefix(claim, "default-") || !claimNamePattern.MatchString(claim) {
		t.Errorf("replacement claim %q is not default-<5 lowercase alphanumerics>", claim)
	}
	if got, want := start.in.Claim.InstanceTypes, found.decision.Replacement.InstanceTypes; start.in.Claim.NodePool != "default" || !slices.Equal(got, want) {
		t.Errorf("replacement claim %+v, want the decision's %+v", start.in.Claim, *found.decision.Replacement)
	}
	if len(st.Recent) != 1 || st.Recent[0].Outcome != "Disrupted" || st.Recent[0].Replacement != claim {
		t.Fatalf("recent %+v, want one Disrupted decision with replacement %s", st.Recent, claim)
	}
	// The Provisioner counts the replacement against the pool's limits while it boots.
	if len(r.signals) == 0 || r.signals[0].name != SignalClaimStarted || r.signals[0].workflowID != ProvisionerID || r.signals[0].at != 25*time.Second {
		t.Fatalf("signals %+v, want claim-started to the provisioner first, at 25s", r.signals)
	}
	if got := r.signals[0].arg.(ClaimStarted); got.Name != claim || got.NodePool != "default" || !got.Capacity.Cpu().Equal(resource.MustParse("4")) {
		t.Errorf("claim-started %+v, want claim %s of pool default with the replacement's 4 CPU", got, claim)
	}
	var want []sentSignal
	for _, c := range []string{"default-aaaaa", "default-bbbbb"} {
		want = append(want, sentSignal{
			at: 2 * time.Minute, workflowID: NodeWorkflowID(c), name: SignalDisrupt,
			arg: Disrupt{Reason: disruption.ReasonUnderutilized, DecisionID: st.Recent[0].ID, Savings: 0.3, Replacement: claim}, each: true,
		})
	}
	if !slices.Equal(r.signals[1:], want) {
		t.Errorf("signals %+v, want %+v: the old nodes go only once their replacement is Ready", r.signals, want)
	}
	// The controller waited in the pass; the next pass decides at once, ahead of the
	// candidates leaving.
	if got := r.findTimes[:2]; !slices.Equal(got, []time.Duration{10 * time.Second, 2 * time.Minute}) ||
		r.findsAhead[1] != "ip-default-aaaaa ip-default-bbbbb" {
		t.Errorf("looked for disruptions at %v (ahead of %q), want 10s and then 2m0s ahead of the candidates", got, r.findsAhead)
	}
}

func TestDisruptionTaintsCandidatesBeforeTheirReplacementBoots(t *testing.T) {
	both := "ip-default-aaaaa ip-default-bbbbb"
	tests := []struct {
		name  string
		found findAnswer
		want  []candidateStep
	}{
		{
			name:  "with a replacement, the candidates are tainted before it launches and re-checked once it is Ready",
			found: withReplacement(decided(disruption.ReasonUnderutilized, 0.3, "default-aaaaa", "default-bbbbb"), "default"),
			want: []candidateStep{
				{at: 25 * time.Second, what: "taint", nodes: both}, {at: 25 * time.Second, what: "launch"},
				{at: 2 * time.Minute, what: "recheck", nodes: both},
				{at: 2 * time.Minute, what: "disrupt", nodes: NodeWorkflowID("default-aaaaa")},
				{at: 2 * time.Minute, what: "disrupt", nodes: NodeWorkflowID("default-bbbbb")},
			},
		},
		{
			name:  "without one, the candidates are tainted and told to go at once",
			found: decided(disruption.ReasonEmpty, 0.3, "default-aaaaa", "default-bbbbb"),
			want: []candidateStep{
				{at: 25 * time.Second, what: "taint", nodes: both},
				{at: 25 * time.Second, what: "disrupt", nodes: NodeWorkflowID("default-aaaaa")},
				{at: 25 * time.Second, what: "disrupt", nodes: NodeWorkflowID("default-bbbbb")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDisruptionRun(t, tt.found)
			if tt.found.decision.Replacement != nil {
				r.replacementReadyAt(t, 2*time.Minute)
			}
			var st DisruptionState
			r.stateAt(t, 3*time.Minute, &st)
			r.run(t, 3*time.Minute, DisruptionInput{})

			if !slices.Equal(r.steps, tt.want) {
				t.Errorf("steps %+v, want %+v", r.steps, tt.want)
			}
			if len(st.Recent) != 1 || st.Recent[0].Outcome != "Disrupted" {
				t.Errorf("recent %+v, want one Disrupted decision", st.Recent)
			}
		})
	}
}

func TestDisruptionUntaintsTheCandidatesOfADroppedDecision(t *testing.T) {
	both := "ip-default-aaaaa ip-default-bbbbb"
	kubeDown := temporal.NewNonRetryableApplicationError("connection refused", "KubeError", nil)
	tests := []struct {
		name            string
		taintErr        error
		recheckInvalid  string
		recheckErr      error
		signalErr       map[string]error
		signalEachFails bool
		// failAt sends claim-failed for the replacement, readyAt node-ready; 0 never.
		failAt, readyAt time.Duration
		wantSteps       []candidateStep
		wantOutcome     string // prefix, with %s for the replacement's claim
	}{
		{
			name:        "tainting that fails drops the decision before anything is launched",
			taintErr:    kubeDown,
			wantSteps:   []candidateStep{{at: 25 * time.Second, what: "taint", nodes: both}, {at: 25 * time.Second, what: "untaint", nodes: both}},
			wantOutcome: "taint candidates failed: ",
		},
		{
			name:   "a replacement that fails to launch",
			failAt: time.Minute,
			wantSteps: []candidateStep{
				{at: 25 * time.Second, what: "taint", nodes: both}, {at: 25 * time.Second, what: "launch"},
				{at: time.Minute, what: "untaint", nodes: both},
			},
			wantOutcome: "replacement %s failed: no capacity",
		},
		{
			name:           "candidates something protects once the replacement is Ready",
			readyAt:        2 * time.Minute,
			recheckInvalid: "node ip-default-aaaaa: pod ns/db-0 is annotated karpenter.sh/do-not-disrupt",
			wantSteps: []candidateStep{
				{at: 25 * time.Second, what: "taint", nodes: both}, {at: 25 * time.Second, what: "launch"},
				{at: 2 * time.Minute, what: "recheck", nodes: both}, {at: 2 * time.Minute, what: "untaint", nodes: both},
			},
			wantOutcome: "no longer valid once the replacement was Ready: node ip-default-aaaaa: pod ns/db-0 is annotated karpenter.sh/do-not-disrupt",
		},
		{
			name:       "candidates that cannot be re-checked",
			readyAt:    2 * time.Minute,
			recheckErr: kubeDown,
			wantSteps: []candidateStep{
				{at: 25 * time.Second, what: "taint", nodes: both}, {at: 25 * time.Second, what: "launch"},
				{at: 2 * time.Minute, what: "recheck", nodes: both}, {at: 2 * time.Minute, what: "untaint", nodes: both},
			},
			wantOutcome: "no longer valid once the replacement was Ready: re-check failed: ",
		},
		{
			name:      "only the candidate whose workflow cannot be told is untainted",
			readyAt:   2 * time.Minute,
			signalErr: map[string]error{NodeWorkflowID("default-bbbbb"): errors.New("workflow not found")},
			wantSteps: []candidateStep{
				{at: 25 * time.Second, what: "taint", nodes: both}, {at: 25 * time.Second, what: "launch"},
				{at: 2 * time.Minute, what: "recheck", nodes: both},
				{at: 2 * time.Minute, what: "disrupt", nodes: NodeWorkflowID("default-aaaaa")},
				{at: 2 * time.Minute, what: "untaint", nodes: "ip-default-bbbbb"},
			},
			wantOutcome: "Disrupted",
		},
		{
			name:            "a SignalEach call that fails is taken over by signal commands, and nobody is untainted",
			readyAt:         2 * time.Minute,
			signalEachFails: true,
			wantSteps: []candidateStep{
				{at: 25 * time.Second, what: "taint", nodes: both}, {at: 25 * time.Second, what: "launch"},
				{at: 2 * time.Minute, what: "recheck", nodes: both},
				{at: 2 * time.Minute, what: "disrupt", nodes: NodeWorkflowID("default-aaaaa")},
				{at: 2 * time.Minute, what: "disrupt", nodes: NodeWorkflowID("default-bbbbb")},
			},
			wantOutcome: "Disrupted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDisruptionRun(t, withReplacement(decided(disruption.ReasonUnderutilized, 0.3, "default-aaaaa", "default-bbbbb"), "default"))
			r.taintErr, r.recheckInvalid, r.recheckErr, r.signalErr = tt.taintErr, tt.recheckInvalid, tt.recheckErr, tt.signalErr
			r.signalEachFails = tt.signalEachFails
			if tt.failAt > 0 {
				r.at(tt.failAt, func() {
					r.env.SignalWorkflow(SignalClaimFailed, ClaimFailed{Claim: r.replacementClaim(t), Reason: "no capacity"})
				})
			}
			if tt.readyAt > 0 {
				r.replacementReadyAt(t, tt.readyAt)
			}
			var st DisruptionState
			r.stateAt(t, 3*time.Minute, &st)
			r.run(t, 3*time.Minute, DisruptionInput{})

			if !slices.Equal(r.steps, tt.wantSteps) {
				t.Errorf("steps %+v, want %+v", r.steps, tt.wantSteps)
			}
			if len(st.Recent) != 1 {
				t.Fatalf("recent %+v, want one decision", st.Recent)
			}
			want := tt.wantOutcome
			if strings.Contains(want, "%s") {
				want = strings.ReplaceAll(want, "%s", r.replacementClaim(t))
			}
			if got := st.Recent[0].Outcome; !strings.HasPrefix(got, want) {
				t.Errorf("outcome %q, want it to start with %q", got, want)
			}
			for _, s := range r.signals {
				if s.name == SignalDisrupt && s.each == tt.signalEachFails {
					t.Errorf("disrupt to %s sent by SignalEach %v, want %v", s.workflowID, s.each, !tt.signalEachFails)
				}
			}
		})
	}
}

func TestDisruptionDropsADecisionWhoseReplacementNeverComes(t *testing.T) {
	tests := []struct {
		name string
		// failAt sends claim-failed for the replacement; 0 never.
		failAt      time.Duration
		wantOutcome string // with %s for the claim name
		wantPassAt  time.Duration
	}{
		{
			name:        "a replacement that fails to launch stops the decision",
			failAt:      time.Minute,
			wantOutcome: "replacement %s failed: no capacity",
			wantPassAt:  time.Minute + 10*time.Second,
		},
		{
			name:        "a replacement not Ready within 15 minutes stops the decision",
			wantOutcome: "replacement %s not Ready within 15m0s",
			wantPassAt:  25*time.Second + 15*time.Minute + 10*time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDisruptionRun(t, withReplacement(decided(disruption.ReasonUnderutilized, 0.3, "default-aaaaa"), "default"))
			if tt.failAt > 0 {
				r.at(tt.failAt-time.Second, func() {
					r.env.SignalWorkflow(SignalClaimFailed, ClaimFailed{Claim: "default-other", Reason: "someone else's"})
				})
				r.at(tt.failAt, func() {
					r.env.SignalWorkflow(SignalClaimFailed, ClaimFailed{Claim: r.replacementClaim(t), Reason: "no capacity"})
				})
			}
			var st DisruptionState
			r.stateAt(t, 20*time.Minute, &st)
			r.run(t, 20*time.Minute, DisruptionInput{})

			if d := r.disrupts(); len(d) != 0 {
				t.Errorf("disrupt signals %+v, want none without a Ready replacement", d)
			}
			if len(st.Recent) != 1 {
				t.Fatalf("recent %+v, want one decision", st.Recent)
			}
			claim := r.replacementClaim(t)
			if got, want := st.Recent[0].Outcome, strings.ReplaceAll(tt.wantOutcome, "%s", claim); got != want {
				t.Errorf("outcome %q, want %q", got, want)
			}
			if st.Recent[0].Replacement != claim {
				t.Errorf("recorded replacement %q, want %q", st.Recent[0].Replacement, claim)
			}
			if len(r.findTimes) < 2 || r.findTimes[1] != tt.wantPassAt {
				t.Errorf("looked for disruptions at %v, want the second pass at %s", r.findTimes, tt.wantPassAt)
			}
		})
	}
}

func TestDisruptionCarriesOnAfterAFailedLookup(t *testing.T) {
	r := newDisruptionRun(t,
		findAnswer{err: temporal.NewNonRetryableApplicationError("list pods: connection refused", "KubeError", nil)},
		decided(disruption.ReasonDrifted, 0, "default-aaaaa"),
	)
	r.goneAfter = time.Second
	var st DisruptionState
	r.stateAt(t, 25*time.Second, &st)
	r.run(t, 25*time.Second, DisruptionInput{})

	// A failed lookup waits a period; the decision at 20s is followed by a pass once its node
	// is gone, a second later.
	if !slices.Equal(r.findTimes, []time.Duration{10 * time.Second, 20 * time.Second, 21 * time.Second}) {
		t.Errorf("looked for disruptions at %v, want 10s, 20s and 21s", r.findTimes)
	}
	if d := r.disrupts(); len(d) != 1 || d[0].at != 20*time.Second || d[0].workflowID != NodeWorkflowID("default-aaaaa") {
		t.Errorf("disrupt signals %+v, want one to node/default-aaaaa at 20s", d)
	}
	if st.Passes != 3 || st.Decisions != 1 {
		t.Errorf("passes=%d decisions=%d, want 3 and 1", st.Passes, st.Decisions)
	}
}

func TestDisruptionHonoursItsTiming(t *testing.T) {
	tests := []struct {
		name      string
		invalid   string
		goneAfter time.Duration
		goneErr   error
		signalErr error
		// before: a workflow begun before deciding ahead.
		before bool
		// wantFinds are the passes; wantDisruptAt is when the signal went out, 0 for never;
		// wantWaitAt is when the wait for the candidates to go began, 0 for never.
		wantFinds     []time.Duration
		wantDisruptAt time.Duration
		wantWaitAt    time.Duration
	}{
		{
			// Pass 1 at 3s waits 2s to validate and carries the decision out; pass 2 decides
			// at once, ahead of the candidate leaving, finds nothing, and pass 3 waits the period.
			name:          "a decision carried out is followed by a pass at once",
			goneAfter:     time.Second,
			wantFinds:     []time.Duration{3 * time.Second, 5 * time.Second, 8 * time.Second, 11 * time.Second},
			wantDisruptAt: 5 * time.Second,
		},
		{
			// Pass 2 looks again once the candidate is gone, a second later.
			name: "before deciding ahead, a decision carried out is followed by a pass once its nodes are gone", before: true,
			goneAfter:     time.Second,
			wantFinds:     []time.Duration{3 * time.Second, 6 * time.Second, 9 * time.Second, 12 * time.Second},
			wantDisruptAt: 5 * time.Second,
			wantWaitAt:    5 * time.Second,
		},
		{
			name: "before deciding ahead, a wait for the nodes that fails is a period instead", before: true,
			goneErr:       temporal.NewNonRetryableApplicationError("the cache of Nodes has not synced yet", "KubeError", nil),
			wantFinds:     []time.Duration{3 * time.Second, 8 * time.Second, 11 * time.Second},
			wantDisruptAt: 5 * time.Second,
			wantWaitAt:    5 * time.Second,
		},
		{
			name:          "a decision whose candidate could not be told waits the period, not for it to go",
			signalErr:     errors.New("workflow not found"),
			wantFinds:     []time.Duration{3 * time.Second, 8 * time.Second, 11 * time.Second},
			wantDisruptAt: 0,
		},
		{
			name:      "a decision dropped at validation waits the period",
			invalid:   "node ip-default-aaaaa gained pod ns/web-3",
			wantFinds: []time.Duration{3 * time.Second, 8 * time.Second, 11 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDisruptionRun(t, decided(disruption.ReasonEmpty, 0.1, "default-aaaaa"))
			r.invalid, r.goneAfter, r.goneErr, r.beforeDecidingAhead = tt.invalid, tt.goneAfter, tt.goneErr, tt.before
			if tt.signalErr != nil {
				r.signalErr = map[string]error{NodeWorkflowID("default-aaaaa"): tt.signalErr}
			}
			r.run(t, 13*time.Second, DisruptionInput{Period: Duration(3 * time.Second), ValidationDelay: Duration(2 * time.Second)})

			if !slices.Equal(r.findTimes, tt.wantFinds) {
				t.Errorf("looked for disruptions at %v, want %v (%q)", r.findTimes, tt.wantFinds, r.findsAhead)
			}
			if len(r.validations) != 1 || r.validations[0].at != 5*time.Second {
				t.Errorf("validations %+v, want one at 5s", r.validations)
			}
			d := r.disrupts()
			switch {
			case tt.wantDisruptAt == 0 && len(d) != 0:
				t.Errorf("disrupt signals %+v, want none", d)
			case tt.wantDisruptAt != 0 && (len(d) != 1 || d[0].at != tt.wantDisruptAt):
				t.Errorf("disrupt signals %+v, want one at %s", d, tt.wantDisruptAt)
			}
			want := []candidateStep{{at: tt.wantWaitAt, what: "wait 3s", nodes: "ip-default-aaaaa"}}
			if tt.wantWaitAt == 0 {
				want = nil
			}
			if !slices.Equal(r.goneWaits, want) {
				t.Errorf("waits for the candidates to go %+v, want %+v (at most a period)", r.goneWaits, want)
			}
		})
	}
}

// TestDisruptionLooksAgainOnceItsBudgetIsBack: in a workflow begun before deciding ahead,
// after a decision, the next pass waits only until the budget room the decision left and
// the nodes gone since are worth a decision.
func TestDisruptionLooksAgainOnceItsBudgetIsBack(t *testing.T) {
	// A validation of 2s and a period of 3s make a pass worth it with room for 2 of the
	// decision's 3 nodes (worthDeciding).
	tests := []struct {
		name      string
		reason    string // Empty when unset
		roomAfter int
		// wantFinds are the passes; wantWait the wait for the candidates to go, "" for none,
		// beginning at wantWaitAt (5s when unset: after the validation).
		wantFinds  []time.Duration
		wantWait   string
		wantWaitAt time.Duration
	}{
		{
			name: "no room left waits until two are gone", roomAfter: 0,
			wantFinds: []time.Duration{3 * time.Second, 6 * time.Second, 9 * time.Second, 12 * time.Second},
			wantWait:  "wait 3s until 2 gone",
		},
		{
			name: "room for one waits until one is gone", roomAfter: 1,
			wantFinds: []time.Duration{3 * time.Second, 6 * time.Second, 9 * time.Second, 12 * time.Second},
			wantWait:  "wait 3s until 1 gone",
		},
		{
			// Pass 2 comes as the decision is carried out, finds nothing, and pass 3 waits the period.
			name: "room for a decision worth its validation looks again at once", roomAfter: 2,
			wantFinds: []time.Duration{3 * time.Second, 5 * time.Second, 8 * time.Second, 11 * time.Second},
		},
		{
			// No validation: told at 3s, gone a second later.
			name: "a drift waits for all its nodes whatever the room", reason: disruption.ReasonDrifted, roomAfter: 3,
			wantFinds: []time.Duration{3 * time.Second, 4 * time.Second, 7 * time.Second, 10 * time.Second},
			wantWait:  "wait 3s", wantWaitAt: 3 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found := decided(cmp.Or(tt.reason, disruption.ReasonEmpty), 0.3, "default-aaaaa", "default-bbbbb", "default-ccccc")
			found.decision.RoomAfter = tt.roomAfter
			r := newDisruptionRun(t, found)
			r.goneAfter = time.Second
			r.beforeDecidingAhead = true
			r.run(t, 13*time.Second, DisruptionInput{Period: Duration(3 * time.Second), ValidationDelay: Duration(2 * time.Second)})

			if !slices.Equal(r.findTimes, tt.wantFinds) {
				t.Errorf("looked for disruptions at %v, want %v (%q)", r.findTimes, tt.wantFinds, r.findsAhead)
			}
			if d := r.disrupts(); len(d) != 3 {
				t.Errorf("disrupt signals %+v, want three", d)
			}
			var want []candidateStep
			if tt.wantWait != "" {
				want = []candidateStep{{at: cmp.Or(tt.wantWaitAt, 5*time.Second), what: tt.wantWait, nodes: "ip-default-aaaaa ip-default-bbbbb ip-default-ccccc"}}
			}
			if !slices.Equal(r.goneWaits, want) {
				t.Errorf("waits for the candidates to go %+v, want %+v", r.goneWaits, want)
			}
		})
	}
}

// TestDisruptionDecidesAheadWhileNodesLeave: after a decision carried out, the next pass
// decides at once as if its nodes were gone, and validates (counting the budgets again)
// only once they are.
func TestDisruptionDecidesAheadWhileNodesLeave(t *testing.T) {
	first := []string{"default-aaaaa", "default-bbbbb"}
	const firstNodes = "ip-default-aaaaa ip-default-bbbbb"
	tests := []struct {
		name     string
		first    string // the first decision's reason
		next     string // the next decision's reason, "" for none
		goneErr  error
		goneLeft int
		// invalid answers the second validation (the decision made ahead).
		invalid  string
		wantFind []time.Duration
		// wantAhead is each pass's leaving nodes; wantWaits the waits for nodes to go;
		// wantValidations when each validation was made; wantDisrupts the disrupt signals' times.
		wantAhead       []string
		wantWaits       []candidateStep
		wantValidations []time.Duration
		wantDisrupts    []time.Duration
	}{
		{
			// Told at 5s; pass 2 decides at 5s, validates at 7s once the first nodes are
			// gone (8s); pass 3 decides ahead of pass 2's node at 8s, finds nothing.
			name: "the next decision is validated once the last one's nodes are gone", first: disruption.ReasonEmpty, next: disruption.ReasonUnderutilized,
			wantFind:        []time.Duration{3 * time.Second, 5 * time.Second, 8 * time.Second, 11 * time.Second},
			wantAhead:       []string{"", firstNodes, "ip-default-ccccc", ""},
			wantWaits:       []candidateStep{{at: 7 * time.Second, what: "wait 2m0s", nodes: firstNodes}},
			wantValidations: []time.Duration{5 * time.Second, 8 * time.Second},
			wantDisrupts:    []time.Duration{5 * time.Second, 5 * time.Second, 8 * time.Second},
		},
		{
			// A drift has no validation delay, but counts the budgets once the nodes are gone.
			name: "a drift decided ahead is validated once the last decision's nodes are gone", first: disruption.ReasonEmpty, next: disruption.ReasonDrifted,
			wantFind:        []time.Duration{3 * time.Second, 5 * time.Second, 7 * time.Second, 10 * time.Second},
			wantAhead:       []string{"", firstNodes, "", ""},
			wantWaits:       []candidateStep{{at: 5 * time.Second, what: "wait 2m0s", nodes: firstNodes}, {at: 6 * time.Second, what: "wait 3s", nodes: "ip-default-ccccc"}},
			wantValidations: []time.Duration{5 * time.Second, 6 * time.Second},
			wantDisrupts:    []time.Duration{5 * time.Second, 5 * time.Second, 6 * time.Second},
		},
		{
			// The budgets are then counted as the nodes stand. The wait fails a second in.
			name: "a wait that fails validates all the same", first: disruption.ReasonEmpty, next: disruption.ReasonEmpty,
			goneErr:         temporal.NewNonRetryableApplicationError("the cache of Nodes has not synced yet", "KubeError", nil),
			wantFind:        []time.Duration{3 * time.Second, 5 * time.Second, 8 * time.Second, 11 * time.Second},
			wantAhead:       []string{"", firstNodes, "ip-default-ccccc", ""},
			wantWaits:       []candidateStep{{at: 7 * time.Second, what: "wait 2m0s", nodes: firstNodes}},
			wantValidations: []time.Duration{5 * time.Second, 8 * time.Second},
			wantDisrupts:    []time.Duration{5 * time.Second, 5 * time.Second, 8 * time.Second},
		},
		{
			// The last decision's nodes outlast the wait: the decision is validated as they
			// stand, refused for its budget, and the next pass waits a period.
			name: "nodes still there after the wait leave the decision to its validation", first: disruption.ReasonEmpty, next: disruption.ReasonEmpty,
			goneLeft: 1, invalid: "disruption budgets no longer allow 1 nodes for Empty",
			wantFind:        []time.Duration{3 * time.Second, 5 * time.Second, 11 * time.Second},
			wantAhead:       []string{"", firstNodes, ""},
			wantWaits:       []candidateStep{{at: 7 * time.Second, what: "wait 2m0s", nodes: firstNodes}},
			wantValidations: []time.Duration{5 * time.Second, 8 * time.Second},
			wantDisrupts:    []time.Duration{5 * time.Second, 5 * time.Second},
		},
		{
			// A drift has no validation to overlap with its nodes leaving.
			name: "after a drift the next pass waits for its nodes", first: disruption.ReasonDrifted,
			wantFind:     []time.Duration{3 * time.Second, 4 * time.Second, 7 * time.Second, 10 * time.Second},
			wantAhead:    []string{"", "", "", ""},
			wantWaits:    []candidateStep{{at: 3 * time.Second, what: "wait 3s", nodes: firstNodes}},
			wantDisrupts: []time.Duration{3 * time.Second, 3 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			finds := []findAnswer{decided(tt.first, 0.3, first...)}
			if tt.next != "" {
				finds = append(finds, decided(tt.next, 0.1, "default-ccccc"))
			}
			r := newDisruptionRun(t, finds...)
			r.goneAfter, r.goneErr, r.goneLeft = time.Second, tt.goneErr, tt.goneLeft
			r.invalidAt = func(n int) string {
				if n == 2 {
					return tt.invalid
				}
				return ""
			}
			r.run(t, 12*time.Second+500*time.Millisecond, DisruptionInput{Period: Duration(3 * time.Second), ValidationDelay: Duration(2 * time.Second)})

			if !slices.Equal(r.findTimes, tt.wantFind) || !slices.Equal(r.findsAhead, tt.wantAhead) {
				t.Errorf("looked for disruptions at %v ahead of %q, want %v ahead of %q", r.findTimes, r.findsAhead, tt.wantFind, tt.wantAhead)
			}
			if !slices.Equal(r.goneWaits, tt.wantWaits) {
				t.Errorf("waits for nodes to go %+v, want %+v", r.goneWaits, tt.wantWaits)
			}
			var validated, disrupted []time.Duration
			for _, v := range r.validations {
				validated = append(validated, v.at)
			}
			for _, d := range r.disrupts() {
				disrupted = append(disrupted, d.at)
			}
			if !slices.Equal(validated, tt.wantValidations) || !slices.Equal(disrupted, tt.wantDisrupts) {
				t.Errorf("validated at %v and told nodes to go at %v, want %v and %v", validated, disrupted, tt.wantValidations, tt.wantDisrupts)
			}
		})
	}
}

func TestWorthDeciding(t *testing.T) {
	tests := []struct {
		n                  int
		validation, period time.Duration
		want               int
	}{
		{n: 100, validation: 15 * time.Second, period: 10 * time.Second, want: 60},
		{n: 167, validation: 15 * time.Second, period: 10 * time.Second, want: 101},
		{n: 3, validation: 2 * time.Second, period: 3 * time.Second, want: 2},
		{n: 1, validation: 15 * time.Second, period: 10 * time.Second, want: 1},
		{n: 5, validation: 0, period: 10 * time.Second, want: 5},
	}
	for _, tt := range tests {
		if got := worthDeciding(tt.n, tt.validation, tt.period); got != tt.want {
			t.Errorf("worthDeciding(%d, %s, %s) = %d, want %d", tt.n, tt.validation, tt.period, got, tt.want)
		}
	}
}

func TestDisruptionRemembersTheLastTwentyDecisions(t *testing.T) {
	var finds []findAnswer
	for range 25 {
		finds = append(finds, decided(disruption.ReasonDrifted, 0, "default-aaaaa"))
	}
	r := newDisruptionRun(t, finds...)
	var st DisruptionState
	r.stateAt(t, 255*time.Second, &st)
	r.run(t, 255*time.Second, DisruptionInput{})

	if st.Decisions != 25 || len(st.Recent) != 20 {
		t.Fatalf("decisions=%d recent=%d, want 25 and the last 20", st.Decisions, len(st.Recent))
	}
	if first, last := st.Recent[0], st.Recent[19]; !strings.HasSuffix(first.ID, "-6") || !strings.HasSuffix(last.ID, "-25") {
		t.Errorf("recent runs from %s to %s, want decisions 6 to 25, newest last", first.ID, last.ID)
	}
}

func TestDisruptionContinuesAsNew(t *testing.T) {
	t.Run("when suggested, it carries its state and timing into the next run", func(t *testing.T) {
		r := newDisruptionRun(t, decided(disruption.ReasonDrifted, 0, "default-aaaaa"))
		r.goneAfter = time.Second
		r.at(16*time.Second, func() { r.env.SetContinueAsNewSuggested(true) })
		in := DisruptionInput{Period: Duration(7 * time.Second), ValidationDelay: Duration(3 * time.Second)}
		r.execute(in)

		next := continuedAs[DisruptionInput](t, r.env)
		if next.Period != in.Period || next.ValidationDelay != in.ValidationDelay {
			t.Errorf("carried period %s and validation delay %s, want %s and %s", time.Duration(next.Period), time.Duration(next.ValidationDelay), time.Duration(in.Period), time.Duration(in.ValidationDelay))
		}
		// Passes at 7s (the drift decision), 8s, 15s and 22s; the suggestion at 16s ends the
		// run after the fourth.
		if s := next.State; s.Passes != 4 || s.Decisions != 1 || len(s.Recent) != 1 || s.Recent[0].Outcome != "Disrupted" {
			t.Errorf("carried state %+v, want 4 passes and the one Disrupted decision", s)
		}
		if r.since() != 22*time.Second {
			t.Errorf("continued as new at %s, want 22s, after the pass under way", r.since())
		}
	})

	t.Run("after a thousand passes in one run, whatever was carried in", func(t *testing.T) {
		r := newDisruptionRun(t)
		r.execute(DisruptionInput{State: DisruptionState{Passes: 5000, Decisions: 7}})

		next := continuedAs[DisruptionInput](t, r.env)
		if next.State.Passes != 6000 || next.State.Decisions != 7 {
			t.Errorf("carried passes=%d decisions=%d, want 6000 and 7", next.State.Passes, next.State.Decisions)
		}
		if len(r.findTimes) != 1000 {
			t.Errorf("%d passes in this run, want 1000", len(r.findTimes))
		}
	})
}
