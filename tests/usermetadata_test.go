package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"

	"github.com/nodewright/nodewright/workflows"
)

// What the Temporal UI shows of a Ready node without opening its history: the workflow's
// summary and details from its start (DescribeWorkflowExecution's user metadata) name its
// pool and plan, and its current details (the metadata query the UI makes) the instance it
// runs on, as `starter nodes` does; the Provisioner's details say what it last planned.
func TestTheTemporalUIShowsEachNodeAtAGlance(t *testing.T) {
	e := startEnv(t, poolYAML("glance", "", "consolidateAfter: Never"))
	e.deploy("web", 2, "500m")
	used := e.allBound(2)
	var claim string
	for node, c := range claimsOf(t, e, used) {
		claim = c
		// Pods may run before the node's workflow has seen it initialized and gone Ready.
		e.eventually("node workflow "+c+" Ready", time.Minute, func() (bool, string) {
			phase := e.nodeState(c).Phase
			return phase == workflows.PhaseReady, "phase " + string(phase)
		})
		st := e.nodeState(c)
		summary, details := e.userMetadata(workflows.NodeWorkflowID(c))
		pods := fmt.Sprintf("%d pod", len(st.Pods))
		if !strings.HasPrefix(summary, "**glance** · ") || !strings.Contains(summary, " planned · "+pods) || strings.Contains(summary, "\n") {
			t.Errorf("node %s summary %q, want one line: the pool, its plan and %ss", node, summary, pods)
		}
		if want := "NodeClaim **" + c + "** of NodePool **glance**"; !strings.HasPrefix(details, want) {
			t.Errorf("node %s static details %q, want them to start with %q", node, details, want)
		}
		current := e.currentDetails(workflows.NodeWorkflowID(c))
		t.Logf("node %s\nsummary: %s\nstatic details:\n%s\ncurrent details:\n%s", node, summary, details, current)
		for _, want := range []string{
			"**Ready** since ",
			fmt.Sprintf(" · %s · %s · %s · $%.4f/h", st.InstanceType, st.Zone, st.CapacityType, st.PricePerHour),
			"node " + node + " · instance " + st.InstanceID,
			pods,
		} {
			if !strings.Contains(current, want) {
				t.Errorf("node %s current details lack %q:\n%s", node, want, current)
			}
		}
	}
	plan := e.currentDetails(workflows.ProvisionerID)
	t.Logf("provisioner's current details:\n%s", plan)
	if !strings.Contains(plan, "**Last plan ") || !strings.Contains(plan, "$") {
		t.Errorf("Provisioner's current details %q, want its last plan and what it costs", plan)
	}
	// Metadata on the commands (the child's summary) must not disturb replay.
	replayHistory(t, e.ctx, workflows.NodeWorkflowID(claim), workflows.NodeLifecycleWorkflow, "nodelifecycle_usermetadata_history.json")
	replayHistory(t, e.ctx, workflows.ProvisionerID, workflows.ProvisionerWorkflow, "provisioner_usermetadata_history.json")
}

// userMetadata is a workflow's static summary and details, as the server describes them.
func (e *env) userMetadata(workflowID string) (summary, details string) {
	e.t.Helper()
	d, err := e.op.Client.DescribeWorkflowExecution(e.ctx, workflowID, "")
	if err != nil {
		e.t.Fatalf("describe %s: %v", workflowID, err)
	}
	md := d.GetExecutionConfig().GetUserMetadata()
	return e.decodeText(workflowID, md.GetSummary()), e.decodeText(workflowID, md.GetDetails())
}

func (e *env) decodeText(workflowID string, p *commonpb.Payload) string {
	e.t.Helper()
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		e.t.Fatalf("decode user metadata of %s: %v", workflowID, err)
	}
	return s
}

// currentDetails is a running workflow's current details, read as the Temporal UI does.
func (e *env) currentDetails(workflowID string) string {
	e.t.Helper()
	v, err := e.op.Client.QueryWorkflow(e.ctx, workflowID, "", workflows.QueryWorkflowMetadata)
	if err != nil {
		e.t.Fatalf("query %s of %s: %v", workflows.QueryWorkflowMetadata, workflowID, err)
	}
	var md sdkpb.WorkflowMetadata
	if err := v.Get(&md); err != nil {
		e.t.Fatalf("decode metadata of %s: %v", workflowID, err)
	}
	return md.GetCurrentDetails()
}
