package ec2events_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/nodewright/nodewright/lab/ec2sim/ec2events"
)

func TestEventBuildersProduceTheShapesAWSSends(t *testing.T) {
	h := ec2events.Header{ID: "7bf73129-1428-4cd3-a780-95db273d1602", Account: "123456789012", Region: "us-east-1", Time: time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)}
	start := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		body       string
		source     string
		detailType string
		resources  []string
		detail     map[string]any
	}{
		{
			name: "a rebalance recommendation names the instance by its regional ARN",
			body: ec2events.RebalanceRecommendation(h, "i-0abc"), source: "aws.ec2", detailType: "EC2 Instance Rebalance Recommendation",
			resources: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"},
			detail:    map[string]any{"instance-id": "i-0abc"},
		},
		{
			name: "a state change carries the new state",
			body: ec2events.StateChange(h, "i-0abc", "stopping"), source: "aws.ec2", detailType: "EC2 Instance State-change Notification",
			resources: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"},
			detail:    map[string]any{"instance-id": "i-0abc", "state": "stopping"},
		},
		{
			name:   "a scheduled change lists the instances as Health's affected entities",
			body:   ec2events.ScheduledChange(h, ec2events.HealthChange{Start: start, InstanceIDs: []string{"i-0abc", "i-0def"}}),
			source: "aws.health", detailType: "AWS Health Event",
			resources: []string{"i-0abc", "i-0def"},
			detail: map[string]any{
				"service": "EC2", "eventTypeCategory": "scheduledChange", "eventTypeCode": "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
				"startTime":        "Tue, 10 Mar 2026 15:00:00 GMT",
				"affectedEntities": []any{map[string]any{"entityValue": "i-0abc"}, map[string]any{"entityValue": "i-0def"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var event struct {
				Version    string         `json:"version"`
				ID         string         `json:"id"`
				DetailType string         `json:"detail-type"`
				Source     string         `json:"source"`
				Time       string         `json:"time"`
				Resources  []string       `json:"resources"`
				Detail     map[string]any `json:"detail"`
			}
			if err := json.Unmarshal([]byte(tc.body), &event); err != nil {
				t.Fatalf("event %s is not JSON: %v", tc.body, err)
			}
			if event.Version != "0" || event.ID != h.ID || event.Source != tc.source || event.DetailType != tc.detailType || event.Time != "2026-03-04T05:06:07Z" {
				t.Errorf("header is version %q id %q source %q detail-type %q time %q, want 0, %s, %s, %s, 2026-03-04T05:06:07Z",
					event.Version, event.ID, event.Source, event.DetailType, event.Time, h.ID, tc.source, tc.detailType)
			}
			if !slices.Equal(event.Resources, tc.resources) {
				t.Errorf("resources are %v, want %v", event.Resources, tc.resources)
			}
			for key, want := range tc.detail {
				got, _ := json.Marshal(event.Detail[key])
				wantJSON, _ := json.Marshal(want)
				if string(got) != string(wantJSON) {
					t.Errorf("detail %s is %s, want %s", key, got, wantJSON)
				}
			}
		})
	}
}
