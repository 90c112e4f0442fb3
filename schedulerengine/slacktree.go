package schedulerengine

import "math"

// slackTree finds, among claims in opening order, the first whose slack (some room less its
// requests) holds a pod's cpu, memory and pod slot. Each node keeps the per-resource maximum
// of its subtree, so a search skips every subtree short of the pod in some resource and
// first-fit stays fast with thousands of claims.
type slackTree struct {
	size int     // leaves, a power of two
	max  []slack // node i's children are 2i and 2i+1; leaves start at size
}

// slack is cpu, memory and pod-slot room, in milli-units.
type slack [3]int64

// noSlack holds nothing: an empty leaf.
func noSlack() slack { return slack{math.MinInt64, math.MinInt64, math.MinInt64} }

func slackOf(room, requests vec) slack {
	return slack{room[dimCPU] - requests[dimCPU], room[dimMemory] - requests[dimMemory], room[dimPods] - requests[dimPods]}
}

func needOf(requests vec) slack {
	return slack{requests[dimCPU], requests[dimMemory], requests[dimPods]}
}

func (s slack) holds(need slack) bool {
	return s[0] >= need[0] && s[1] >= need[1] && s[2] >= need[2]
}

// set records leaf i's slack, growing the tree as claims are added.
func (t *slackTree) set(i int, v slack) {
	if i >= t.size {
		t.grow(i + 1)
	}
	n := t.size + i
	t.max[n] = v
	for n > 1 {
		n /= 2
		l, r := t.max[2*n], t.max[2*n+1]
		t.max[n] = slack{max(l[0], r[0]), max(l[1], r[1]), max(l[2], r[2])}
	}
}

func (t *slackTree) grow(leaves int) {
	size := max(t.size, 64)
	for size < leaves {
		size *= 2
	}
	old := t.max
	oldSize := t.size
	t.size = size
	t.max = make([]slack, 2*size)
	for i := range t.max {
		t.max[i] = noSlack()
	}
	for i := range oldSize {
		t.max[size+i] = old[oldSize+i]
	}
	for n := size - 1; n >= 1; n-- {
		l, r := t.max[2*n], t.max[2*n+1]
		t.max[n] = slack{max(l[0], r[0]), max(l[1], r[1]), max(l[2], r[2])}
	}
}

// each calls visit for every leaf whose slack holds need, in index order, until visit
// returns true; it reports whether one did. One walk serves all candidates, so a pod that
// many claims turn away costs a visit each, not a search from the root each.
func (t *slackTree) each(need slack, visit func(i int) bool) bool {
	if t.size == 0 {
		return false
	}
	return t.walk(1, 0, t.size, need, visit)
}

func (t *slackTree) walk(node, lo, hi int, need slack, visit func(i int) bool) bool {
	if !t.max[node].holds(need) {
		return false
	}
	if hi-lo == 1 {
		return visit(lo)
	}
	mid := (lo + hi) / 2
	return t.walk(2*node, lo, mid, need, visit) || t.walk(2*node+1, mid, hi, need, visit)
}
