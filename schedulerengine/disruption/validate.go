package disruption

import "fmt"

// Validate re-checks a command against a newer snapshot: every node is still a candidate
// for the same reason, budgets still allow it, and the move is still valid and no dearer.
func Validate(s Snapshot, c Command) error {
	d := newDecider(s)
	var nodes []*Node
	for _, name := range c.Nodes {
		n := d.byName[name]
		if n == nil {
			return fmt.Errorf("node %s is gone", name)
		}
		if why := d.ineligible(n, c.Reason); why.Why != "" {
			return fmt.Errorf("node %s: %s", name, why.Why)
		}
		nodes = append(nodes, n)
	}
	if !d.withinBudgets(nodes, c.Reason) {
		return fmt.Errorf("disruption budgets no longer allow %d nodes for %s", len(nodes), c.Reason)
	}
	if c.Reason == ReasonEmpty {
		for _, n := range nodes {
			if len(n.reschedulable()) > 0 {
				return fmt.Errorf("node %s is no longer empty", n.Name)
			}
		}
		if !d.waitingFitWithout(nodes) {
			return fmt.Errorf("pods waiting for a node need the room of the empty nodes")
		}
		return nil
	}
	move, ok := d.simulate(nodes, c.Reason == ReasonDrifted)
	if !ok {
		return fmt.Errorf("the nodes' pods no longer fit elsewhere")
	}
	if c.Reason == ReasonUnderutilized && move.savings+1e-9 < c.Savings {
		return fmt.Errorf("saving fell from $%.4f/h to $%.4f/h", c.Savings, move.savings)
	}
	return nil
}

// Recheck re-checks a command's nodes once its replacement is Ready, just before they are
// told to go (Karpenter's validation after pre-spin): each is still there, its NodePool
// too, nothing protects it (do-not-disrupt, a PodDisruptionBudget), and the budgets still
// allow them all. The snapshot must not count the disrupted taint the controller put on
// the nodes as their leaving. The move is not simulated again: the replacement is up for it.
func Recheck(s Snapshot, c Command) error {
	d := newDecider(s)
	var nodes []*Node
	for _, name := range c.Nodes {
		n := d.byName[name]
		switch {
		case n == nil:
			return fmt.Errorf("node %s is gone", name)
		case d.pools[n.NodePool] == nil:
			return fmt.Errorf("node %s: its NodePool %q no longer exists", name, n.NodePool)
		case n.Deleting:
			return fmt.Errorf("node %s is already being deleted", name)
		}
		if why := d.protected(n); why.Why != "" {
			return fmt.Errorf("node %s: %s", name, why.Why)
		}
		nodes = append(nodes, n)
	}
	if !d.withinBudgets(nodes, c.Reason) {
		return fmt.Errorf("disruption budgets no longer allow %d nodes for %s", len(nodes), c.Reason)
	}
	return nil
}
