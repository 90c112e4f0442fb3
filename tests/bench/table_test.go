//go:build benche2e

package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// row is one pod count's figures; doc.go defines them. Zero values are figures the row did not
// reach.
type row struct {
	pods           int
	launched, used int
	// emptyNodes and surplus are counted emptyAfter the last bind (unneeded).
	emptyNodes, surplus int
	bound, p50, p99     time.Duration
	peakRSS             int64
	requests            map[string]int // the worker's, apply to last bound, by verb
	histories           histories
	steady              time.Duration
	nodesBefore         int
	nodesAfter          int
	priceBefore         float64
	priceAfter          float64
	// unsettled is set when the scale-in reached no steady state within -phase-timeout; the
	// figures after are then the last seen.
	unsettled bool
	// floor is set under -floor, in place of the scale-in: the time the lab took to bind the
	// pods again onto the Nodes already there (measureFloor).
	floor time.Duration
}

// printTable prints the rows as a Markdown table, for the README.
func printTable(w io.Writer, rows []row) {
	header := []string{
		"pods", "nodes launched (used)", "empty nodes (surplus instances) 30 s after", "apply→bound s", "pending→bound p50 / p99 s", "worker peak RSS MB",
		"worker API requests apply→bound (audit), by verb", "history events / node p50 / max", "history KB / node p50 / max",
		"largest payload KB", "70 %: steady after s", "70 %: nodes", "70 %: $/h before → after",
	}
	line := func(cells []string) { fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |") }
	fmt.Fprintln(w)
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range rows {
		line(r.cells())
	}
}

func (r row) cells() []string {
	h := r.histories
	steady := seconds(r.steady)
	if r.unsettled {
		steady = "none in " + phaseTimeout.String()
	}
	if r.floor > 0 {
		steady = "no scale-in (-floor: bound again in " + seconds(r.floor) + ")"
	}
	return []string{
		fmt.Sprint(r.pods),
		fmt.Sprintf("%d (%d)", r.launched, r.used),
		fmt.Sprintf("%d (%d)", r.emptyNodes, r.surplus),
		seconds(r.bound),
		seconds(r.p50) + " / " + seconds(r.p99),
		fmt.Sprintf("%.0f", float64(r.peakRSS)/(1<<20)),
		fmt.Sprintf("%d: %s", requests{byVerb: r.requests}.total(), top(r.requests, 8)),
		fmt.Sprintf("%d / %d", median(h.events), last(h.events)),
		fmt.Sprintf("%.1f / %.1f", float64(median(h.bytes))/1024, float64(last(h.bytes))/1024),
		fmt.Sprintf("%.1f (%s)", float64(h.largest.bytes)/1024, h.largest.where),
		steady,
		fmt.Sprintf("%d → %d", r.nodesBefore, r.nodesAfter),
		fmt.Sprintf("%.2f → %.2f", r.priceBefore, r.priceAfter),
	}
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }

// median and last read a sorted slice; 0 when it is empty.
func median(s []int) int {
	if len(s) == 0 {
		return 0
	}
	return s[(len(s)-1)/2]
}

func last(s []int) int {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}
