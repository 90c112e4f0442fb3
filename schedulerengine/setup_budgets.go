package schedulerengine

import (
	"fmt"
	"math"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// newClusterBudget is the budget every pool's nodes are charged to as well as their own;
// nil when the limits cap nothing.
func newClusterBudget(d dims, l ClusterLimits) (*budget, error) {
	if l.IsZero() {
		return nil, nil
	}
	for name, q := range l.Resources {
		if q.Sign() < 0 {
			return nil, fmt.Errorf("cluster limits: %s %s is negative; leave it out for no limit", name, q.String())
		}
	}
	if c := l.MaxHourlyCost; c != nil && (*c < 0 || math.IsNaN(*c) || math.IsInf(*c, 0)) {
		return nil, fmt.Errorf("cluster limits: maxHourlyCost %v is not a non-negative dollar figure", *c)
	}
	return newBudget(d, "cluster", l.Resources, l.MaxHourlyCost), nil
}

// addCommitted charges each pool the capacity it holds outside the existing nodes.
func (s *solver) addCommitted(committed []CommittedCapacity, cluster *budget) {
	byName := s.poolsByName()
	for _, c := range committed {
		s.chargeRunning(cluster, byName[c.NodePool], c.NodePool != "", chargedNode{pool: c.NodePool, capacity: s.world.dims.vec(c.Capacity), price: c.PricePerHour, labels: c.Labels})
	}
}

// chargedNode is a node that exists or is on its way, as its budgets are charged: labels
// price a node whose price is not given; a claim in flight has none.
type chargedNode struct {
	name     string // "" for capacity committed
	pool     string
	capacity vec
	price    float64
	labels   map[string]string
}

// String names the node for a message.
func (n chargedNode) String() string {
	switch {
	case n.name != "":
		return fmt.Sprintf("node %q (instance type %q)", n.name, n.labels[v1.LabelInstanceType])
	case n.labels != nil:
		return fmt.Sprintf("a registering node of NodePool %q (instance type %q)", n.pool, n.labels[v1.LabelInstanceType])
	}
	return fmt.Sprintf("a claim in flight of NodePool %q", n.pool)
}

// chargeRunning charges a node that exists or is on its way to its pool's budget (when the
// pool is in the input) and, when it belongs to any pool, to the cluster's (nil when
// Input.ClusterLimits caps nothing; after setup it is reached through each pool's budgets).
// A node whose price cannot be told leaves the cost limits it is charged to unable to admit
// anything: a price of 0 would let them pass unseen.
func (s *solver) chargeRunning(cluster *budget, pool *poolState, inSomePool bool, n chargedNode) {
	var own *budget
	if pool != nil {
		own = pool.own
	}
	if own == nil && (cluster == nil || !inSomePool) {
		return
	}
	ch := charge{capacity: n.capacity}
	priced := true
	if (own != nil && own.priced()) || (cluster != nil && cluster.priced()) {
		var price float64
		price, priced = s.priceOfRunning(pool, n)
		ch.price = microDollars(price)
	}
	for _, b := range []*budget{own, cluster} {
		if b == nil || (b == cluster && !inSomePool) {
			continue
		}
		b.add(ch)
		if !priced {
			b.priceUnknown(n.String())
		}
	}
}

// priceOfRunning is what a running node or a claim in flight costs: its price when given, a
// node's from its labels, a claim's the dearest offering of its pool's types.
func (s *solver) priceOfRunning(pool *poolState, n chargedNode) (float64, bool) {
	switch {
	case n.price > 0:
		return n.price, true
	case n.labels != nil:
		return s.world.priceOfNode(n.labels)
	case pool != nil:
		return s.world.dearestOf(pool.types)
	}
	return 0, false
}
