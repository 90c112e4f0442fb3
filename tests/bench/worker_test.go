//go:build benche2e

package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// workerProcess is the worker binary running as its own process, as `lab up` has a user run
// it, so its memory is its own to measure.
type workerProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// workerEnv is the worker's environment beyond this process's: the lab's AWS credentials and,
// under a memory limit, the GOMEMLIMIT the worker would set itself from its container's
// cgroup (90 %, automemlimit's default). Only the worker gets it: this process runs the lab.
func workerEnv(memoryLimit string) ([]string, error) {
	env := []string{"AWS_ACCESS_KEY_ID=lab", "AWS_SECRET_ACCESS_KEY=lab"}
	if memoryLimit == "" {
		return env, nil
	}
	q, err := resource.ParseQuantity(memoryLimit)
	if err != nil || q.Sign() <= 0 {
		return nil, fmt.Errorf("%q is not a memory quantity such as 300Mi", memoryLimit)
	}
	return append(env, fmt.Sprintf("GOMEMLIMIT=%d", q.Value()*9/10)), nil
}

func startWorker(bin string, args, env []string, logPath string) (*workerProcess, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create worker log: %w", err)
	}
	defer log.Close() // the child has its own copy
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the worker %s: %w", bin, err)
	}
	w := &workerProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(w.done)
	}()
	return w, nil
}

// stop ends the worker with SIGTERM, then SIGKILL after 20 s.
func (w *workerProcess) stop() {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(20 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}

// resetPeak sets the process's peak RSS back to its current RSS, so each row measures its own.
func (w *workerProcess) resetPeak() error {
	path := fmt.Sprintf("/proc/%d/clear_refs", w.cmd.Process.Pid)
	if err := os.WriteFile(path, []byte("5"), 0); err != nil {
		return fmt.Errorf("reset the worker's peak RSS: %w", err)
	}
	return nil
}

// peakRSS is the process's peak resident set size in bytes (VmHWM).
func (w *workerProcess) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read the worker's status: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in the worker's status (exited?)")
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on every
// Linux architecture Go runs on.
const clockTicks = 100

// cpuTime is the user and system CPU time the process has used so far; pid 0 is this process
// (the lab: Temporal, the API server, the simulators).
func cpuTime(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read CPU time: %w", err)
	}
	// The command name, field 2, is in parentheses and may hold spaces: count from after it.
	_, rest, ok := strings.Cut(string(data), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("unexpected %s: %q", path, data)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime and stime, fields 14 and 15 of the line
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s: %w", path, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuMeter reads the worker's and the lab's CPU time at the start of a phase.
type cpuMeter struct {
	worker      int
	from, labAt time.Duration
}

func (w *workerProcess) meterCPU() (cpuMeter, error) {
	m := cpuMeter{worker: w.cmd.Process.Pid}
	var err error
	if m.from, err = cpuTime(m.worker); err != nil {
		return m, err
	}
	m.labAt, err = cpuTime(0)
	return m, err
}

// String is the CPU seconds each process used since the meter was started.
func (m cpuMeter) String() string {
	worker, werr := cpuTime(m.worker)
	lab, lerr := cpuTime(0)
	if werr != nil || lerr != nil {
		return fmt.Sprint("CPU time unknown: ", errors.Join(werr, lerr))
	}
	return fmt.Sprintf("CPU s: worker %.1f, lab %.1f", (worker - m.from).Seconds(), (lab - m.labAt).Seconds())
}

// cpuTrace samples both processes' CPU time every period until stopped, to show when the
// machine was busy and when it waited.
type cpuTrace struct {
	period  time.Duration
	samples [][2]time.Duration // worker, lab: CPU used in each period
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func (w *workerProcess) traceCPU(period time.Duration) *cpuTrace {
	t := &cpuTrace{period: period, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		lastW, _ := cpuTime(w.cmd.Process.Pid)
		lastL, _ := cpuTime(0)
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
			}
			nowW, werr := cpuTime(w.cmd.Process.Pid)
			nowL, lerr := cpuTime(0)
			if werr != nil || lerr != nil {
				return
			}
			t.samples = append(t.samples, [2]time.Duration{nowW - lastW, nowL - lastL})
			lastW, lastL = nowW, nowL
		}
	}()
	return t
}

// end stops the trace; it may be called again.
func (t *cpuTrace) end() {
	t.once.Do(func() { close(t.stop) })
	<-t.done
}

// String stops the trace and gives each period's CPU seconds, worker + lab.
func (t *cpuTrace) String() string {
	t.end()
	var parts []string
	for i, s := range t.samples {
		parts = append(parts, fmt.Sprintf("%.0fs %.1f+%.1f", (time.Duration(i+1)*t.period).Seconds(), s[0].Seconds(), s[1].Seconds()))
	}
	return strings.Join(parts, ", ")
}
