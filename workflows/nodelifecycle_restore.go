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
// who can start a workflow can hand it a state, and a restored run drains and deletes the Node
// and terminates the instance it names. The claim must be the one this workflow id is for,
// the instance's tags must say this workflow launched it for the claim in this cluster, and
// the Node's providerID must name that instance. On a refusal nothing has been touched: no
// phase, search attribute or NodeClaim is written.
func (n *nodeLifecycle) verifyRestored(ctx workflow.Context) error {
	if !n.restored || workflow.GetVersion(ctx, changeVerifyRestored, workflow.DefaultVersion, 1) < 1 {
		return nil
	}
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	switch {
	case id != NodeWorkflowID(n.claim.Name):
		return restoreRefused("workflow %s may not continue claim %s: its workflow id would be %s", id, n.claim.Name, NodeWorkflowID(n.claim.Name))
	case n.state.Claim != n.claim.Name:
		return restoreRefused("restore is the state of claim %q, not of this workflow's claim %s", n.state.Claim, n.claim.Name)
	case n.state.NodeName != "" && n.state.InstanceID == "":
		return restoreRefused("restore names node %s but no instance, so the node cannot be checked", n.state.NodeName)
	}
	actx := workflow.WithActivityOptions(ctx, verifyOptions())
	if n.state.InstanceID != "" {
		check := activities.InstanceCheck{InstanceID: n.state.InstanceID, WorkflowID: id, NodeClaim: n.claim.Name}
		if err := workflow.ExecuteActivity(actx, ec2Acts.VerifyInstance, check).Get(ctx, nil); err != nil {
			return refusedIfNotOwned(err)
		}
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
