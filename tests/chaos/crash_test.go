//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// R1: the worker is killed with SIGKILL at -kills random moments during a scale-out and the
// scale-in after it, and started again each time: nothing launched twice, nothing leaked,
// every pod bound.
func r1WorkerKilled(t *testing.T) {
	r := newScaleRun(t, "R1", *nodes, oneCPUPerNode)
	ctx, cancel := context.WithCancel(r.ctx)
	var wg sync.WaitGroup
	killed := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		killed = killWorkerRandomly(ctx, t, *kills, rand.New(rand.NewPCG(1, 1)))
	}()
	r.scaleOut(15 * time.Minute)
	r.scaleIn(15 * time.Minute)
	cancel()
	wg.Wait()
	r.fig.extra = fmt.Sprintf("worker-kills=%d", killed)
	r.finish()
}

// killWorkerRandomly kills and restarts the worker up to n times, 2 to 12 s apart, until ctx
// ends; it returns the kills made.
func killWorkerRandomly(ctx context.Context, t *testing.T, n int, rng *rand.Rand) int {
	for i := range n {
		select {
		case <-ctx.Done():
			return i
		case <-time.After(2*time.Second + time.Duration(rng.Int64N(int64(10*time.Second)))):
		}
		worker.kill()
		if err := worker.start(); err != nil {
			t.Errorf("restart the worker after kill %d: %v", i+1, err)
			return i + 1
		}
	}
	return n
}

// R2: the Temporal server (on its SQLite file) restarts in the middle of a scale-out: every
// node workflow resumes, and the figures are R1's.
func r2TemporalRestarted(t *testing.T) {
	r := newScaleRun(t, "R2", *nodes, oneCPUPerNode)
	r.start = time.Now()
	r.createDeployment()
	// Restart once about a third of the pods run, so launches are in flight.
	r.waitFor("a third of the pods running", 10*time.Minute, func() (bool, string) {
		n := r.runningPods()
		return n >= r.fig.pods/3, fmt.Sprintf("%d of %d running", n, r.fig.pods)
	})
	if err := lab.RestartTemporal(r.ctx, 5*time.Second); err != nil {
		t.Fatalf("restart Temporal: %v", err)
	}
	r.waitUntilBound(r.fig.pods, 15*time.Minute)
	r.scaleIn(15 * time.Minute)
	r.fig.extra = "temporal-restarts=1"
	if !worker.alive() {
		r.fig.problem("the worker exited while Temporal restarted")
	}
	r.finish()
}
