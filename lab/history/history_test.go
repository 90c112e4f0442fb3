package history

import (
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
)

func marker(name, data string) *historypb.HistoryEvent {
	details := map[string]*commonpb.Payloads{}
	if data != "" {
		details["data"] = &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte(data)}}}
	}
	return &historypb.HistoryEvent{EventId: 7, Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{
		MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{MarkerName: name, Details: details}}}
}

func TestStartedActivity(t *testing.T) {
	scheduled := &historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{
		ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{ActivityType: &commonpb.ActivityType{Name: "Terminate"}}}}
	tests := []struct {
		name    string
		ev      *historypb.HistoryEvent
		want    string
		wantErr string
	}{
		{name: "activity task", ev: scheduled, want: "Terminate"},
		{name: "local activity", ev: marker("LocalActivity", `{"ActivityID":"3","ActivityType":"ReleaseNodeClaim","Attempt":1}`), want: "ReleaseNodeClaim"},
		{name: "version marker", ev: marker("Version", `"compact-history"`)},
		{name: "other event", ev: &historypb.HistoryEvent{}},
		{name: "local activity without data", ev: marker("LocalActivity", ""), wantErr: "without data"},
		{name: "local activity naming none", ev: marker("LocalActivity", `{"ActivityID":"3"}`), wantErr: "names no activity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StartedActivity(tt.ev)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("StartedActivity = %q, %v; want %q and an error with %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
