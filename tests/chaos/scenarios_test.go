//go:build chaos

package chaos

import "testing"

// TestChaos runs a baseline without faults, then the scenarios in the order of
// priority: the injected faults, the fuzzers and limits, the crashes, consolidation under
// churn. `-run TestChaos/R3` picks one.
func TestChaos(t *testing.T) {
	for _, s := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"R0", r0Baseline},
		{"R3", r3EC2Faults},
		{"R4", r4APIServerFaults},
		{"R6", r6Fuzz},
		{"R7", r7NodePoolLimits},
		{"R1", r1WorkerKilled},
		{"R2", r2TemporalRestarted},
		{"R5", r5Disruption},
	} {
		t.Run(s.name, s.run)
	}
}
