// Package history reads the events of a Temporal workflow history as the lab's tests and
// benchmarks need them: which activity an event starts, whether it runs as an activity task
// or as a local activity (whose marker is its only event).
package history

import (
	"encoding/json"
	"fmt"

	historypb "go.temporal.io/api/history/v1"
)

// localActivityMarker is the marker name the Go SDK records a local activity's result under.
const localActivityMarker = "LocalActivity"

// StartedActivity names the activity an event starts: the type of an activity task scheduled,
// or of a local activity recorded; "" for any other event. A local activity marker whose data
// does not decode is an error.
func StartedActivity(ev *historypb.HistoryEvent) (string, error) {
	if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
		return a.GetActivityType().GetName(), nil
	}
	m := ev.GetMarkerRecordedEventAttributes()
	if m == nil || m.GetMarkerName() != localActivityMarker {
		return "", nil
	}
	var data struct{ ActivityType string }
	p := m.GetDetails()["data"].GetPayloads()
	if len(p) == 0 {
		return "", fmt.Errorf("history event %d: local activity marker without data", ev.GetEventId())
	}
	if err := json.Unmarshal(p[0].GetData(), &data); err != nil || data.ActivityType == "" {
		return "", fmt.Errorf("history event %d: local activity marker data %q names no activity: %v", ev.GetEventId(), p[0].GetData(), err)
	}
	return data.ActivityType, nil
}
