package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodewright/nodewright/lab/stack"
	"github.com/nodewright/nodewright/starter"
)

const pollEvery = 250 * time.Millisecond

// watch waits for the cluster to reach a state and reports progress as it goes.
type watch struct {
	lab      *stack.Stack
	op       *starter.Operator
	out      io.Writer
	timeout  time.Duration
	worker   *runningWorker
	lastLine string
}

// until polls cond until it holds, the timeout passes or the worker dies.
func (w *watch) until(ctx context.Context, what string, cond func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	ticker := time.NewTicker(pollEvery)
	defer ticker.Stop()
	for {
		ok, err := cond(ctx)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("waiting until %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %s waiting until %s (worker log: %s/worker.log)", w.timeout, what, w.lab.Dir)
		case <-w.worker.done:
			return fmt.Errorf("%w while waiting until %s: %v", errWorkerStopped, what, w.worker.err)
		case <-ticker.C:
		}
	}
}

// progress prints a line when the picture changes.
func (w *watch) progress(line string) {
	if line != w.lastLine {
		fmt.Fprintln(w.out, "  "+line)
		w.lastLine = line
	}
}

// allBound waits until n live demo pods are bound to Nodewright nodes other than exclude.
func (w *watch) allBound(ctx context.Context, n int, exclude string) error {
	return w.until(ctx, fmt.Sprintf("%d pods are bound", n), func(ctx context.Context) (bool, error) {
		pods, err := PodsOf(ctx, w.lab)
		if err != nil {
			return false, err
		}
		nodes, err := w.lab.Kube.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ours := map[string]bool{}
		for i := range nodes.Items {
			ours[nodes.Items[i].Name] = IsNodewrightNode(&nodes.Items[i])
		}
		bound, pending := 0, 0
		for _, p := range pods {
			switch {
			case p.DeletionTimestamp != nil:
			case p.Spec.NodeName != "" && p.Spec.NodeName != exclude && ours[p.Spec.NodeName]:
				bound++
			case p.Spec.NodeName == "":
				pending++
			}
		}
		rows, err := w.op.Nodes(ctx, false)
		if err != nil {
			return false, err
		}
		phases := map[string]int{}
		for _, r := range rows {
			phases[r.Phase]++
		}
		var parts []string
		for _, ph := range sortedKeys(phases) {
			parts = append(parts, fmt.Sprintf("%d %s", phases[ph], ph))
		}
		w.progress(fmt.Sprintf("pods: %d pending, %d bound | node workflows: %s", pending, bound, orNone(strings.Join(parts, ", "))))
		return bound == n && pending == 0, nil
	})
}

// nodes describes every Nodewright node in the cluster, with its workflow's view of it.
func (w *watch) nodes(ctx context.Context) ([]NodeInfo, error) {
	nodes, err := w.lab.Kube.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	pods, err := PodsOf(ctx, w.lab)
	if err != nil {
		return nil, err
	}
	perNode := map[string]int{}
	for _, p := range pods {
		if p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
			perNode[p.Spec.NodeName]++
		}
	}
	var out []NodeInfo
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if !IsNodewrightNode(n) {
			continue
		}
		info, err := w.describe(ctx, n.Name)
		if err != nil {
			return nil, err
		}
		info.Pods = perNode[n.Name]
		out = append(out, info)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no node launched by Nodewright is in the cluster")
	}
	return out, nil
}

func (w *watch) describe(ctx context.Context, node string) (NodeInfo, error) {
	id, err := w.op.Resolve(ctx, node)
	if err != nil {
		return NodeInfo{}, err
	}
	st, err := w.op.Describe(ctx, id)
	if err != nil {
		return NodeInfo{}, err
	}
	return NodeInfo{
		Name: node, WorkflowID: id, InstanceID: st.InstanceID, InstanceType: st.InstanceType,
		Zone: st.Zone, CapacityType: st.CapacityType, PricePerHour: st.PricePerHour,
	}, nil
}

// drained waits until the node's instance is terminated, its Node deleted, its workflow
// completed, and all n pods run on other nodes.
func (w *watch) drained(ctx context.Context, node NodeInfo, n int) error {
	err := w.until(ctx, "instance "+node.InstanceID+" is terminated and Node "+node.Name+" deleted", func(ctx context.Context) (bool, error) {
		inst, ok := w.lab.EC2.Instance(node.InstanceID)
		if !ok {
			return false, fmt.Errorf("instance %s unknown to the EC2 simulator", node.InstanceID)
		}
		_, err := w.lab.Kube.Client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		gone := apierrors.IsNotFound(err)
		if err != nil && !gone {
			return false, err
		}
		w.progress(fmt.Sprintf("instance %s: %s | Node %s: %s", node.InstanceID, inst.State, node.Name, map[bool]string{true: "deleted", false: "present"}[gone]))
		return inst.State == "terminated" && gone, nil
	})
	if err != nil {
		return err
	}
	if err := w.until(ctx, "workflow "+node.WorkflowID+" is completed", func(ctx context.Context) (bool, error) {
		d, err := w.op.Client.DescribeWorkflowExecution(ctx, node.WorkflowID, "")
		if err != nil {
			return false, err
		}
		return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, nil
	}); err != nil {
		return err
	}
	return w.allBound(ctx, n, node.Name)
}

// nodesIncluding returns the current Nodewright nodes plus earlier ones that are gone.
func (w *watch) nodesIncluding(ctx context.Context, earlier []NodeInfo) ([]NodeInfo, error) {
	now, err := w.nodes(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, n := range now {
		seen[n.Name] = true
	}
	for _, n := range earlier {
		if !seen[n.Name] {
			n.Pods = 0
			now = append(now, n)
		}
	}
	return now, nil
}

func orNone(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}
