package interruption_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nodewright/nodewright/activities/interruption"
)

var eventTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestParseReadsEveryKindFromRealShapedEvents(t *testing.T) {
	retirement := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		body string
		want interruption.Message
	}{
		{
			name: "a spot interruption warning gives the instance two minutes from the event",
			body: spotInterruptionFixture,
			want: interruption.Message{Kind: interruption.SpotInterruption, EventID: "12345678-1234-1234-1234-123456789012",
				Source: "aws.ec2", DetailType: "EC2 Spot Instance Interruption Warning",
				InstanceIDs: []string{"i-1234567890abcdef0"}, EventTime: eventTime, Deadline: eventTime.Add(2 * time.Minute)},
		},
		{
			name: "a rebalance recommendation names its instance and sets no deadline",
			body: rebalanceRecommendationFixture,
			want: interruption.Message{Kind: interruption.RebalanceRecommendation, EventID: "12345678-1234-1234-1234-123456789012",
				Source: "aws.ec2", DetailType: "EC2 Instance Rebalance Recommendation",
				InstanceIDs: []string{"i-1234567890abcdef0"}, EventTime: eventTime},
		},
		{
			name: "an EC2 scheduled change names every affected instance and starts at the change",
			body: fmt.Sprintf(healthFixture, "EC2", "scheduledChange", twoInstances),
			want: interruption.Message{Kind: interruption.ScheduledChange, EventID: "7fb65329-1628-4cf3-a740-95fg457h1402",
				Source: "aws.health", DetailType: "AWS Health Event",
				InstanceIDs: []string{"i-12345678", "i-87654321"}, EventTime: eventTime, Deadline: retirement},
		},
		{
			name: "a scheduled change keeps instances and drops dedicated hosts and repeats",
			body: fmt.Sprintf(healthFixture, "EC2", "scheduledChange", `[{"entityValue": "h-0123"}, {"entityValue": "i-1"}, {"entityValue": "i-1"}]`),
			want: interruption.Message{Kind: interruption.ScheduledChange, EventID: "7fb65329-1628-4cf3-a740-95fg457h1402",
				Source: "aws.health", DetailType: "AWS Health Event",
				InstanceIDs: []string{"i-1"}, EventTime: eventTime, Deadline: retirement},
		},
		{
			name: "a Health issue for EC2 is not a scheduled change",
			body: fmt.Sprintf(healthFixture, "EC2", "issue", twoInstances),
			want: interruption.Message{Kind: interruption.NoOp, EventID: "7fb65329-1628-4cf3-a740-95fg457h1402",
				Source: "aws.health", DetailType: "AWS Health Event", EventTime: eventTime},
		},
		{
			name: "a scheduled change for another service concerns no node",
			body: fmt.Sprintf(healthFixture, "RDS", "scheduledChange", `[{"entityValue": "db-1"}]`),
			want: interruption.Message{Kind: interruption.NoOp, EventID: "7fb65329-1628-4cf3-a740-95fg457h1402",
				Source: "aws.health", DetailType: "AWS Health Event", EventTime: eventTime},
		},
		{
			name: "an EC2 scheduled change naming only a host concerns no node",
			body: fmt.Sprintf(healthFixture, "EC2", "scheduledChange", `[{"entityValue": "h-0123"}]`),
			want: interruption.Message{Kind: interruption.NoOp, EventID: "7fb65329-1628-4cf3-a740-95fg457h1402",
				Source: "aws.health", DetailType: "AWS Health Event", EventTime: eventTime},
		},
	}
	for _, state := range []string{"stopping", "stopped", "shutting-down", "terminated"} {
		tests = append(tests, struct {
			name string
			body string
			want interruption.Message
		}{
			name: "an instance entering " + state + " is a state change",
			body: fmt.Sprintf(stateChangeFixture, state),
			want: interruption.Message{Kind: interruption.StateChange, EventID: "7bf73129-1428-4cd3-a780-95db273d1602",
				Source: "aws.ec2", DetailType: "EC2 Instance State-change Notification",
				InstanceIDs: []string{"i-abcd1111"}, EventTime: eventTime, State: state},
		})
	}
	for _, state := range []string{"pending", "running"} {
		tests = append(tests, struct {
			name string
			body string
			want interruption.Message
		}{
			name: "an instance entering " + state + " needs nothing",
			body: fmt.Sprintf(stateChangeFixture, state),
			want: interruption.Message{Kind: interruption.NoOp, EventID: "7bf73129-1428-4cd3-a780-95db273d1602",
				Source: "aws.ec2", DetailType: "EC2 Instance State-change Notification",
				InstanceIDs: []string{"i-abcd1111"}, EventTime: eventTime, State: state},
		})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := interruption.Parse(tc.body)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			assertMessage(t, got, tc.want)
		})
	}
}

func TestParseTurnsAwayWhatItCannotUse(t *testing.T) {
	tests := []struct {
		name            string
		body            string
		wantUnsupported bool // otherwise malformed
	}{
		{"a capacity reservation interruption is unsupported", capacityReservationFixture, true},
		{"an Auto Scaling lifecycle action is unsupported", autoScalingFixture, true},
		{"an empty body is malformed", "  ", false},
		{"text that is not JSON is malformed", "spot instance going away", false},
		{"a JSON array is malformed", `[1, 2]`, false},
		{"JSON null is malformed", `null`, false},
		{"an event without a detail-type is malformed", `{"source": "aws.ec2", "time": "2026-03-04T05:06:07Z", "detail": {}}`, false},
		{"a spot warning without a detail is malformed", `{"source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning", "time": "2026-03-04T05:06:07Z"}`, false},
		{"a spot warning whose detail is a string is malformed", `{"source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning", "time": "2026-03-04T05:06:07Z", "detail": "i-1"}`, false},
		{"a spot warning naming no instance is malformed", `{"source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning", "time": "2026-03-04T05:06:07Z", "detail": {"instance-action": "terminate"}}`, false},
		{"a spot warning with a numeric instance id is malformed", `{"source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning", "time": "2026-03-04T05:06:07Z", "detail": {"instance-id": 7}}`, false},
		{"a spot warning without a time is malformed", `{"source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning", "detail": {"instance-id": "i-1"}}`, false},
		{"a spot warning with a time in another format is malformed", `{"source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning", "time": "04/03/2026", "detail": {"instance-id": "i-1"}}`, false},
		{"a state change without a state is malformed", `{"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "time": "2026-03-04T05:06:07Z", "detail": {"instance-id": "i-1"}}`, false},
		{"a Health event whose entities are not a list is malformed", fmt.Sprintf(healthFixture, "EC2", "scheduledChange", `"i-1"`), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := interruption.Parse(tc.body)
			if err == nil {
				t.Fatal("parse succeeded")
			}
			if got := interruption.IsUnsupported(err); got != tc.wantUnsupported {
				t.Errorf("IsUnsupported(%v) = %v, want %v", err, got, tc.wantUnsupported)
			}
			if got := interruption.IsMalformed(err); got == tc.wantUnsupported {
				t.Errorf("IsMalformed(%v) = %v, want %v", err, got, !tc.wantUnsupported)
			}
		})
	}
}

func TestUnsupportedErrorsNameWhatArrived(t *testing.T) {
	_, err := interruption.Parse(autoScalingFixture)
	var unsupported *interruption.UnsupportedError
	if !errors.As(err, &unsupported) || unsupported.Source != "aws.autoscaling" || unsupported.DetailType != "EC2 Instance-terminate Lifecycle Action" {
		t.Errorf("parse returned %v, want an UnsupportedError naming aws.autoscaling and its detail-type", err)
	}
}

func assertMessage(t *testing.T, got, want interruption.Message) {
	t.Helper()
	if got.Kind != want.Kind || got.EventID != want.EventID || got.Source != want.Source || got.DetailType != want.DetailType || got.State != want.State {
		t.Errorf("parsed kind %s id %s source %s detail-type %q state %q, want %s %s %s %q %q",
			got.Kind, got.EventID, got.Source, got.DetailType, got.State, want.Kind, want.EventID, want.Source, want.DetailType, want.State)
	}
	if !slices.Equal(got.InstanceIDs, want.InstanceIDs) {
		t.Errorf("instances are %v, want %v", got.InstanceIDs, want.InstanceIDs)
	}
	if !got.EventTime.Equal(want.EventTime) || !got.Deadline.Equal(want.Deadline) {
		t.Errorf("event time %v and deadline %v, want %v and %v", got.EventTime, got.Deadline, want.EventTime, want.Deadline)
	}
}
