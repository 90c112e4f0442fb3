//go:build chaos

package chaos

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// figures are one scenario's results, printed as one line.
type figures struct {
	scenario string
	pods     int // pods the scenario asked for
	bound    int // of them, bound and running at the end of the scale-out
	// launched counts the pool's instances, duplicates those beyond the first per NodeClaim.
	launched, duplicates int
	// leakedInstances and leakedNodes are what is left of the pool once its pods are gone:
	// instances pending or running, and Nodes.
	leakedInstances, leakedNodes int
	boundIn, convergedIn         time.Duration
	extra                        string   // what only this scenario measures
	problems                     []string // why it failed; none when it passed
}

func (f *figures) problem(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

func (f figures) line() string {
	verdict := "PASS"
	if len(f.problems) > 0 {
		verdict = "FAIL (" + strings.Join(f.problems, "; ") + ")"
	}
	extra := ""
	if f.extra != "" {
		extra = " " + f.extra
	}
	return fmt.Sprintf("%-3s pods=%d bound=%d nodes-launched=%d instances-leaked=%d nodes-leaked=%d duplicates=%d bound-in=%.0fs converged-in=%.0fs%s %s",
		f.scenario, f.pods, f.bound, f.launched, f.leakedInstances, f.leakedNodes, f.duplicates,
		f.boundIn.Seconds(), f.convergedIn.Seconds(), extra, verdict)
}

// figuresReport gathers every scenario's line for the summary printed after the run.
type figuresReport struct {
	mu    sync.Mutex
	lines []string
}

func (r *figuresReport) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
}

func (r *figuresReport) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(w, "\nchaos figures:")
	for _, l := range r.lines {
		fmt.Fprintln(w, "  "+l)
	}
}
