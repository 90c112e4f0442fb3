package packing

import "math"

// The first three slots of every amount list.
const (
	CPU = iota
	Memory
	Pods
)

// Slack is cpu, memory and pod-slot room, in milli-units.
type Slack [3]int64

// NoSlack holds nothing: an empty leaf.
func NoSlack() Slack { return Slack{math.MinInt64, math.MinInt64, math.MinInt64} }

// SlackOf is the room left under room once requests are taken from it.
func SlackOf(room, requests []int64) Slack {
	return Slack{room[CPU] - requests[CPU], room[Memory] - requests[Memory], room[Pods] - requests[Pods]}
}

// NeedOf is the slack an item with these requests needs.
func NeedOf(requests []int64) Slack {
	return Slack{requests[CPU], requests[Memory], requests[Pods]}
}

// Holds reports whether the slack has room for need in all three resources.
func (s Slack) Holds(need Slack) bool {
	return s[0] >= need[0] && s[1] >= need[1] && s[2] >= need[2]
}

// SlackTree finds, among bins in opening order, the first whose slack holds an item's cpu,
// memory and pod slot. Each node keeps the per-resource maximum of its subtree, so a search
// skips every subtree short of the item in some resource and first-fit stays fast with
// thousands of bins. The zero value is an empty tree.
type SlackTree struct {
	size int     // leaves, a power of two
	max  []Slack // node i's children are 2i and 2i+1; leaves start at size
}

// Set records leaf i's slack, growing the tree as bins are added.
func (t *SlackTree) Set(i int, v Slack) {
	if i >= t.size {
		t.grow(i + 1)
	}
	n := t.size + i
	t.max[n] = v
	for n > 1 {
		n /= 2
		l, r := t.max[2*n], t.max[2*n+1]
		t.max[n] = Slack{max(l[0], r[0]), max(l[1], r[1]), max(l[2], r[2])}
	}
}

func (t *SlackTree) grow(leaves int) {
	size := max(t.size, 64)
	for size < leaves {
		size *= 2
	}
	old := t.max
	oldSize := t.size
	t.size = size
	t.max = make([]Slack, 2*size)
	for i := range t.max {
		t.max[i] = NoSlack()
	}
	for i := range oldSize {
		t.max[size+i] = old[oldSize+i]
	}
	for n := size - 1; n >= 1; n-- {
		l, r := t.max[2*n], t.max[2*n+1]
		t.max[n] = Slack{max(l[0], r[0]), max(l[1], r[1]), max(l[2], r[2])}
	}
}

// Each calls visit for every leaf whose slack holds need, in index order, until visit
// returns true; it reports whether one did. One walk serves all candidates, so an item that
// many bins turn away costs a visit each, not a search from the root each.
func (t *SlackTree) Each(need Slack, visit func(i int) bool) bool {
	if t.size == 0 {
		return false
	}
	return t.walk(1, 0, t.size, need, visit)
}

func (t *SlackTree) walk(node, lo, hi int, need Slack, visit func(i int) bool) bool {
	if !t.max[node].Holds(need) {
		return false
	}
	if hi-lo == 1 {
		return visit(lo)
	}
	mid := (lo + hi) / 2
	return t.walk(2*node, lo, mid, need, visit) || t.walk(2*node+1, mid, hi, need, visit)
}
