//go:build benche2e

package bench

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/component-base/metrics/legacyregistry"
)

// schedulerAttempts reads the lab's kube-scheduler (it runs in this process) for its
// scheduling attempts so far, by result: how many times it tried the pending pods, which
// grows with every Node change that sends them back to its active queue.
func schedulerAttempts() (map[string]float64, error) {
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather the scheduler's metrics: %w", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "scheduler_schedule_attempts_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out, nil
}

// attemptsSince says the attempts made since before, by result.
func attemptsSince(before map[string]float64) string {
	now, err := schedulerAttempts()
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, result := range slices.Sorted(maps.Keys(now)) {
		parts = append(parts, fmt.Sprintf("%s %.0f", result, now[result]-before[result]))
	}
	return strings.Join(parts, ", ")
}
