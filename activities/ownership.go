package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
)

// ErrTypeNotOwned: a destructive activity found that the instance or Node it was asked to act
// on is not the one its workflow owns, and left it alone. Retrying cannot change that.
const ErrTypeNotOwned = "NotOwned"

// InstanceCheck names an instance and what its tags must say for it to be a claim's: this
// cluster's tag, and the workflow and NodeClaim that launched it.
type InstanceCheck struct {
	InstanceID string `json:"instanceId"`
	// WorkflowID and NodeClaim are the TagWorkflowID and TagNodeClaim values the instance must
	// carry; an empty one is not checked.
	WorkflowID string `json:"workflowId,omitempty"`
	NodeClaim  string `json:"nodeClaim,omitempty"`
}

// NodeCheck names a Node and the instance it must stand for (its providerID).
type NodeCheck struct {
	NodeName   string `json:"nodeName"`
	InstanceID string `json:"instanceId"`
}

// TerminateRequest names the instance to terminate and what its tags must say: Terminate acts
// only on an instance of this cluster that the claim's workflow launched. WorkflowID and
// NodeClaim are empty in a request an older worker scheduled with the bare instance id: then
// only this cluster's tag is checked.
type TerminateRequest InstanceCheck

// UnmarshalJSON also reads the bare instance id string that Terminate took before it took a
// request, so that an activity scheduled by an older worker still runs.
func (r *TerminateRequest) UnmarshalJSON(b []byte) error {
	var id string
	if json.Unmarshal(b, &id) == nil {
		*r = TerminateRequest{InstanceID: id}
		return nil
	}
	type plain TerminateRequest // without this method
	return json.Unmarshal(b, (*plain)(r))
}

// DeleteNodeRequest names the Node to delete and the instance it must stand for: DeleteNode
// acts only on a Node whose providerID names that instance.
type DeleteNodeRequest struct {
	NodeName string `json:"nodeName"`
	// InstanceID is empty in a request an older worker scheduled with the bare node name:
	// then the Node must at least carry LabelManaged.
	InstanceID string `json:"instanceId,omitempty"`
	// ProviderID finds the Node when NodeName is empty: one a registration synced before its
	// workflow learned the name. No Node with it means nothing to delete.
	ProviderID string `json:"providerID,omitempty"`
}

// UnmarshalJSON also reads the bare node name string that DeleteNode took before it took a
// request, so that an activity scheduled by an older worker still runs.
func (r *DeleteNodeRequest) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*r = DeleteNodeRequest{NodeName: name}
		return nil
	}
	type plain DeleteNodeRequest // without this method
	return json.Unmarshal(b, (*plain)(r))
}

// VerifyInstance refuses (non-retryable NotOwned) an instance whose tags say it is not the
// check's claim's: a node workflow continued from a given state runs it before trusting the
// instance that state names. An instance EC2 no longer knows passes, as Terminate counts it
// gone: nothing can be done to it.
func (e *EC2) VerifyInstance(ctx context.Context, check InstanceCheck) error {
	if check.InstanceID == "" {
		return notOwned("verify instance: the check names no instanceId")
	}
	inst, err := e.describeOne(ctx, check.InstanceID)
	if err != nil {
		return fmt.Errorf("verify instance %s: %w", check.InstanceID, err)
	}
	if inst == nil {
		return nil
	}
	return check.refusal(e.ClusterName, e.ownerTagsOf(*inst))
}

// VerifyNode refuses (non-retryable NotOwned) a Node whose providerID names another instance
// than the check's. A Node that does not exist passes: nothing can be done to it.
func (k *Kube) VerifyNode(ctx context.Context, check NodeCheck) error {
	if check.InstanceID == "" {
		return notOwned("verify node %s: the check names no instanceId to hold its providerID to", check.NodeName)
	}
	node, err := k.node(ctx, check.NodeName)
	if err != nil {
		return fmt.Errorf("verify node %s: %w", check.NodeName, err)
	}
	if node == nil {
		return nil
	}
	return nodeRefusal(node.Name, node.Spec.ProviderID, check.InstanceID)
}

// InstanceIDOf reads the instance id from an AWS provider id (aws:///<zone>/<instance-id>);
// "" for any other form.
func InstanceIDOf(providerID string) string {
	rest, ok := strings.CutPrefix(providerID, "aws:///")
	if !ok {
		return ""
	}
	return rest[strings.LastIndex(rest, "/")+1:]
}

// refusal says why an instance with the tags found is not the one r names in the cluster;
// nil when it is.
func (r InstanceCheck) refusal(cluster string, found ownerTags) error {
	switch {
	case !found.cluster:
		return notOwned("instance %s lacks this cluster's tag %s (found %s)", r.InstanceID, ClusterTagKey(cluster), found)
	case r.WorkflowID != "" && found.workflowID != r.WorkflowID:
		return notOwned("instance %s was not launched by workflow %s: found %s", r.InstanceID, r.WorkflowID, found)
	case r.NodeClaim != "" && found.nodeClaim != r.NodeClaim:
		return notOwned("instance %s was not launched for NodeClaim %s: found %s", r.InstanceID, r.NodeClaim, found)
	}
	return nil
}

// refusal says why the Node is not one r may delete; nil when it is. A request without an
// instance id can only be checked for the label Nodewright puts on its Nodes.
func (r DeleteNodeRequest) refusal(node *corev1.Node) error {
	if r.InstanceID == "" {
		if node.Labels[LabelManaged] != "true" {
			return notOwned("node %s lacks the label %s=true: it is not Nodewright's", node.Name, LabelManaged)
		}
		return nil
	}
	return nodeRefusal(node.Name, node.Spec.ProviderID, r.InstanceID)
}

// nodeRefusal says why a Node with this providerID is not the one that stands for the
// instance; nil when it is.
func nodeRefusal(nodeName, providerID, instanceID string) error {
	if got := InstanceIDOf(providerID); got != instanceID {
		return notOwned("node %s has providerID %q, not one of instance %s: it is not this workflow's node", nodeName, providerID, instanceID)
	}
	return nil
}

func notOwned(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeNotOwned, nil)
}

// ownerTags are an instance's ownership tags as found, whatever cluster they name.
type ownerTags struct {
	cluster               bool // this cluster's tag is there
	nodeClaim, workflowID string
}

func (t ownerTags) String() string {
	cluster := "no cluster tag"
	if t.cluster {
		cluster = "this cluster's tag"
	}
	return fmt.Sprintf("%s, %s=%q, %s=%q", cluster, TagNodeClaim, t.nodeClaim, TagWorkflowID, t.workflowID)
}
