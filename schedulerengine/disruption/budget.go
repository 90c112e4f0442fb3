package disruption

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// Reasons a voluntary disruption is made for, as NodePool budgets name them.
const (
	ReasonEmpty         = "Empty"
	ReasonDrifted       = "Drifted"
	ReasonUnderutilized = "Underutilized"
)

// Allowed is how many more of the pool's nodes may be disrupted for reason now: the minimum
// over the pool's active budgets that apply to the reason, less the nodes already
// disrupting or NotReady. A budget whose schedule cannot be read allows nothing (fail closed).
func Allowed(pool *v1.NodePool, reason string, total, disrupting int, now time.Time) int {
	budgets := pool.Spec.Disruption.Budgets
	if len(budgets) == 0 {
		budgets = []v1.Budget{{Nodes: v1.DefaultBudgetNodes}}
	}
	allowed := math.MaxInt
	for _, b := range budgets {
		if len(b.Reasons) > 0 && !slices.Contains(b.Reasons, v1.DisruptionReason(reason)) {
			continue
		}
		active, err := budgetActive(b, now)
		if err != nil {
			return 0
		}
		if !active {
			continue
		}
		allowed = min(allowed, budgetNodes(b.Nodes, total))
	}
	if allowed == math.MaxInt {
		return math.MaxInt
	}
	return max(allowed-disrupting, 0)
}

// budgetNodes reads "5" or "10%"; a percentage of the pool's nodes rounds up, as Karpenter's.
func budgetNodes(spec string, total int) int {
	if p, ok := strings.CutSuffix(spec, "%"); ok {
		pct, err := strconv.Atoi(p)
		if err != nil {
			return 0
		}
		return int(math.Ceil(float64(total) * float64(pct) / 100))
	}
	n, err := strconv.Atoi(spec)
	if err != nil {
		return 0
	}
	return n
}

// budgetActive: a budget without a schedule always applies; with one, it applies for
// duration after each time the schedule fires (UTC).
func budgetActive(b v1.Budget, now time.Time) (bool, error) {
	if b.Schedule == nil {
		return true, nil
	}
	if b.Duration == nil {
		return false, fmt.Errorf("budget schedule %q has no duration", *b.Schedule)
	}
	sched, err := v1.ParseSchedule(*b.Schedule)
	if err != nil {
		return false, fmt.Errorf("budget schedule %q: %w", *b.Schedule, err)
	}
	now = now.UTC()
	// The schedule fired within the last duration iff its next firing after (now - duration)
	// is not after now.
	next := sched.Next(now.Add(-b.Duration.Duration))
	return !next.After(now), nil
}

// RoomAfter is how many more nodes the budgets of the command's pools allow for its reason
// once its nodes are going: the least over those pools, as the snapshot stands, and at most
// the snapshot's node count. The disruption controller reads it to decide how long to wait
// before its next pass: while a command's nodes drain they hold their budget, and a pass
// that sees little room left takes a few nodes and spends a whole validation on them.
func RoomAfter(s Snapshot, c Command) int {
	d := newDecider(s)
	used := map[string]int{}
	for _, name := range c.Nodes {
		if n := d.byName[name]; n != nil {
			used[n.NodePool]++
		}
	}
	room := math.MaxInt
	for pool, n := range used {
		if d.pools[pool] == nil {
			return 0 // its pool is gone: nothing more goes from it
		}
		room = min(room, max(d.allowed(pool, c.Reason)-n, 0))
	}
	if room == math.MaxInt {
		return 0 // no node of the command is known: assume no room, and wait as before
	}
	return min(room, len(s.Nodes)) // a pool without a budget for the reason has no bound
}
