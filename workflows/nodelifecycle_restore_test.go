package workflows

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/nodewright/nodewright/activities"
)

// readyState is the state a first run of the test claim hands on when it continues as new.
func readyState(at time.Time) *NodeState {
	return &NodeState{Phase: PhaseReady, Claim: testClaim, NodePool: "default", NodeName: testNode,
		InstanceID: testInstance().ID, InstanceType: testInstance().Type, Zone: testInstance().Zone,
		CapacityType: testInstance().CapacityType, Transitions: []PhaseChange{{Phase: PhaseReady, At: at}}}
}

// Anyone who can start a workflow can hand NodeLifecycle a state to continue from; a state
// that is not this workflow's must be refused before anything is drained, deleted,
// terminated or written.
func TestRestoredRunRefusesAStateThatIsNotItsOwn(t *testing.T) {
	notOwned := func(msg string) error {
		return temporal.NewNonRetryableApplicationError(msg, activities.ErrTypeNotOwned, nil)
	}
	tests := []struct {
		name           string
		forge          func(in *NodeLifecycleInput)
		instanceErr    error
		nodeErr        error
		wantActivities []string
		wantRefusal    string
	}{
		{name: "an instance whose tags say another workflow launched it",
			instanceErr:    notOwned("instance i-0abc was not launched by workflow node/default-abcde"),
			wantActivities: []string{"VerifyInstance"}, wantRefusal: "was not launched by workflow node/default-abcde"},
		{name: "a Node whose providerID names another instance",
			nodeErr:        notOwned(`node ip-10-0-0-7 has providerID "aws:///us-east-1a/i-other", not one of instance i-0abc`),
			wantActivities: []string{"VerifyInstance", "VerifyNode"}, wantRefusal: "not one of instance i-0abc"},
		{name: "another claim's instance continued under this claim's name",
			forge:          func(in *NodeLifecycleInput) { in.Restore.InstanceID = "i-victim" },
			instanceErr:    notOwned(`instance i-victim was not launched for NodeClaim default-abcde: found karpenter.sh/nodeclaim="victim"`),
			wantActivities: []string{"VerifyInstance"}, wantRefusal: "not launched for NodeClaim default-abcde"},
		{name: "the state of another claim",
			forge:       func(in *NodeLifecycleInput) { in.Restore.Claim = "victim-claim" },
			wantRefusal: `the state of claim "victim-claim"`},
		{name: "a state without an instance, which would bind the claim to nothing",
			forge:       func(in *NodeLifecycleInput) { in.Restore.InstanceID, in.Restore.NodeName = "", "" },
			wantRefusal: "restore names no instance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newNodeRun(t)
			// Registered before happyPath's, so these answer.
			r.env.OnActivity(r.ec2.VerifyInstance, mock.Anything, mock.Anything).Return(tt.instanceErr)
			r.env.OnActivity(r.kube.VerifyNode, mock.Anything, mock.Anything).Return(tt.nodeErr)
			r.happyPath()
			in := NodeLifecycleInput{Claim: testNodeClaim(), Restore: readyState(r.start)}
			if tt.forge != nil {
				tt.forge(&in)
			}
			r.env.ExecuteWorkflow(NodeLifecycleWorkflow, in)

			var appErr *temporal.ApplicationError
			if err := r.env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != ErrTypeRestoreRefused || !strings.Contains(err.Error(), tt.wantRefusal) {
				t.Errorf("workflow error %v, want a %s saying %q", err, ErrTypeRestoreRefused, tt.wantRefusal)
			}
			if !slices.Equal(r.activities, tt.wantActivities) {
				t.Errorf("activities %v, want only the checks %v", r.activities, tt.wantActivities)
			}
			if len(r.projections) > 0 || len(r.phasesSA) > 0 {
				t.Errorf("refused run wrote its NodeClaim at %v and search attributes at %v, want nothing written", r.projections, r.phasesSA)
			}
		})
	}
}
