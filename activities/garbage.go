package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	// NodeClassGroup is the nodeClassRef group of the NodeClaims this worker serves; others
	// are never touched, whatever their labels.
	NodeClassGroup string
	Metrics        *Metrics
	// Now is the clock the grace periods are measured with; time.Now when nil.
	Now func() time.Time
}

// GarbageQuery is what a look needs from the looks before it.
type GarbageQuery struct {
	// Missing are instances of running node workflows that EC2 did not know at an earlier
	// look, by when that was first seen (FindGarbage returns the updated set).
	Missing map[string]time.Time `json:"missing,omitempty"`
}

// Garbage is what one look found. Each list holds at most maxGarbagePerLook entries, so the
// payload stays small however much has leaked; the rest is found by the next look.
type Garbage struct {
	// Instances are running instances this cluster's node workflows launched and no
	// running workflow accounts for.
	Instances []OrphanInstance `json:"instances,omitempty"`
	// Claims are NodeClaims and Nodes whose node workflow is not running.
	Claims []OrphanClaim `json:"claims,omitempty"`
	// Vanished are running node workflows whose instance is gone.
	Vanished []VanishedInstance `json:"vanished,omitempty"`
	// Missing carries GarbageQuery.Missing to the next look.
	Missing map[string]time.Time `json:"missing,omitempty"`
	// Errors are the parts of the look that failed (EC2, Nodes, NodeClaims): the others
	// still count.
	Errors []string `json:"errors,omitempty"`
	// Halted says why nothing is reclaimed this time although orphans were found.
	Halted string `json:"halted,omitempty"`
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
	// orphanGrace is how old an unaccounted instance, Node or NodeClaim must be, and how long
	// ago its workflow must have ended, before it is reclaimed (Karpenter's instance garbage
	// collection waits 30 s too): visibility and EC2's describe calls are eventually
	// consistent just after a launch, and a workflow's own clean-up may still be under way.
	orphanGrace = 30 * time.Second
	// replacedGrace is how long an instance may run beside the one its still-running workflow
	// recorded: only a launch whose answer was lost leaves such a pair.
	replacedGrace = 10 * time.Minute
	// missingGrace is how long EC2 must keep not knowing a running workflow's instance
	// before it counts as gone: right after a launch EC2 may answer NotFound for a while.
	// A terminated instance stays listed for about an hour, so most are seen terminated first.
	missingGrace = 5 * time.Minute
	// maxGarbagePerLook bounds each list of a look.
	maxGarbagePerLook = 100
	// maxLookupsPerLook bounds the calls one look makes to Temporal and EC2 to confirm
	// candidates, so that a visibility store that lists nothing costs a bounded look.
	maxLookupsPerLook = 300
	// brakeMin and brakeShare stop reclaiming when orphans are at least brakeMin and at
	// least brakeShare of what the look examined: a worker pointed at the wrong Temporal
	// namespace, or a Temporal restored from an old backup, sees every node as an orphan.
	brakeMin   = 10
	brakeShare = 0.5
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
	phase      string
}

// look is one FindGarbage: what it has seen and how many lookups it has left.
type look struct {
	g       *GarbageCollector
	now     time.Time
	running map[string]runningNode
	lookups int
}

// lookup spends one of the look's confirming calls; false when none is left.
func (l *look) lookup() bool {
	if l.lookups >= maxLookupsPerLook {
		return false
	}
	l.lookups++
	return true
}

// FindGarbage lists the cluster's instances, managed Nodes and NodeClaims and the running node
// workflows, and returns what no running workflow accounts for. Without the list of running
// workflows nothing can be judged; a failing EC2 or Kubernetes list only leaves its own part
// out.
func (g *GarbageCollector) FindGarbage(ctx context.Context, q GarbageQuery) (Garbage, error) {
	running, err := g.runningNodes(ctx)
	if err != nil {
		return Garbage{}, err
	}
	activity.RecordHeartbeat(ctx, fmt.Sprintf("%d node workflows running", len(running)))
	l := &look{g: g, now: g.now(), running: running}
	var out Garbage
	examined := 0
	live, err := g.EC2.clusterInstances(ctx)
	if err != nil {
		out.Errors = append(out.Errors, err.Error())
		out.Missing = q.Missing // nothing learnt about them
	} else {
		alive := map[string]bool{}
		for _, i := range live {
			alive[i.ID] = true
			if i.WorkflowID != "" {
				examined++
			}
			if len(out.Instances) < maxGarbagePerLook {
				if o, ok := l.orphanInstance(ctx, i); ok {
					out.Instances = append(out.Instances, o)
				}
			}
		}
		out.Vanished, out.Missing, err = l.vanished(ctx, alive, q.Missing)
		if err != nil {
			out.Errors = append(out.Errors, err.Error())
		}
	}
	claims, n, errs := l.orphanClaims(ctx)
	out.Claims, examined = claims, examined+n
	out.Errors = append(out.Errors, errs...)
	if orphans := len(out.Instances) + len(out.Claims); orphans >= brakeMin && float64(orphans) >= brakeShare*float64(examined) {
		out.Halted = fmt.Sprintf("%d of %d instances, Nodes and NodeClaims look orphaned: too many to be leaks; "+
			"check that the worker uses the Temporal namespace that launched them", orphans, examined)
		out.Instances, out.Claims = nil, nil
	}
	return out, nil
}

// orphanInstance decides whether a live instance of this cluster is garbage.
func (l *look) orphanInstance(ctx context.Context, i clusterInstance) (OrphanInstance, bool) {
	if i.WorkflowID == "" {
		return OrphanInstance{}, false // not launched by a node workflow: a Karpenter's, say
	}
	age := l.now.Sub(i.launched)
	node, ok := l.running[i.WorkflowID]
	switch {
	case !ok && age >= orphanGrace && l.lookup() && !l.g.accountedFor(ctx, i.WorkflowID):
		return OrphanInstance{ID: i.ID, WorkflowID: i.WorkflowID, Reason: ReasonNoWorkflow}, true
	case ok && node.instanceID != "" && node.instanceID != i.ID && age >= replacedGrace:
		return OrphanInstance{ID: i.ID, WorkflowID: i.WorkflowID, Reason: ReasonReplaced}, true
	}
	return OrphanInstance{}, false
}

// vanished lists running node workflows whose recorded instance is no longer live, each
// confirmed by describing the instance itself: terminated, or unknown to EC2 for
// missingGrace. It returns the instances still missing, by when they were first missed.
func (l *look) vanished(ctx context.Context, alive map[string]bool, missedBefore map[string]time.Time) ([]VanishedInstance, map[string]time.Time, error) {
	var out []VanishedInstance
	missing := map[string]time.Time{}
	for _, id := range slices.Sorted(maps.Keys(l.running)) {
		node := l.running[id]
		if node.instanceID == "" || alive[node.instanceID] || node.phase == phaseTerminating || node.phase == phaseTerminated {
			continue
		}
		if len(out) == maxGarbagePerLook || !l.lookup() {
			break
		}
		owner, err := l.g.EC2.owner(ctx, node.instanceID)
		if err != nil {
			return out, missing, fmt.Errorf("look again at %s of %s: %w", node.instanceID, id, err)
		}
		switch {
		case owner.Found && gone(owner.State):
			out = append(out, VanishedInstance{WorkflowID: id, InstanceID: node.instanceID, State: owner.State})
		case owner.Found:
		default:
			since, seen := missedBefore[node.instanceID]
			if !seen {
				since = l.now
			}
			if l.now.Sub(since) < missingGrace {
				missing[node.instanceID] = since
				continue
			}
			out = append(out, VanishedInstance{WorkflowID: id, InstanceID: node.instanceID, State: "not found"})
		}
	}
	return out, missing, nil
}

// gone is an EC2 state an instance does not come back from.
func gone(state string) bool {
	return state == string(ec2types.InstanceStateNameShuttingDown) || state == string(ec2types.InstanceStateNameTerminated)
}

// orphanClaims lists managed Nodes and NodeClaims of this worker whose node workflow is not
// running and whose instance, if any, is the workflow's or gone: a label anyone can set is
// not proof enough. It also returns how many objects it examined.
func (l *look) orphanClaims(ctx context.Context) (_ []OrphanClaim, examined int, errs []string) {
	seen := map[string]bool{}
	var out []OrphanClaim
	consider := func(claim, node, providerID string, created time.Time) {
		examined++
		if claim == "" || seen[claim] || len(out) == maxGarbagePerLook {
			return
		}
		seen[claim] = true
		id := nodeWorkflowPrefix + claim
		if _, ok := l.running[id]; ok || l.now.Sub(created) < orphanGrace || !l.lookup() || l.g.accountedFor(ctx, id) {
			return
		}
		if err := l.g.instanceIsTheClaims(ctx, providerID, id); err != nil {
			return
		}
		out = append(out, OrphanClaim{Claim: claim, Node: node})
	}
	nodes, err := l.g.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0", LabelSelector: LabelManaged + "=true"})
	if err != nil {
		errs = append(errs, fmt.Sprintf("list managed nodes: %v", err))
	} else {
		for _, n := range nodes.Items {
			consider(n.Labels[v1.LabelNodeClaim], n.Name, n.Spec.ProviderID, n.CreationTimestamp.Time)
		}
	}
	if l.g.NodeClaims == nil {
		return out, examined, errs
	}
	claims, err := l.g.NodeClaims.Resource(v1.NodeClaimResource).List(ctx, metav1.ListOptions{ResourceVersion: "0", LabelSelector: LabelManaged + "=true"})
	if err != nil {
		return out, examined, append(errs, fmt.Sprintf("list managed nodeclaims: %v", err))
	}
	for _, c := range claims.Items {
		if group, _, _ := unstructured.NestedString(c.Object, "spec", "nodeClassRef", "group"); group != l.g.NodeClassGroup {
			continue // another autoscaler's, whatever its labels say
		}
		providerID, _, _ := unstructured.NestedString(c.Object, "status", "providerID")
		consider(c.GetName(), "", providerID, c.GetCreationTimestamp().Time)
	}
	return out, examined, errs
}

// instanceIsTheClaims checks that the instance a Node or NodeClaim names, if any, was
// launched by the claim's workflow for this cluster, or is gone.
func (g *GarbageCollector) instanceIsTheClaims(ctx context.Context, providerID, workflowID string) error {
	id := InstanceIDOf(providerID)
	if id == "" {
		if providerID != "" {
			return notOwned("provider id %q names no EC2 instance", providerID)
		}
		return nil
	}
	owner, err := g.EC2.owner(ctx, id)
	switch {
	case err != nil:
		return err
	case owner.Found && !gone(owner.State) && owner.WorkflowID != workflowID:
		return notOwned("instance %s is tagged for workflow %q, not %q", id, owner.WorkflowID, workflowID)
	}
	return nil
}

// runningNodes lists the running node workflows with their recorded instance and phase.
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
			fields := e.GetSearchAttributes().GetIndexedFields()
			out[e.GetExecution().GetWorkflowId()] = runningNode{
				instanceID: keywordOf(fields["InstanceID"]), phase: keywordOf(fields["NodePhase"]),
			}
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return out, nil
		}
	}
}

// keywordOf decodes a keyword search attribute; "" when absent or malformed.
func keywordOf(p *commonpb.Payload) string {
	var s string
	if p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
	}
	return s
}

// accountedFor asks Temporal itself, which unlike visibility is never behind, whether the
// workflow runs or ended less than orphanGrace ago; when it cannot tell it says yes, so
// nothing is reclaimed on a guess.
func (g *GarbageCollector) accountedFor(ctx context.Context, workflowID string) bool {
	running, _, err := g.describeNode(ctx, workflowID)
	return err != nil || running
}

// describeNode reads, from Temporal itself, whether a node workflow runs (or ended less than
// orphanGrace ago) and the instance it records.
func (g *GarbageCollector) describeNode(ctx context.Context, workflowID string) (running bool, instanceID string, _ error) {
	d, err := g.Workflows.DescribeWorkflowExecution(ctx, workflowID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return false, "", nil
	case err != nil:
		return false, "", fmt.Errorf("describe %s: %w", workflowID, err)
	}
	info := d.GetWorkflowExecutionInfo()
	instanceID = keywordOf(info.GetSearchAttributes().GetIndexedFields()["InstanceID"])
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return true, instanceID, nil
	}
	recent := info.GetCloseTime() != nil && g.now().Sub(info.GetCloseTime().AsTime()) < orphanGrace
	return recent, instanceID, nil
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
		return false, notOwned("instance %s is tagged for workflow %q, not %q: left alone", o.ID, owner.WorkflowID, o.WorkflowID)
	}
	running, recorded, err := g.describeNode(ctx, o.WorkflowID)
	switch {
	case err != nil:
		return false, err
	case o.Reason == ReasonNoWorkflow && running:
		return false, nil // reset, or started again
	case o.Reason == ReasonReplaced && (!running || recorded == "" || recorded == o.ID):
		return false, nil // the workflow now records this instance, or ended: the next look judges again
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
		return notOwned("node %s is no longer claim %s's managed node: left alone", name, claim)
	}
	if err := g.instanceIsTheClaims(ctx, node.Spec.ProviderID, nodeWorkflowPrefix+claim); err != nil {
		return fmt.Errorf("node %s left alone: %w", name, err)
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
