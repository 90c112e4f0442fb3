package starter

import (
	"context"
	"fmt"
	"os"
	"os/user"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/nodewright/nodewright/workflows"
)

// PauseDisruption is the kill switch: the disruption controller stops carrying out
// consolidation and drift until ResumeDisruption; expiration and interruptions go on. The
// controller is started if it does not run, so that it starts paused when a worker serves
// it. The pause is a signal: DisruptionState shows it once the controller has taken it.
func (o *Operator) PauseDisruption(ctx context.Context, reason string) error {
	msg := workflows.PauseDisruption{Reason: reason, By: operatorName()}
	_, err := o.Client.SignalWithStartWorkflow(ctx, workflows.DisruptionID, workflows.SignalPauseDisruption, msg,
		client.StartWorkflowOptions{
			ID: workflows.DisruptionID, TaskQueue: o.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, workflows.DisruptionWorkflow, workflows.DisruptionInput{})
	if err != nil {
		return fmt.Errorf("signal %s to %s: %w", workflows.SignalPauseDisruption, workflows.DisruptionID, err)
	}
	return nil
}

// ResumeDisruption lets the disruption controller carry out consolidation and drift again.
func (o *Operator) ResumeDisruption(ctx context.Context) error {
	err := o.Client.SignalWorkflow(ctx, workflows.DisruptionID, "", workflows.SignalResumeDisruption,
		workflows.ResumeDisruption{By: operatorName()})
	if isNotFound(err) {
		return fmt.Errorf("the disruption controller (workflow %s) is not running, so nothing is paused; `starter start` starts it", workflows.DisruptionID)
	}
	if err != nil {
		return fmt.Errorf("signal %s to %s: %w", workflows.SignalResumeDisruption, workflows.DisruptionID, err)
	}
	return nil
}

// DisruptionState is the disruption controller's state query: its recent decisions and, while
// paused, since when and why.
func (o *Operator) DisruptionState(ctx context.Context) (workflows.DisruptionState, error) {
	v, err := o.Client.QueryWorkflow(ctx, workflows.DisruptionID, "", workflows.QueryState)
	if err != nil {
		return workflows.DisruptionState{}, fmt.Errorf("query %s of %s: %w", workflows.QueryState, workflows.DisruptionID, err)
	}
	var st workflows.DisruptionState
	if err := v.Get(&st); err != nil {
		return workflows.DisruptionState{}, fmt.Errorf("decode state of %s: %w", workflows.DisruptionID, err)
	}
	return st, nil
}

// operatorName is who is at the keyboard, user@host as far as the system says, for the
// controller's record of who paused and resumed.
func operatorName() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		name += "@" + host
	}
	return name
}
