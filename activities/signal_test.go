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

// SignalEach tries every workflow and says, in order, which it could not tell and why; a
// workflow that is not running was not told.
func TestSignalEachSaysWhichWereNotTold(t *testing.T) {
	ids := []string{"a", "b", "c", "d"}
	tests := []struct {
		name string
		errs map[string]error
		want []string // a substring of each outcome, "" for told
	}{
		{name: "all told", want: []string{"", "", "", ""}},
		{name: "one closed, one unreachable", errs: map[string]error{"b": serviceerror.NewNotFound("workflow execution already completed"), "d": errors.New("connection refused")},
			want: []string{"", "not running", "", "workflow d: connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &mocks.Client{}
			for _, id := range ids {
				c.On("SignalWorkflow", mock.Anything, id, "", "disrupt", "payload").Return(tt.errs[id]).Once()
			}
			got, err := (&Signals{Client: c}).SignalEach(context.Background(), SignalRequest{WorkflowIDs: ids, Name: "disrupt", Payload: "payload"})
			if err != nil || len(got) != len(ids) {
				t.Fatalf("outcomes %q, error %v; want one outcome a workflow", got, err)
			}
			for i, want := range tt.want {
				if (want == "") != (got[i] == "") || !strings.Contains(got[i], want) {
					t.Errorf("workflow %s: outcome %q, want %q", ids[i], got[i], want)
				}
			}
			c.AssertExpectations(t)
		})
	}
	if _, err := (&Signals{}).SignalEach(context.Background(), SignalRequest{WorkflowIDs: ids}); err == nil {
		t.Error("no error for a request without a signal name")
	}
}
