package activities

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// nodeWritesAtOnce bounds the Node writes a decision's taints make at once: a decision may
// take a hundred nodes or more, and one write after another cost seconds of the decision's
// time; more at once than this only queue in the client's rate limiter.
const nodeWritesAtOnce = 16

// TaintCandidates puts karpenter.sh/disrupted:NoSchedule on a decision's nodes before
// anything else is done for it, as Karpenter's disruption controller does, so that no new
// pod lands on them while their replacement boots. A node already gone needs no taint.
func (d *Disruption) TaintCandidates(ctx context.Context, nodes []NodeRef) error {
	kube := &Kube{Client: d.Planner.Kube}
	err := firstErrors(forEachAtOnce(len(nodes), nodeWritesAtOnce, func(i int) error {
		return kube.TaintNode(ctx, nodes[i].Name, DisruptedTaint())
	}), 3)
	if err != nil {
		return fmt.Errorf("taint candidates: %w", err)
	}
	return nil
}

// UntaintCandidates takes the disrupted taint off the nodes of a dropped decision so that
// they take pods again. A node whose own way out has begun meanwhile (the Node deleted, or
// its NodeClaim Disrupting) keeps it, since its drain relies on it; so does one already gone.
func (d *Disruption) UntaintCandidates(ctx context.Context, nodes []NodeRef) error {
	kube := &Kube{Client: d.Planner.Kube}
	return firstErrors(forEachAtOnce(len(nodes), nodeWritesAtOnce, func(i int) error {
		n := nodes[i]
		if d.NodeClaims.disrupting(ctx, n.Claim) {
			return nil
		}
		err := kube.updateNode(ctx, n.Name, func(node *corev1.Node) bool {
			return node.DeletionTimestamp == nil && removeTaint(node, DisruptedTaint())
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("untaint node %s: %w", n.Name, err)
		}
		return nil
	}), 3)
}

// RecheckDisruption re-checks a decision's nodes once its replacement is Ready (see
// disruption.Recheck); it returns why they may no longer go, or "" when they still may.
// The disrupted taint on them is the controller's own and does not count as their leaving.
func (d *Disruption) RecheckDisruption(ctx context.Context, cmd disruption.Command) (string, error) {
	snap, _, err := d.snapshot(ctx, cmd.Nodes...)
	if err != nil {
		return "", fmt.Errorf("recheck disruption: %w", err)
	}
	if err := disruption.Recheck(snap, cmd); err != nil {
		return err.Error(), nil
	}
	return "", nil
}

// removeTaint drops the taints with t's key and effect; it reports whether the node changed.
func removeTaint(node *corev1.Node, t corev1.Taint) bool {
	kept := slices.DeleteFunc(slices.Clone(node.Spec.Taints), func(have corev1.Taint) bool { return have.MatchTaint(&t) })
	if len(kept) == len(node.Spec.Taints) {
		return false
	}
	node.Spec.Taints = kept
	return true
}

// disrupting: the claim's NodeClaim says its node is on its way out, deleted or Disrupting.
// Without NodeClaims nothing says so.
func (n *NodeClaims) disrupting(ctx context.Context, claim string) bool {
	if n == nil || n.Client == nil || claim == "" {
		return false
	}
	u, err := n.Client.Resource(v1.NodeClaimResource).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return false
	}
	if u.GetDeletionTimestamp() != nil {
		return true
	}
	nc := &v1.NodeClaim{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, nc); err != nil {
		return false
	}
	return apimeta.IsStatusConditionTrue(nc.Status.Conditions, v1.ConditionDisrupting)
}
