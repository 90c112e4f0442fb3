package starter

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/worker/temporalconn"
	"github.com/nodewright/nodewright/workflows"
)

// runStarter runs a command line against the fake client and returns its exit code, stdout
// and stderr.
func runStarter(t *testing.T, c *listingClient, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runCLI(context.Background(), args, &stdout, &stderr, temporalconn.MapEnv{}, c.dial, "test")
	return code, stdout.String(), stderr.String()
}

func TestPauseDisruption(t *testing.T) {
	tests := []struct {
		name    string
		running bool
		args    []string
		// wantReason is the pause's reason; wantStarted that the controller was started with it.
		wantReason  string
		wantStarted bool
	}{
		{name: "a running controller is signalled with the reason", running: true,
			args: []string{"pause", "disruption", "--reason", "incident 42"}, wantReason: "incident 42"},
		{name: "the reason may come before the argument", running: true,
			args: []string{"pause", "--reason=db migration", "disruption"}, wantReason: "db migration"},
		{name: "a controller that does not run is started paused, so a worker starting it finds it so",
			args: []string{"pause", "disruption"}, wantStarted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &listingClient{}
			if tt.running {
				c.disruption = &workflows.DisruptionState{}
			}
			code, _, stderr := runStarter(t, c, tt.args...)
			if code != 0 {
				t.Fatalf("starter %s exited %d: %s", strings.Join(tt.args, " "), code, stderr)
			}
			if len(c.signals) != 1 {
				t.Fatalf("signals %+v, want one pause", c.signals)
			}
			s := c.signals[0]
			msg, ok := s.arg.(workflows.PauseDisruption)
			if s.workflowID != workflows.DisruptionID || s.name != workflows.SignalPauseDisruption || !ok {
				t.Fatalf("sent %+v, want %s to %s", s, workflows.SignalPauseDisruption, workflows.DisruptionID)
			}
			if msg.Reason != tt.wantReason || msg.By != operatorName() || s.started != tt.wantStarted {
				t.Errorf("pause %+v (started %v), want reason %q by %q (started %v)", msg, s.started, tt.wantReason, operatorName(), tt.wantStarted)
			}
		})
	}
}

func TestResumeDisruption(t *testing.T) {
	t.Run("a running controller is told to resume", func(t *testing.T) {
		c := &listingClient{disruption: &workflows.DisruptionState{}}
		if code, _, stderr := runStarter(t, c, "resume", "disruption"); code != 0 {
			t.Fatalf("starter resume disruption exited %d: %s", code, stderr)
		}
		if len(c.signals) != 1 || c.signals[0].name != workflows.SignalResumeDisruption || c.signals[0].workflowID != workflows.DisruptionID {
			t.Errorf("signals %+v, want one resume to %s", c.signals, workflows.DisruptionID)
		}
	})
	t.Run("a controller that does not run has nothing to resume, and says so", func(t *testing.T) {
		code, _, stderr := runStarter(t, &listingClient{}, "resume", "disruption")
		if code != 1 || !strings.Contains(stderr, "not running, so nothing is paused") {
			t.Errorf("exit %d, stderr %q; want 1 saying nothing is paused", code, stderr)
		}
	})
}

func TestPauseAndResumeCommandLines(t *testing.T) {
	for _, args := range [][]string{{"pause"}, {"pause", "provisioning"}, {"resume"}, {"resume", "disruption", "now"}, {"resume", "disruption", "--reason", "x"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			c := &listingClient{disruption: &workflows.DisruptionState{}}
			code, _, stderr := runStarter(t, c, args...)
			if code != 2 || !strings.Contains(stderr, "starter "+args[0]+" disruption") {
				t.Errorf("exit %d, stderr %q; want 2 naming the usage", code, stderr)
			}
			if len(c.signals) != 0 {
				t.Errorf("a bad command line sent %+v", c.signals)
			}
		})
	}
}

func TestNodesSayWhenDisruptionIsPaused(t *testing.T) {
	since := time.Date(2030, 6, 1, 11, 30, 0, 0, time.UTC)
	tests := []struct {
		name  string
		state *workflows.DisruptionState
		// want is the line after the table; "" is none.
		want string
	}{
		{name: "paused: since when, why and by whom",
			state: &workflows.DisruptionState{Pause: &workflows.DisruptionPause{Since: since, Reason: "incident 42", By: "alice@ops"}},
			want:  "disruption paused since 2030-06-01T11:30:00Z (incident 42) by alice@ops"},
		{name: "paused without a reason, with decisions withheld",
			state: &workflows.DisruptionState{Pause: &workflows.DisruptionPause{Since: since, Withheld: 3, LastWithheld: "Underutilized: ip-a"}},
			want:  "disruption paused since 2030-06-01T11:30:00Z (no reason given); 3 decisions withheld, the last Underutilized: ip-a"},
		{name: "running unpaused: no line", state: &workflows.DisruptionState{}},
		{name: "not running: no line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &listingClient{executions: []*workflowpb.WorkflowExecutionInfo{nodeExecution(t, "node/claim-1", nil)}, disruption: tt.state}
			code, stdout, stderr := runStarter(t, c, "nodes")
			if code != 0 {
				t.Fatalf("starter nodes exited %d: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			var got string
			if len(lines) == 3 {
				got = lines[2]
			} else if len(lines) != 2 {
				t.Fatalf("starter nodes printed %d lines, want a header, one node and at most the pause:\n%s", len(lines), stdout)
			}
			if got != tt.want {
				t.Errorf("line after the table %q, want %q", got, tt.want)
			}
		})
	}
}

// plan --live on a cluster where nothing was ever pending finds no Provisioner: the error
// says why, and what plans the cluster instead.
func TestPlanLiveWithoutAProvisionerSaysWhy(t *testing.T) {
	code, stdout, stderr := runStarter(t, &listingClient{}, "plan", "--live")
	if code != exitFailed || stdout != "" {
		t.Fatalf("exit %d, stdout %q; want exit %d and nothing printed", code, stdout, exitFailed)
	}
	for _, want := range []string{"Provisioner (workflow provisioner) is not running", "first pending pod", "plan --from-cluster"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not say %q", stderr, want)
		}
	}
}

// unansweredClient is Temporal with no worker polling: an update waits until its context ends.
type unansweredClient struct{ client.Client }

func (unansweredClient) UpdateWorkflow(ctx context.Context, _ client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	<-ctx.Done()
	return nil, serviceerror.NewDeadlineExceeded("context deadline exceeded")
}

// plan --live gives up when no worker answers, and says what to look at, rather than wait
// for good.
func TestPlanLiveGivesUpWithoutAWorker(t *testing.T) {
	op := &Operator{Client: unansweredClient{}, TaskQueue: "nodewright"}
	_, err := op.Simulate(context.Background(), 10*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not answer within 10ms") || !strings.Contains(err.Error(), "task queue nodewright") {
		t.Fatalf("Simulate = %v, want an error saying no worker answered on task queue nodewright", err)
	}
}

// closingClient refuses the first simulate updates as a Provisioner continuing as new does,
// then answers.
type closingClient struct {
	client.Client
	refusals int
	asked    int
}

func (c *closingClient) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	c.asked++
	if c.asked <= c.refusals {
		return nil, serviceerror.NewFailedPrecondition(workflows.SimulateClosing)
	}
	return simulationHandle{activities.Simulation{Pods: 3}}, nil
}

// simulationHandle is an update that completed with its simulation.
type simulationHandle struct{ sim activities.Simulation }

func (simulationHandle) WorkflowID() string { return workflows.ProvisionerID }
func (simulationHandle) RunID() string      { return "" }
func (simulationHandle) UpdateID() string   { return "" }
func (h simulationHandle) Get(_ context.Context, into any) error {
	*into.(*activities.Simulation) = h.sim
	return nil
}

// plan --live asks again a Provisioner that refused because it was continuing as new, until
// the next run answers or the wait ends.
func TestPlanLiveAsksAgainAProvisionerContinuingAsNew(t *testing.T) {
	c := &closingClient{refusals: 1}
	op := &Operator{Client: c, TaskQueue: "nodewright"}
	sim, err := op.Simulate(context.Background(), time.Minute)
	if err != nil || sim.Pods != 3 || c.asked != 2 {
		t.Errorf("Simulate = %+v, %v after %d asks; want the second answer", sim, err, c.asked)
	}
	c = &closingClient{refusals: 1000}
	op = &Operator{Client: c, TaskQueue: "nodewright"}
	if _, err := op.Simulate(context.Background(), 100*time.Millisecond); err == nil || !strings.Contains(err.Error(), "did not answer within 100ms") {
		t.Errorf("Simulate refused for good = %v, want it to give up after its wait", err)
	}
}
