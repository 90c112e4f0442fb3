package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nodewright/nodewright/activities"
)

// ErrTypeRestoreRefused is the error a NodeLifecycle fails with when the state it was given
// to continue from names an instance, Node or claim that is not its own.
const ErrTypeRestoreRefused = "RestoreRefused"

// changeVerifyRestored versions verifyRestored: restored runs recorded before it replay
// without its activities.
const changeVerifyRestored = "verify-restored"

// verifyRestored checks a restored state against the world before the run trusts it: anyone
// who can start a workflow can hand it a state, and a restored run drains and deletes the Node,
// terminates the instance and writes and releases the NodeClaim it names. A state is restored
// only once its node is Ready, so it names an instance, whose tags must say this workflow
// launched it for this claim in this cluster; that binds the claim to this workflow. The
// Node's providerID must name that instance. On a refusal nothing has been touched: no phase,
// search attribute or NodeClaim is written. The workflow id is only handed to the check, never
// branched on: a replayer runs the history under an id of its own.
func (n *nodeLifecycle) verifyRestored(ctx workflow.Context) error {
	if !n.restored || n.version(ctx, changeVerifyRestored) < 1 {
		return nil
	}
	switch {
	case n.state.Claim != n.claim.Name:
		return restoreRefused("restore is the state of claim %q, not of this workflow's claim %s", n.state.Claim, n.claim.Name)
	case n.state.InstanceID == "":
		return restoreRefused("restore names no instance, so it cannot be checked: a node continues only once Ready")
	}
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	actx := workflow.WithActivityOptions(ctx, verifyOptions())
	check := activities.InstanceCheck{InstanceID: n.state.InstanceID, WorkflowID: id, NodeClaim: n.claim.Name}
	if err := workflow.ExecuteActivity(actx, ec2Acts.VerifyInstance, check).Get(ctx, nil); err != nil {
		return refusedIfNotOwned(err)
	}
	if n.state.NodeName != "" {
		check := activities.NodeCheck{NodeName: n.state.NodeName, InstanceID: n.state.InstanceID}
		if err := workflow.ExecuteActivity(actx, kubeActs.VerifyNode, check).Get(ctx, nil); err != nil {
			return refusedIfNotOwned(err)
		}
	}
	return nil
}

// refusedIfNotOwned turns a check's NotOwned answer into the workflow's refusal; any other
// error (the run cancelled while it checked) ends the run as it is.
func refusedIfNotOwned(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeNotOwned {
		return restoreRefused("restore refused: %s", appErr.Error())
	}
	return err
}

func restoreRefused(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeRestoreRefused, nil)
}
