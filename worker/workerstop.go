package worker

import (
	"context"
	"fmt"
	"sync"
)

// workerStop records the fatal error the Temporal SDK worker stopped on (a namespace gone, a
// server refusing the client): the SDK stops polling for good, so /healthz fails and Run
// returns, and the pod restarts instead of idling.
type workerStop struct {
	once    sync.Once
	stopped chan struct{}
	err     error
}

func newWorkerStop() *workerStop { return &workerStop{stopped: make(chan struct{})} }

// report is the SDK worker's OnFatalError callback; only the first error counts.
func (s *workerStop) report(err error) {
	s.once.Do(func() {
		s.err = fmt.Errorf("temporal worker stopped: %w", err)
		close(s.stopped)
	})
}

// Done is closed once a fatal error has been reported.
func (s *workerStop) Done() <-chan struct{} { return s.stopped }

// Err is the reported fatal error, nil while the SDK worker runs.
func (s *workerStop) Err() error {
	select {
	case <-s.stopped:
		return s.err
	default:
		return nil
	}
}

// waitForStop blocks until ctx ends (nil), a component stops on an error, or the Temporal SDK
// worker stops on a fatal one; Run returns what it returns.
func waitForStop(ctx context.Context, errc <-chan error, temporal *workerStop) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-temporal.Done():
			return temporal.Err()
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
}
