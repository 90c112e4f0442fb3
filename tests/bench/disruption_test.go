//go:build benche2e

package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/nodewright/nodewright/lab/history"
	"github.com/nodewright/nodewright/workflows"
)

// span is one activity of the disruption controller, or one of its validation delays.
type span struct {
	what                 string
	scheduled, completed time.Time
}

// disruptionSpans lists the disruption controller's activities and timers that began after
// from, over all its runs, in order: where a scale-in's time goes between its decisions.
func disruptionSpans(ctx context.Context, tc client.Client, from time.Time) ([]span, error) {
	runs, err := listWorkflows(ctx, tc)
	if err != nil {
		return nil, err
	}
	var out []span
	for _, e := range runs {
		if e.GetExecution().GetWorkflowId() != workflows.DisruptionID || (e.GetCloseTime() != nil && e.GetCloseTime().AsTime().Before(from)) {
			continue
		}
		open := map[int64]span{}  // by scheduled or started event id
		var taskStarted time.Time // a local activity runs within the task that records it
		it := tc.GetWorkflowHistory(ctx, workflows.DisruptionID, e.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return nil, fmt.Errorf("history of the disruption controller: %w", err)
			}
			at := ev.GetEventTime().AsTime()
			if name, err := history.StartedActivity(ev); err == nil && name != "" {
				if ev.GetMarkerRecordedEventAttributes() != nil {
					out = append(out, span{what: name + " (local)", scheduled: taskStarted, completed: at})
				} else {
					open[ev.GetEventId()] = span{what: name, scheduled: at}
				}
			}
			closeSpan := func(id int64, why string) {
				if s, ok := open[id]; ok {
					s.completed = at
					s.what += why
					out = append(out, s)
					delete(open, id)
				}
			}
			switch a := ev.GetAttributes().(type) {
			case *historypb.HistoryEvent_WorkflowTaskStartedEventAttributes:
				taskStarted = at
			case *historypb.HistoryEvent_TimerStartedEventAttributes:
				open[ev.GetEventId()] = span{what: "timer", scheduled: at}
			case *historypb.HistoryEvent_TimerFiredEventAttributes:
				closeSpan(a.TimerFiredEventAttributes.GetStartedEventId(), "")
			case *historypb.HistoryEvent_ActivityTaskCompletedEventAttributes:
				closeSpan(a.ActivityTaskCompletedEventAttributes.GetScheduledEventId(), "")
			case *historypb.HistoryEvent_ActivityTaskFailedEventAttributes:
				closeSpan(a.ActivityTaskFailedEventAttributes.GetScheduledEventId(), " (failed)")
			case *historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes:
				closeSpan(a.ActivityTaskTimedOutEventAttributes.GetScheduledEventId(), " (timed out)")
			case *historypb.HistoryEvent_ActivityTaskCanceledEventAttributes:
				closeSpan(a.ActivityTaskCanceledEventAttributes.GetScheduledEventId(), " (cancelled)")
			case *historypb.HistoryEvent_TimerCanceledEventAttributes:
				closeSpan(a.TimerCanceledEventAttributes.GetStartedEventId(), " (cancelled)")
			}
		}
	}
	out = slices.DeleteFunc(out, func(s span) bool { return s.scheduled.Before(from) })
	slices.SortFunc(out, func(a, b span) int { return a.scheduled.Compare(b.scheduled) })
	return out, nil
}

// spansSince says each span's start and length, in seconds after from.
func spansSince(spans []span, from time.Time) string {
	var parts []string
	for _, s := range spans {
		parts = append(parts, fmt.Sprintf("%s %.1f+%.1f", s.what, s.scheduled.Sub(from).Seconds(), s.completed.Sub(s.scheduled).Seconds()))
	}
	return strings.Join(parts, ", ")
}
