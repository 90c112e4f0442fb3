package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// GarbageCollector reconciles EC2 and Kubernetes against the node workflows: whatever no
// running workflow accounts for is reclaimed. Workflows are the source of truth, so an
// instance whose CreateFleet answer was lost, or whose workflow an operator terminated or
// reset, is found here and not billed forever.
//
// Finding is one activity and each reclaim another, so the garbage collector's history says
// what was reclaimed and why. Every reclaim checks again, just before it acts, that the
// object is still ours and still unaccounted for: the world moves between the two.
type GarbageCollector struct {
	EC2       *EC2
	Kube      kubernetes.Interface
	Workflows client.Client
	// NodeClaims is nil when NodePools come from a file (no NodeClaim objects exist).
	NodeClaims dynamic.Interface
	Metrics    *Metrics
	// Now is the clock the grace periods are measured with; time.Now when nil.
	Now func() time.Time
}

// Garbage is what one look found. Each list holds at most maxGarbagePerLook entries, so the
// payload stays small however much has leaked; the rest is found by the next look.
type Garbage struct {
	// Instances are running instances this cluster's node workflows launched and no
	// running workflow accounts for.
	Instances []OrphanInstance `json:"instances,omitempty"`
	// Claims are NodeClaims and Nodes whose node workflow is not running.
	Claims []OrphanClaim `json:"claims,omitempty"`
	// Vanished are running node workflows whose instance EC2 has terminated.
	Vanished []VanishedInstance `json:"vanished,omitempty"`
}

// OrphanInstance is an instance to terminate and why.
type OrphanInstance struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflowId"`
	Reason     string `json:"reason"`
}

// OrphanClaim is a claim whose objects outlived its workflow.
type OrphanClaim struct {
	Claim string `json:"claim"`
	// Node is the claim's Node, "" when only a NodeClaim is left.
	Node string `json:"node,omitempty"`
}

// VanishedInstance is a running node workflow whose instance is gone.
type VanishedInstance struct {
	WorkflowID string `json:"workflowId"`
	InstanceID string `json:"instanceId"`
	State      string `json:"state"`
}

const (
	// orphanGrace is how old an unaccounted instance, Node or NodeClaim must be before it is
	// reclaimed (Karpenter's instance garbage collection waits 30 s too): visibility and
	// EC2's describe calls are eventually consistent just after a launch.
	orphanGrace = 30 * time.Second
	// replacedGrace is how long an instance may run beside the one its still-running workflow
	// recorded: only a launch whose answer was lost leaves such a pair.
	replacedGrace = 10 * time.Minute
	// vanishedGrace is how long a node workflow must have run before its instance's absence
	// counts: a just-launched instance may not be listed yet.
	vanishedGrace = time.Minute
	// maxGarbagePerLook bounds each list of a look.
	maxGarbagePerLook = 100
	// nodeWorkflowType and nodeWorkflowPrefix name the NodeLifecycle workflows; the workflows
	// package defines them, and cannot be imported from here.
	nodeWorkflowType   = "NodeLifecycleWorkflow"
	nodeWorkflowPrefix = "node/"
)

// Reasons an instance is reclaimed, as the garbage collector's history and logs show them.
const (
	ReasonNoWorkflow = "no running node workflow launched it"
	ReasonReplaced   = "its node workflow runs with another instance"
)

// runningNode is a running node workflow as visibility lists it.
type runningNode struct {
	instanceID string
	started    time.Time
}

// FindGarbage lists the cluster's instances, managed Nodes and NodeClaims and the running node
// workflows, and returns what no running workflow accounts for.
func (g *GarbageCollector) FindGarbage(ctx context.Context) (Garbage, error) {
	running, err := g.runningNodes(ctx)
	if err != nil {
		return Garbage{}, err
	}
	activity.RecordHeartbeat(ctx, fmt.Sprintf("%d node workflows running", len(running)))
	live, err := g.EC2.clusterInstances(ctx)
	if err != nil {
		return Garbage{}, err
	}
	var out Garbage
	now := g.now()
	alive := map[string]bool{}
	for _, i := range live {
		alive[i.ID] = true
		if len(out.Instances) < maxGarbagePerLook {
			if o, ok := g.orphanInstance(ctx, i, running, now); ok {
				out.Instances = append(out.Instances, o)
			}
		}
	}
	if out.Vanished, err = g.vanished(ctx, running, alive, now); err != nil {
		return Garbage{}, err
	}
	if out.Claims, err = g.orphanClaims(ctx, running, now); err != nil {
		return Garbage{}, err
	}
	return out, nil
}

// orphanInstance decides whether a live instance of this cluster is garbage.
func (g *GarbageCollector) orphanInstance(ctx context.Context, i clusterInstance, running map[string]runningNode, now time.Time) (OrphanInstance, bool) {
	if i.WorkflowID == "" {
		return OrphanInstance{}, false // not launched by a node workflow: a Karpenter's, say
	}
	age := now.Sub(i.launched)
	node, ok := running[i.WorkflowID]
	switch {
	case !ok && age >= orphanGrace && !g.accountedFor(ctx, i.WorkflowID):
		return OrphanInstance{ID: i.ID, WorkflowID: i.WorkflowID, Reason: ReasonNoWorkflow}, true
	case ok && node.instanceID != "" && node.instanceID != i.ID && age >= replacedGrace:
		return OrphanInstance{ID: i.ID, WorkflowID: i.WorkflowID, Reason: ReasonReplaced}, true
	}
	return OrphanInstance{}, false
}

// vanished lists running node workflows whose recorded instance is no longer live, each
// confirmed by describing the instance itself.
func (g *GarbageCollector) vanished(ctx context.Context, running map[string]runningNode, alive map[string]bool, now time.Time) ([]VanishedInstance, error) {
	var out []VanishedInstance
	for _, id := range slices.Sorted(maps.Keys(running)) {
		node := running[id]
		if node.instanceID == "" || alive[node.instanceID] || now.Sub(node.started) < vanishedGrace {
			continue
		}
		if len(out) == maxGarbagePerLook {
			break
		}
		owner, err := g.EC2.owner(ctx, node.instanceID)
		if err != nil {
			return nil, fmt.Errorf("look again at %s of %s: %w", node.instanceID, id, err)
		}
		if owner.Found && !gone(owner.State) {
			continue
		}
		state := cmp.Or(owner.State, "not found")
		out = append(out, VanishedInstance{WorkflowID: id, InstanceID: node.instanceID, State: state})
	}
	return out, nil
}

// gone is an EC2 state an instance does not come back from.
func gone(state string) bool {
	return state == string(ec2types.InstanceStateNameShuttingDown) || state == string(ec2types.InstanceStateNameTerminated)
}

// orphanClaims lists managed Nodes and NodeClaims whose node workflow is not running.
func (g *GarbageCollector) orphanClaims(ctx context.Context, running map[string]runningNode, now time.Time) ([]OrphanClaim, error) {
	nodes, err := g.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0", LabelSelector: LabelManaged + "=true"})
	if err != nil {
		return nil, fmt.Errorf("list managed nodes: %w", err)
	}
	seen := map[string]bool{}
	var out []OrphanClaim
	consider := func(claim, node string, created time.Time) {
		if claim == "" || seen[claim] || len(out) == maxGarbagePerLook {
			return
		}
		seen[claim] = true
		id := nodeWorkflowPrefix + claim
		if _, ok := running[id]; ok || now.Sub(created) < orphanGrace || g.accountedFor(ctx, id) {
			return
		}
		out = append(out, OrphanClaim{Claim: claim, Node: node})
	}
	for _, n := range nodes.Items {
		consider(n.Labels[v1.LabelNodeClaim], n.Name, n.CreationTimestamp.Time)
	}
	if g.NodeClaims == nil {
		return out, nil
	}
	claims, err := g.NodeClaims.Resource(v1.NodeClaimResource).List(ctx, metav1.ListOptions{ResourceVersion: "0", LabelSelector: LabelManaged + "=true"})
	if err != nil {
		return nil, fmt.Errorf("list managed nodeclaims: %w", err)
	}
	for _, c := range claims.Items {
		consider(c.GetName(), "", c.GetCreationTimestamp().Time)
	}
	return out, nil
}

// runningNodes lists the running node workflows with their recorded instance.
func (g *GarbageCollector) runningNodes(ctx context.Context) (map[string]runningNode, error) {
	query := fmt.Sprintf(`WorkflowType = %q AND ExecutionStatus = "Running"`, nodeWorkflowType)
	out := map[string]runningNode{}
	var token []byte
	for {
		resp, err := g.Workflows.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list running node workflows: %w", err)
		}
		for _, e := range resp.Executions {
			node := runningNode{started: e.GetStartTime().AsTime()}
			if p, ok := e.GetSearchAttributes().GetIndexedFields()["InstanceID"]; ok {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &node.instanceID)
			}
			out[e.GetExecution().GetWorkflowId()] = node
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return out, nil
		}
	}
}

// accountedFor asks Temporal itself, which unlike visibility is never behind, whether the
// workflow runs or ended less than orphanGrace ago (its own clean-up, or an operator's, may
// still be under way); when it cannot tell it says yes, so nothing is reclaimed on a guess.
func (g *GarbageCollector) accountedFor(ctx context.Context, workflowID string) bool {
	d, err := g.Workflows.DescribeWorkflowExecution(ctx, workflowID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return false
	case err != nil:
		return true
	}
	info := d.GetWorkflowExecutionInfo()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return true
	}
	return info.GetCloseTime() != nil && g.now().Sub(info.GetCloseTime().AsTime()) < orphanGrace
}

// CollectInstance terminates an orphan instance once it has checked again that EC2 still
// tags it as launched by that workflow for this cluster and that nothing accounts for it.
// It does not wait for the instance to end: the next look sees it if it did not.
func (g *GarbageCollector) CollectInstance(ctx context.Context, o OrphanInstance) (reclaimed bool, _ error) {
	owner, err := g.EC2.owner(ctx, o.ID)
	switch {
	case err != nil:
		return false, err
	case !owner.Found || gone(owner.State):
		return false, nil
	case owner.WorkflowID == "" || owner.WorkflowID != o.WorkflowID:
		return false, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("instance %s is tagged for workflow %q, not %q: left alone", o.ID, owner.WorkflowID, o.WorkflowID), ErrTypeNotOurs, nil)
	case o.Reason == ReasonNoWorkflow && g.accountedFor(ctx, o.WorkflowID):
		return false, nil
	}
	if _, err := g.EC2.startTerminating(ctx, o.ID); err != nil {
		return false, err
	}
	g.Metrics.garbageCollected("instance")
	activity.GetLogger(ctx).Info("terminated an orphan instance", "instance", o.ID, "workflow", o.WorkflowID, "reason", o.Reason)
	return true, nil
}

// CollectClaim terminates the instance of a claim whose workflow is not running, then
// deletes its Node and NodeClaim. The termination finalizers are left in place: the
// NodeClaim deletion watcher releases them once the instance is gone, as for any claim
// whose workflow has ended.
func (g *GarbageCollector) CollectClaim(ctx context.Context, o OrphanClaim) (reclaimed bool, _ error) {
	workflowID := nodeWorkflowPrefix + o.Claim
	if g.accountedFor(ctx, workflowID) {
		return false, nil
	}
	instances, err := g.EC2.launchedBy(ctx, workflowID)
	if err != nil {
		return false, err
	}
	for _, i := range instances {
		if gone(i.State) {
			continue
		}
		if _, err := g.EC2.startTerminating(ctx, i.ID); err != nil {
			return false, err
		}
	}
	if o.Node != "" {
		if err := g.deleteNode(ctx, o.Node, o.Claim); err != nil {
			return false, err
		}
	}
	if g.NodeClaims != nil {
		err := g.NodeClaims.Resource(v1.NodeClaimResource).Delete(ctx, o.Claim, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("delete nodeclaim %s: %w", o.Claim, err)
		}
	}
	g.Metrics.garbageCollected("claim")
	activity.GetLogger(ctx).Info("reclaimed a claim whose workflow is not running", "claim", o.Claim, "node", o.Node, "instances", len(instances))
	return true, nil
}

// deleteNode deletes the Node if it still is the claim's managed Node.
func (g *GarbageCollector) deleteNode(ctx context.Context, name, claim string) error {
	node, err := g.Kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("get node %s: %w", name, err)
	case node.Labels[LabelManaged] != "true" || node.Labels[v1.LabelNodeClaim] != claim:
		return fmt.Errorf("node %s is no longer claim %s's managed node: left alone", name, claim)
	}
	uid := node.UID
	err = g.Kube.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", name, err)
	}
	return nil
}

func (g *GarbageCollector) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// clusterInstance is a live instance tagged for this cluster.
type clusterInstance struct {
	InstanceOwner
	launched time.Time
}

// clusterInstances lists the instances tagged for this cluster that are not going away.
func (e *EC2) clusterInstances(ctx context.Context) (_ []clusterInstance, err error) {
	defer e.Metrics.cloudProviderCall(ctx, MethodGet, time.Now(), &err)
	in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag-key"), Values: []string{ClusterTagKey(e.ClusterName)}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}}
	var out []clusterInstance
	pages := ec2.NewDescribeInstancesPaginator(e.API, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classifyAPIError("describe the cluster's instances", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				out = append(out, clusterInstance{InstanceOwner: e.ownerOf(i), launched: aws.ToTime(i.LaunchTime)})
			}
		}
	}
	return out, nil
}
