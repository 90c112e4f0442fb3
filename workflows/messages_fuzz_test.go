package workflows

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// nodeMessages are the signals and updates a NodeLifecycle takes, with the payload type each
// decodes into (nil: no payload).
var nodeMessages = []struct {
	name    string
	update  bool
	payload func() any
}{
	{SignalDrain, false, func() any { return &DrainRequest{} }},
	{SignalCancelDrain, false, nil},
	{SignalDisrupt, false, func() any { return &Disrupt{} }},
	{SignalInterrupt, false, func() any { return &Interrupt{} }},
	{SignalResyncNodeClaim, false, nil},
	{UpdateRequestDrain, true, func() any { return &DrainRequest{} }},
	{UpdateExtendExpiry, true, func() any { return &ExtendExpiry{} }},
}

// rawJSON is a payload carrying data as JSON, whatever data is: what a hand-sent signal from
// the temporal CLI or the Web UI delivers.
func rawJSON(data []byte) converter.RawValue {
	return converter.NewRawValue(&commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: data})
}

// FuzzNodeMessages sends a Ready node one signal or update with an arbitrary payload, then a
// good drain ten minutes later. The workflow must not fail or panic, must drain once, by the
// good drain at the latest; a rejected update whose payload decodes must say what is wrong,
// naming the payload's field or the node's state.
func FuzzNodeMessages(f *testing.F) {
	for _, seed := range []struct {
		message uint8
		payload string
	}{
		{0, `{"reason":"kernel","gracePeriod":"5m"}`}, {0, `{"gracePeriod":"1d"}`}, {0, `null`}, {0, `{"gracePeriod":"-5m"}`},
		{1, `{}`}, {2, `{"reason":"Empty","decisionID":"d-1","replacement":"r"}`}, {2, `{"reason":[1]}`},
		{3, `{"kind":"SpotInterruption","deadline":"2030-01-01T00:00:00Z"}`}, {3, `{"kind":"StateChange","state":"stopping"}`},
		{3, `{"kind":42}`}, {4, ``}, {5, `{"reason":"kernel"}`}, {5, `{"gracePeriod":"9999h"}`}, {5, `"x"`},
		{6, `{"by":"24h"}`}, {6, `{"by":"-1h"}`}, {6, `{"by":"876000h"}`}, {6, `{"by":1}`}, {6, `{`},
	} {
		f.Add(seed.message, []byte(seed.payload))
	}
	f.Fuzz(func(t *testing.T, message uint8, payload []byte) {
		m := nodeMessages[int(message)%len(nodeMessages)]
		r := newControlsRun(t)
		r.happyPath()
		var outcome *updateOutcome
		if m.update {
			outcome = r.updateAt(10*time.Minute, m.name, rawJSON(payload))
		} else {
			r.signalAt(10*time.Minute, m.name, rawJSON(payload))
		}
		r.signalAt(20*time.Minute, SignalDrain, DrainRequest{Reason: "after the fuzzed message"})
		r.executeClaim(testNodeClaim())

		if err := r.env.GetWorkflowError(); err != nil {
			t.Fatalf("node failed after %s %q: %v", m.name, payload, err)
		}
		if len(r.drains) != 1 || r.drains[0].at.Sub(r.start) > 20*time.Minute {
			t.Fatalf("after %s %q the node drained at %v, want once by the good drain at 20m", m.name, payload, r.drainTimes())
		}
		if outcome != nil && outcome.rejected != nil && decodes(payload, m.payload()) && !explains(outcome.rejected, m.payload()) {
			t.Errorf("%s %q rejected with %q, which names neither a field nor the node's state", m.name, payload, outcome.rejected)
		}
	})
}

// decodes reports whether data decodes into a fresh payload as the SDK's JSON converter would.
func decodes(data []byte, into any) bool {
	return json.Unmarshal(data, into) == nil
}

// explains reports whether a rejection names one of the payload's JSON fields, or the node's
// state that refuses it.
func explains(err error, payload any) bool {
	words := append([]string{"terminating", "already has a drain", "does not expire", "not Ready yet", "expire more than"}, jsonFields(payload)...)
	return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(err.Error(), w) })
}

// jsonFields are the JSON names of a struct's fields, *T or T.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// provisionerSignals are the signals the Provisioner takes.
var provisionerSignals = []string{SignalPendingPods, SignalClaimFailed, SignalNodeReady, SignalOfferingUnavailable, SignalClaimStarted}

// FuzzProvisionerSignals sends the Provisioner one signal with an arbitrary payload, then a
// pending pod a second later: the workflow must not fail or panic, and must plan again.
func FuzzProvisionerSignals(f *testing.F) {
	for _, seed := range []struct {
		signal  uint8
		payload string
	}{
		{0, `{"pods":[{"namespace":"ns","name":"b"}]}`}, {0, `{"pods":[{}]}`}, {0, `{"pods":null}`}, {0, `[]`},
		{1, `{"claim":"c","pods":["ns/b"],"reason":"no capacity","unavailable":[{"instanceType":"m5.large","zone":"us-east-1a","capacityType":"spot"}]}`},
		{1, `{"pods":["no-slash"]}`}, {2, `{"claim":42}`}, {2, `{"claim":"c","nodeName":"n"}`},
		{3, `{"instanceType":"m5.large","zone":"us-east-1a","capacityType":"spot","reason":"interrupted"}`}, {3, `{}`}, {3, `{`},
		{4, `{"name":"default-rplc1","nodePool":"default","capacity":{"cpu":"4"}}`}, {4, `{"name":"x"}`}, {4, `{"capacity":{"cpu":"lots"}}`},
	} {
		f.Add(seed.signal, []byte(seed.payload))
	}
	f.Fuzz(func(t *testing.T, signal uint8, payload []byte) {
		name := provisionerSignals[int(signal)%len(provisionerSignals)]
		r := newProvisionerRun(t)
		r.at(0, func() { r.env.SignalWorkflow(name, rawJSON(payload)) })
		r.signalPods(time.Second, "a")
		r.at(time.Minute, r.env.CancelWorkflow)
		r.execute(ProvisionerInput{})

		var cancelled *temporal.CanceledError
		if err := r.env.GetWorkflowError(); !errors.As(err, &cancelled) {
			t.Fatalf("provisioner ended with %v after %s %q, want cancelled at the end of the test", err, name, payload)
		}
		// The planner lists pending pods itself: a plan after pod a's signal plans it.
		planned := slices.ContainsFunc(r.plans, func(p planCall) bool { return p.at >= time.Second })
		if !planned {
			t.Fatalf("after %s %q pod a was never planned (plans %+v)", name, payload, r.plans)
		}
	})
}
