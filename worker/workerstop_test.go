package worker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWaitForStop(t *testing.T) {
	errLost := errors.New(`namespace "nodes" not found`)
	tests := []struct {
		name string
		// componentErr, when set, is what a component reports stopping on.
		componentErr error
		// fatal are the errors the Temporal SDK worker reports, in order.
		fatal     []error
		cancelled bool
		// wantErr is a fragment of the returned error; empty means Run would return nil.
		wantErr string
	}{
		{
			name: "an ended context stops the worker cleanly", cancelled: true,
		},
		{
			name: "a component's error stops the worker with it", componentErr: errors.New("pod watch stopped: gone"),
			wantErr: "pod watch stopped: gone",
		},
		{
			name: "the Temporal worker's fatal error stops the worker naming it", fatal: []error{errLost},
			wantErr: `temporal worker stopped: namespace "nodes" not found`,
		},
		{
			name: "only the first fatal error counts", fatal: []error{errLost, errors.New("client version not supported")},
			wantErr: `temporal worker stopped: namespace "nodes" not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The bound only turns a wait that ignores the errors into a failure, not a hang.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if tt.cancelled {
				cancel()
			}
			errc := make(chan error, 1)
			if tt.componentErr != nil {
				errc <- tt.componentErr
			}
			stopped := newWorkerStop()
			for _, err := range tt.fatal {
				stopped.report(err)
			}
			err := waitForStop(ctx, errc, stopped)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("waitForStop = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("waitForStop = %v, want an error holding %q", err, tt.wantErr)
			case len(tt.fatal) > 0 && !errors.Is(err, tt.fatal[0]):
				t.Errorf("waitForStop = %v, want it to wrap %v", err, tt.fatal[0])
			}
		})
	}
}
