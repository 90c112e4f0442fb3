package workflows

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

// DisruptionPause is the kill switch's state while voluntary disruption is paused.
type DisruptionPause struct {
	// Since is when the first pause arrived; pausing again does not move it.
	Since  time.Time `json:"since"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
	// Withheld counts the decisions not carried out because of the pause, LastWithheld
	// names the newest ("Underutilized: ip-a ip-b").
	Withheld     int    `json:"withheld,omitempty"`
	LastWithheld string `json:"lastWithheld,omitempty"`
}

// changePauseDisruption versions the kill switch: a history recorded before it may hold a
// pause signal the controller of the day ignored, and must replay without it.
const changePauseDisruption = "pause-disruption"

// Bounds on the pause's free text, which anyone who can signal the controller chooses.
const (
	maxPauseReason = 256
	maxPauseBy     = 64
)

// servePause receives the pause and resume signals for the whole run, whatever the main
// loop is waiting on, so a pause arriving mid-decision is seen before its candidates go.
func (c *controller) servePause(ctx workflow.Context) {
	c.openPauseChannels(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			c.addPauseReceivers(ctx, sel)
			sel.Select(ctx)
		}
	})
}

func (c *controller) openPauseChannels(ctx workflow.Context) {
	c.pauseCh = workflow.GetSignalChannelWithOptions(ctx, SignalPauseDisruption,
		workflow.SignalChannelOptions{Description: "Stop consolidation and drift until resumed (PauseDisruption)"})
	c.resumeCh = workflow.GetSignalChannelWithOptions(ctx, SignalResumeDisruption,
		workflow.SignalChannelOptions{Description: "Let consolidation and drift go again (ResumeDisruption)"})
}

// addPauseReceivers adds the pause and resume channels to sel. Resume comes first: when both
// are waiting at once, the pause is applied last and wins, the safe side for a kill switch.
func (c *controller) addPauseReceivers(ctx workflow.Context, sel workflow.Selector) {
	sel.AddReceive(c.resumeCh, func(ch workflow.ReceiveChannel, _ bool) {
		var msg ResumeDisruption
		if receive(ctx, ch, &msg) {
			c.resume(ctx, msg)
		}
	})
	sel.AddReceive(c.pauseCh, func(ch workflow.ReceiveChannel, _ bool) {
		if msg, ok := receivePause(ctx, ch); ok {
			c.pause(ctx, msg)
		}
	})
}

// receivePause takes a pause whatever its payload says; ok is false only when the channel
// is empty. The text is only a record: a kill switch that a mistyped reason (temporal
// workflow signal -i '"incident"') turned into a no-op would fail open while the sender
// believed it on, so a payload that does not decode pauses with a reason saying so.
func receivePause(ctx workflow.Context, ch workflow.ReceiveChannel) (msg PauseDisruption, ok bool) {
	var raw converter.RawValue
	if !ch.ReceiveAsync(&raw) { // undecoded, so only an empty channel fails
		return msg, false
	}
	if p := raw.Payload(); p != nil {
		if err := converter.GetDefaultDataConverter().FromPayload(p, &msg); err != nil {
			workflow.GetLogger(ctx).Warn("pause signal's payload does not decode; pausing all the same", "error", err)
			return PauseDisruption{Reason: "(unreadable pause payload: " + err.Error() + ")"}, true
		}
	}
	return msg, true
}

// takePauseSignals applies the pause and resume signals still waiting, before the run
// continues as new and its channels are lost.
func (c *controller) takePauseSignals(ctx workflow.Context) {
	letPauseSignalsIn(ctx)
	for c.resumeCh.Len() > 0 || c.pauseCh.Len() > 0 {
		sel := workflow.NewSelector(ctx)
		c.addPauseReceivers(ctx, sel)
		sel.Select(ctx)
	}
}

// letPauseSignalsIn lets servePause apply the signals delivered in this workflow task. Until
// its goroutine runs, which is after the main loop's, such a signal is held by its blocked
// selector, where neither the state nor the channel's Len shows it: a pause delivered with
// an activity's result would go unseen by the decision, or be lost at continue-as-new.
// Yielding adds no command, so histories replay as before.
func letPauseSignalsIn(ctx workflow.Context) {
	yielded := false
	workflow.Go(ctx, func(workflow.Context) { yielded = true })
	_ = workflow.Await(ctx, func() bool { return yielded }) // cancelled: go on with what is known
}

func (c *controller) pause(ctx workflow.Context, msg PauseDisruption) {
	log := workflow.GetLogger(ctx)
	reason, by := clipText(msg.Reason, maxPauseReason), clipText(msg.By, maxPauseBy)
	if p := c.state.Pause; p != nil {
		log.Info("disruption already paused; pause ignored", "since", p.Since, "by", p.By, "ignoredReason", reason, "ignoredBy", by)
		return
	}
	c.state.Pause = &DisruptionPause{Since: workflow.Now(ctx), Reason: reason, By: by}
	log.Info("voluntary disruption paused", "reason", reason, "by", by)
	c.reportPause(ctx)
	c.showDetails(ctx)
}

func (c *controller) resume(ctx workflow.Context, msg ResumeDisruption) {
	p := c.state.Pause
	if p == nil {
		workflow.GetLogger(ctx).Info("disruption not paused; resume ignored")
		return
	}
	c.state.Pause = nil
	workflow.GetLogger(ctx).Info("voluntary disruption resumed", "by", clipText(msg.By, maxPauseBy),
		"pausedSince", p.Since, "withheld", p.Withheld)
	c.reportPause(ctx)
	c.showDetails(ctx)
}

// paused reports whether decisions must wait. Histories recorded before the kill switch
// carried their decisions out whatever signal they held, and still do on replay.
func (c *controller) paused(ctx workflow.Context) bool {
	letPauseSignalsIn(ctx)
	if c.state.Pause == nil {
		return false
	}
	return workflow.GetVersion(ctx, changePauseDisruption, workflow.DefaultVersion, 1) >= 1
}

// withhold records a decision not carried out because of the pause; taken are its
// candidates already tainted, whose taint comes off again.
func (c *controller) withhold(ctx workflow.Context, found activities.DisruptionDecision, rec *DecisionRecord, taken []activities.NodeRef) {
	p := c.state.Pause
	p.Withheld++
	p.LastWithheld = found.Command.Reason + ": " + strings.Join(found.Command.Nodes, " ")
	if rec != nil {
		rec.Outcome = "withheld: disruption paused"
	}
	if len(taken) > 0 {
		c.untaint(ctx, taken)
	}
}

// reportPause sets the pause gauges through the SDK's replay-aware handler; the main loop
// sets them every pass, so a worker that takes the controller over reports them too.
func (c *controller) reportPause(ctx workflow.Context) {
	paused, since := 0.0, 0.0
	if p := c.state.Pause; p != nil {
		paused, since = 1, float64(p.Since.UnixNano())/1e9
	}
	h := workflow.GetMetricsHandler(ctx)
	h.Gauge(MetricDisruptionPaused).Update(paused)
	h.Gauge(MetricDisruptionPausedSince).Update(since)
}

// clipText makes untrusted free text safe to keep and print: valid UTF-8, control
// characters (newlines included) as spaces, at most max bytes with an ellipsis when cut.
func clipText(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
