package v1

import (
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		schedule string
		ok       bool
	}{
		{"0 9 * * mon-fri", true},
		{"@daily", true},
		{"TZ=Europe/Paris 0 9 * * *", true},
		{"TZ=UTC", false}, // the cron library indexes past the end of a bare time zone and panics
		{"CRON_TZ=UTC", false},
		{"61 * * * *", false},
	}
	for _, tt := range tests {
		t.Run(tt.schedule, func(t *testing.T) {
			_, err := ParseSchedule(tt.schedule)
			if (err == nil) != tt.ok {
				t.Errorf("ParseSchedule(%q) error %v, want ok=%v", tt.schedule, err, tt.ok)
			}
		})
	}
}

// TestParseScheduleReadsUTC: a budget without a time zone fires at the same instant whatever
// the worker's local time zone is.
func TestParseScheduleReadsUTC(t *testing.T) {
	local := time.Local
	time.Local = time.FixedZone("UTC+5", 5*3600)
	t.Cleanup(func() { time.Local = local })
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		schedule string
		want     time.Time
	}{
		{"0 9 * * *", time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)},
		{"@daily", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"TZ=Asia/Tokyo 0 9 * * *", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.schedule, func(t *testing.T) {
			sched, err := ParseSchedule(tt.schedule)
			if err != nil {
				t.Fatal(err)
			}
			// A caller may pass its own local time; the firing must not move with it.
			if got := sched.Next(from.In(time.Local)); !got.Equal(tt.want) {
				t.Errorf("next firing after %s = %s, want %s", from, got.UTC(), tt.want)
			}
		})
	}
}
