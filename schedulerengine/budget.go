package schedulerengine

import (
	"fmt"
	"math"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// budget is a cap on capacity, node count and hourly cost, with what is charged to it so
// far in this Solve: a NodePool's (spec.limits and its nodewright.io/max-hourly-cost) or the
// cluster's (Input.ClusterLimits), which every pool's nodes are charged to as well.
type budget struct {
	owner    string              // who set it, for messages: `NodePool "p"` or "cluster"
	caps     vec                 // per dim, -1 when unlimited
	raw      corev1.ResourceList // as written, for messages
	maxNodes int64               // -1 when unlimited
	maxCost  int64               // micro-dollars per hour, -1 when unlimited

	used  vec
	nodes int64
	cost  int64 // micro-dollars per hour
	// unpriced names the first node charged whose price is unknown; while set, the cost cap
	// admits nothing, since what is charged may already pass it.
	unpriced string
}

// charge is what one node costs a budget: its capacity and its hourly price. Prices are
// kept in integer micro-dollars so that charging and refunding a claim many times over
// leaves no rounding behind.
type charge struct {
	capacity vec
	price    int64
}

// microDollars converts a price per hour for exact sums.
func microDollars(perHour float64) int64 { return int64(math.Round(perHour * 1e6)) }

func newBudget(d dims, owner string, limits corev1.ResourceList, maxCost *float64) *budget {
	b := &budget{owner: owner, caps: make(vec, len(d.names)), raw: limits, maxNodes: -1, maxCost: -1, used: make(vec, len(d.names))}
	for i := range b.caps {
		b.caps[i] = -1
	}
	for name, q := range limits {
		if name == resourceNodes {
			b.maxNodes = saturated(q, resource.NewQuantity(math.MaxInt64, resource.DecimalSI), q.Value)
			continue
		}
		b.caps[d.index[name]] = saturated(q, resource.NewMilliQuantity(math.MaxInt64, resource.DecimalSI), q.MilliValue)
	}
	if maxCost != nil {
		b.maxCost = math.MaxInt64 // a figure past int64 micro-dollars would wrap
		if *maxCost*1e6 < math.MaxInt64 {
			b.maxCost = microDollars(*maxCost)
		}
	}
	return b
}

// saturated is q in the units value reads it in, or math.MaxInt64 when q is above most: a
// limit too large for them (cpu "1e16", nodes "1e30") would otherwise wrap, to 0 or worse,
// and a limit meant as no limit would launch nothing.
func saturated(q resource.Quantity, most *resource.Quantity, value func() int64) int64 {
	if q.Cmp(*most) > 0 {
		return math.MaxInt64
	}
	return value()
}

// priced reports whether the budget caps cost, so that charges need a price.
func (b *budget) priced() bool { return b.maxCost >= 0 }

func (b *budget) add(ch charge) {
	b.used = b.used.plus(ch.capacity)
	b.nodes++
	b.cost += ch.price
}

func (b *budget) remove(ch charge) {
	b.used = b.used.minus(ch.capacity)
	b.nodes--
	b.cost -= ch.price
}

// priceUnknown records a node charged without a price.
func (b *budget) priceUnknown(what string) {
	if b.unpriced == "" {
		b.unpriced = what
	}
}

// limitHit is the cap a node would pass: a dim, hitNodes or hitCost.
type limitHit struct {
	budget *budget
	dim    int
	cost   int64 // the budget's cost with the node, for hitCost
}

const (
	hitNodes        = -1
	hitCost         = -2
	hitCostUnpriced = -3
)

// exceeded reports the first cap that charging ch, in place of was (nil for a node not yet
// charged), would pass.
func (b *budget) exceeded(was *charge, ch charge) (limitHit, bool) {
	nodes, cost := b.nodes+1, b.cost+ch.price
	if was != nil {
		nodes, cost = nodes-1, cost-was.price
	}
	if b.maxNodes >= 0 && nodes > b.maxNodes {
		return limitHit{budget: b, dim: hitNodes}, true
	}
	for i, c := range b.caps {
		if c < 0 {
			continue
		}
		used := b.used[i] + ch.capacity[i]
		if was != nil {
			used -= was.capacity[i]
		}
		if used > c {
			return limitHit{budget: b, dim: i}, true
		}
	}
	if b.maxCost >= 0 && b.unpriced != "" {
		return limitHit{budget: b, dim: hitCostUnpriced}, true
	}
	if b.maxCost >= 0 && cost > b.maxCost {
		return limitHit{budget: b, dim: hitCost, cost: cost}, true
	}
	return limitHit{}, false
}

// dollarsApart spells micro-dollars v with two decimals, or with as many more as it takes
// to tell it from other (at most six), so a cost of $10.004 over a limit of $10 reads
// "would be $10.004, limit $10.000", not "$10.00, limit $10.00".
func dollarsApart(v, other int64) string {
	for digits := 2; digits < 6; digits++ {
		if a, b := strconv.FormatFloat(float64(v)/1e6, 'f', digits, 64), strconv.FormatFloat(float64(other)/1e6, 'f', digits, 64); a != b {
			return a
		}
	}
	return strconv.FormatFloat(float64(v)/1e6, 'f', 6, 64)
}

// explain is the sentence a pending pod carries, such as "cluster hourly cost would be
// $12.40, limit $10.00" or `NodePool "default" limit cpu 100 reached`.
func (h limitHit) explain(d dims) string {
	b := h.budget
	switch h.dim {
	case hitCost:
		return fmt.Sprintf("%s hourly cost would be $%s, limit $%s", b.owner, dollarsApart(h.cost, b.maxCost), dollarsApart(b.maxCost, h.cost))
	case hitCostUnpriced:
		return fmt.Sprintf("%s hourly cost is unknown: no price for %s, so nothing is launched under the limit $%.2f", b.owner, b.unpriced, float64(b.maxCost)/1e6)
	case hitNodes:
		return fmt.Sprintf("%s limit %s %s reached", b.owner, resourceNodes, describeLimit(b.raw, resourceNodes))
	}
	name := d.names[h.dim]
	return fmt.Sprintf("%s limit %s %s reached", b.owner, name, describeLimit(b.raw, name))
}

func describeLimit(limits corev1.ResourceList, name corev1.ResourceName) string {
	q := limits[name]
	return q.String()
}
