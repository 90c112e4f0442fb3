package v1

import (
	"testing"
	"time"
)

func TestDoNotDisrupt(t *testing.T) {
	tests := []struct {
		value       string
		wantForever bool
		wantFor     time.Duration
	}{
		{"true", true, 0}, {"True", true, 0}, {"1", true, 0},
		{"false", false, 0}, {"0", false, 0},
		{"30m", false, 30 * time.Minute},
		{"", true, 0}, {"yes", true, 0}, {"forever", true, 0},
	}
	for _, tt := range tests {
		forever, d := DoNotDisrupt(tt.value)
		if forever != tt.wantForever || d != tt.wantFor {
			t.Errorf("DoNotDisrupt(%q) = %v, %s; want %v, %s", tt.value, forever, d, tt.wantForever, tt.wantFor)
		}
	}
}
