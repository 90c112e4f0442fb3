//go:build benche2e

package bench

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/component-base/metrics/legacyregistry"
)

// labCounter is a counter of the lab's components (they run in this process) summed by the
// values of some of its labels, joined by spaces.
type labCounter struct {
	name   string
	labels []string
}

// The counters a row reports the growth of.
var (
	// schedulerAttempts are the kube-scheduler's scheduling attempts by result: how many times
	// it tried the pending pods, which grows with every Node change that sends them back to
	// its active queue.
	schedulerAttempts = labCounter{"scheduler_schedule_attempts_total", []string{"result"}}
	// apiRequests are the API server's requests from every client (the worker's alone are in
	// the audit log), by verb and resource.
	apiRequests = labCounter{"apiserver_request_total", []string{"verb", "resource", "subresource"}}
)

// read is the counter's values now.
func (c labCounter) read() (map[string]float64, error) {
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather the lab's metrics: %w", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != c.name {
			continue
		}
		for _, m := range f.GetMetric() {
			var key []string
			for _, want := range c.labels {
				for _, l := range m.GetLabel() {
					if l.GetName() == want && l.GetValue() != "" {
						key = append(key, l.GetValue())
					}
				}
			}
			out[strings.Join(key, " ")] += m.GetCounter().GetValue()
		}
	}
	return out, nil
}

// since says how much the counter grew since before, the n largest first.
func (c labCounter) since(before map[string]float64, n int) string {
	now, err := c.read()
	if err != nil {
		return err.Error()
	}
	grew := map[string]int{}
	total := 0
	for _, k := range slices.Sorted(maps.Keys(now)) {
		if d := int(now[k] - before[k]); d > 0 {
			grew[k] = d
			total += d
		}
	}
	return fmt.Sprintf("%d: %s", total, top(grew, n))
}
