package interruption_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/activities/interruption"
)

// FuzzParse checks that Parse never panics, that every failure is either malformed or unsupported
// (a malformed JSON object naming the field at fault),
// and that every success is usable: a known kind, an event time, instances for anything to act on
// and the two-minute deadline for a spot warning.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		spotInterruptionFixture,
		rebalanceRecommendationFixture,
		fmt.Sprintf(stateChangeFixture, "stopping"),
		fmt.Sprintf(stateChangeFixture, "running"),
		fmt.Sprintf(healthFixture, "EC2", "scheduledChange", twoInstances),
		capacityReservationFixture,
		autoScalingFixture,
		"", "null", "[]", `{"source":"aws.ec2"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m, err := interruption.Parse(body)
		if err != nil {
			if interruption.IsMalformed(err) == interruption.IsUnsupported(err) {
				t.Fatalf("error %v is malformed=%v unsupported=%v, want exactly one", err, interruption.IsMalformed(err), interruption.IsUnsupported(err))
			}
			if isJSONObject(body) && interruption.IsMalformed(err) && !namesAField(err) {
				t.Errorf("rejected %q with %q, which names no field of the event", body, err)
			}
			return
		}
		switch m.Kind {
		case interruption.SpotInterruption, interruption.RebalanceRecommendation, interruption.ScheduledChange, interruption.StateChange, interruption.NoOp:
		default:
			t.Fatalf("parsed unknown kind %q", m.Kind)
		}
		if m.EventTime.IsZero() {
			t.Errorf("parsed %s without an event time", m.Kind)
		}
		if m.Kind != interruption.NoOp && len(m.InstanceIDs) == 0 {
			t.Errorf("parsed %s naming no instance", m.Kind)
		}
		for _, id := range m.InstanceIDs {
			if id == "" {
				t.Errorf("parsed %s with an empty instance id", m.Kind)
			}
		}
		if m.Kind == interruption.SpotInterruption && !m.Deadline.Equal(m.EventTime.Add(interruption.SpotNotice)) {
			t.Errorf("spot deadline %v is not two minutes after %v", m.Deadline, m.EventTime)
		}
	})
}

func isJSONObject(body string) bool {
	return json.Valid([]byte(body)) && strings.HasPrefix(strings.TrimSpace(body), "{")
}

// namesAField: the error names a field of the EventBridge envelope or of a detail, itself or
// through a JSON type error ("Go struct field envelope.id").
func namesAField(err error) bool {
	return slices.ContainsFunc([]string{"Go struct field", "source", "detail-type", "time", "detail", "instance-id", "state"},
		func(field string) bool { return strings.Contains(err.Error(), field) })
}
