package activities

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/mocks"
)

// Signal skips workflows that are not running and reports every other failure, naming the
// workflow, after trying them all.
func TestSignalSkipsClosedWorkflows(t *testing.T) {
	tests := []struct {
		name    string
		errs    map[string]error
		wantErr []string
	}{
		{name: "all running"},
		{name: "one closed", errs: map[string]error{"b": serviceerror.NewNotFound("workflow execution already completed")}},
		{name: "one unreachable", errs: map[string]error{"a": errors.New("connection refused")}, wantErr: []string{"workflow a", "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &mocks.Client{}
			var sent []string
			for _, id := range []string{"a", "b"} {
				c.On("SignalWorkflow", mock.Anything, id, "", "node-ready", "payload").Run(func(mock.Arguments) { sent = append(sent, id) }).Return(tt.errs[id])
			}
			err := (&Signals{Client: c}).Signal(context.Background(), SignalRequest{WorkflowIDs: []string{"a", "b"}, Name: "node-ready", Payload: "payload"})
			if len(sent) != 2 {
				t.Errorf("signalled %v, want both", sent)
			}
			if (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("error %v, want one with %v", err, tt.wantErr)
			}
			for _, part := range tt.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not name %q", err, part)
				}
			}
		})
	}
}
