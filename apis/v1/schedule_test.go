package v1

import "testing"

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
