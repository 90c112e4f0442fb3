package interruption_test

import (
	"slices"
	"testing"
	"time"

	"github.com/nodewright/nodewright/activities/interruption"
	"github.com/nodewright/nodewright/lab/ec2sim/ec2events"
)

// The lab's EC2 simulator publishes events built by ec2events, and the interruption workflow reads
// them in end-to-end tests; they must parse to what the simulator meant.
func TestParseReadsWhatTheLabsEC2SimulatorSends(t *testing.T) {
	h := ec2events.Header{ID: "0b4c1c52-4a11-4a4f-8d8e-6f1e0e0c1a2b", Account: "123456789012", Region: "us-east-1", Time: eventTime.Add(750 * time.Millisecond)}
	start := eventTime.Add(72 * time.Hour)
	tests := []struct {
		name      string
		body      string
		kind      interruption.Kind
		instances []string
		deadline  time.Time
	}{
		{"the spot warning", ec2events.SpotInterruption(h, "i-0abc", "us-east-1a"), interruption.SpotInterruption, []string{"i-0abc"}, eventTime.Add(interruption.SpotNotice)},
		{"the rebalance recommendation", ec2events.RebalanceRecommendation(h, "i-0abc"), interruption.RebalanceRecommendation, []string{"i-0abc"}, time.Time{}},
		{"a shutting-down state change", ec2events.StateChange(h, "i-0abc", "shutting-down"), interruption.StateChange, []string{"i-0abc"}, time.Time{}},
		{"a running state change", ec2events.StateChange(h, "i-0abc", "running"), interruption.NoOp, []string{"i-0abc"}, time.Time{}},
		{"a scheduled retirement", ec2events.ScheduledChange(h, ec2events.HealthChange{Start: start, InstanceIDs: []string{"i-0abc", "i-0def"}}), interruption.ScheduledChange, []string{"i-0abc", "i-0def"}, start},
		{"a Health issue", ec2events.ScheduledChange(h, ec2events.HealthChange{Category: "issue", Start: start, InstanceIDs: []string{"i-0abc"}}), interruption.NoOp, nil, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := interruption.Parse(tc.body)
			if err != nil {
				t.Fatalf("parse %s: %v", tc.body, err)
			}
			if m.Kind != tc.kind || !slices.Equal(m.InstanceIDs, tc.instances) || m.EventID != h.ID {
				t.Errorf("parsed %s for %v (event %s), want %s for %v (event %s)", m.Kind, m.InstanceIDs, m.EventID, tc.kind, tc.instances, h.ID)
			}
			// EventBridge stamps events to the second, so the deadline is the second before the real one at the latest.
			if !m.EventTime.Equal(eventTime) || !m.Deadline.Equal(tc.deadline) {
				t.Errorf("event time %v and deadline %v, want %v and %v", m.EventTime, m.Deadline, eventTime, tc.deadline)
			}
		})
	}
}
