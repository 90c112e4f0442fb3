//go:build chaos

package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/nodewright/nodewright/lab/stack"
)

// workerProcess is the worker binary running as its own process, as in production: the suite
// kills it with SIGKILL and starts it again.
type workerProcess struct {
	bin, logPath string
	args         []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	// starts counts the processes started, kills those ended with SIGKILL.
	starts, kills int
}

func startWorker(bin string, lab *stack.Stack, logPath string) (*workerProcess, error) {
	w := &workerProcess{bin: bin, logPath: logPath, args: stack.WorkerArgs(lab.WorkerConfig(""))}
	return w, w.start()
}

func (w *workerProcess) start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	log, err := os.OpenFile(w.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "=== worker start %d at %s\n", w.starts+1, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(w.bin, w.args...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=lab", "AWS_SECRET_ACCESS_KEY=lab")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the worker %s: %w", w.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	w.cmd, w.done = cmd, done
	w.starts++
	return nil
}

// kill ends the worker with SIGKILL, as the OOM killer or a lost machine would, and waits for
// it to be gone.
func (w *workerProcess) kill() {
	w.mu.Lock()
	cmd, done := w.cmd, w.done
	w.kills++
	w.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop ends the worker as an orchestrator would, with SIGTERM, then SIGKILL after 20 s.
func (w *workerProcess) stop() {
	w.mu.Lock()
	cmd, done := w.cmd, w.done
	w.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// alive reports whether the current process still runs.
func (w *workerProcess) alive() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}
