package activities

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// NodesGoneRequest names the Nodes of a decision just carried out and how long to wait for
// them to leave.
type NodesGoneRequest struct {
	Nodes  []string      `json:"nodes"`
	Within time.Duration `json:"within"`
	// Enough, when above zero, ends the wait once that many of the Nodes are gone: with the
	// room their decision left, the budget they free is then worth another decision.
	Enough int `json:"enough,omitempty"`
}

// nodesGonePoll is how often WaitNodesGone looks: it reads the worker's cache, so a look is
// cheap, and a budget freed a quarter of a second late costs nothing.
const nodesGonePoll = 250 * time.Millisecond

// WaitNodesGone waits until none of the named Nodes is left (or Enough of them are gone), or
// Within has passed, and returns how many are still there. The disruption controller calls
// it after carrying a decision out: the nodes count against their pools' budgets until they
// are gone, and a pass made while they drain would take what is left of a budget (a few
// nodes) and spend a whole validation on them, where a pass a few seconds later takes more.
func (d *Disruption) WaitNodesGone(ctx context.Context, req NodesGoneRequest) (int, error) {
	deadline := time.Now().Add(req.Within)
	names := make(map[string]bool, len(req.Nodes))
	for _, n := range req.Nodes {
		names[n] = true
	}
	for {
		left, err := d.nodesLeft(ctx, names)
		if err != nil {
			return 0, fmt.Errorf("wait for nodes to go: %w", err)
		}
		if left == 0 || req.Enough > 0 && len(names)-left >= req.Enough || !time.Now().Before(deadline) {
			return left, nil
		}
		select {
		case <-ctx.Done():
			return left, ctx.Err()
		case <-time.After(min(nodesGonePoll, time.Until(deadline))):
		}
	}
}

// nodesLeft counts the named Nodes the cluster still has. With the worker's cache it looks
// each up by name: listing copies every Node, thousands four times a second during a
// scale-in, to count the few a decision removes.
func (d *Disruption) nodesLeft(ctx context.Context, names map[string]bool) (int, error) {
	left := 0
	if c, ok := d.Planner.cluster().(*ClusterCache); ok {
		if !c.nodes.Synced() {
			return 0, errors.New("the cache of Nodes has not synced yet")
		}
		for name := range names {
			if _, ok := c.nodes.Get(name); ok {
				left++
			}
		}
		return left, nil
	}
	nodes, err := d.Planner.cluster().Nodes(ctx)
	if err != nil {
		return 0, err
	}
	for i := range nodes {
		if names[nodes[i].Name] {
			left++
		}
	}
	return left, nil
}
