package activities

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/disruption"
)

// maxQuiet is the longest a pass is answered from the last one with nothing changed: as
// Karpenter's consolidation looks again every five minutes when its cluster state has not
// changed. It also bounds what a watch that fell behind can hide.
const maxQuiet = 5 * time.Minute

// quietPasses remembers the last pass that found nothing to do and what it read, so that a
// pass that would read the same, before anything comes due with the clock, answers the same
// without listing every pod and Node of the cluster: at rest a pass costs a few comparisons
// instead of a list that grows with the cluster. Skipping a pass is always safe: it only
// leaves the nodes as they are.
//
// Two full passes in a row must read the same before the answer is kept. A pass reads Nodes
// from the API server and pods from the worker's caches while the change count comes from
// the worker's watches; either may be a moment behind the other, as may the pod arrivals
// consolidateAfter runs on. A second pass ten seconds later sees what the first may have
// missed.
type quietPasses struct {
	mu sync.Mutex
	// seen is what the last full pass read, when it found nothing to do and wrote all its
	// conditions; kept is true once the pass after it read the same.
	seen    *passInputs
	kept    bool
	until   time.Time
	skipped map[string]string
}

// passInputs is what a pass reads besides the clock and the cluster's objects, in a form
// cheap to compare: how many changes the worker's watches have seen, the NodePools (their
// specs and annotations) and their EC2NodeClasses, the market's version and the cluster's
// limits.
type passInputs struct {
	changes uint64
	pools   uint64
	market  uint64
	region  string
	limits  schedulerengine.ClusterLimits
}

func (a *passInputs) equal(b *passInputs) bool {
	return a.changes == b.changes && a.pools == b.pools && a.market == b.market && a.region == b.region &&
		equality.Semantic.DeepEqual(a.limits, b.limits)
}

// inputs reads the pass's inputs; nil when the worker has no watches to tell changes by.
// It is read before the cluster is listed, so that a change while it is listed is counted
// after it and makes the next pass a full one.
func (d *Disruption) inputs() (*passInputs, error) {
	if d.Changes == nil {
		return nil, nil
	}
	in := &passInputs{changes: d.Changes(), limits: d.Planner.clusterLimits()}
	var err error
	if in.market, in.region, err = d.Planner.marketVersion(); err != nil {
		return nil, err
	}
	if in.pools, err = d.poolsHash(); err != nil {
		return nil, err
	}
	return in, nil
}

// poolsHash sums up what a decision reads of the NodePools and their EC2NodeClasses: each
// pool's spec (its generation alone would miss a pool loaded from a file) and annotations
// (nodewright.io/max-hourly-cost), and its class's spec and resolved status (subnets and
// their zones, kubelet settings, images), which a class's status writes and a file class's
// late resolution change.
func (d *Disruption) poolsHash() (uint64, error) {
	h := fnv.New64a()
	enc := json.NewEncoder(h)
	for _, p := range d.Planner.Pools.NodePools() {
		if err := enc.Encode([]any{p.Name, p.UID, p.Annotations, p.Spec}); err != nil {
			return 0, fmt.Errorf("NodePool %s: %w", p.Name, err)
		}
		if d.Planner.Classes == nil {
			continue
		}
		if class, ok := d.Planner.Classes.NodeClass(p.Spec.Template.Spec.NodeClassRef.Name); ok {
			if err := enc.Encode([]any{class.Name, class.UID, class.Spec, class.Status}); err != nil {
				return 0, fmt.Errorf("EC2NodeClass %s: %w", class.Name, err)
			}
		}
	}
	return h.Sum64(), nil
}

// answer is the kept answer when in is what it was read from and nothing has come due since.
func (q *quietPasses) answer(in *passInputs, now time.Time) (DisruptionDecision, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if in == nil || !q.kept || !now.Before(q.until) || !q.seen.equal(in) {
		return DisruptionDecision{}, false
	}
	return DisruptionDecision{Skipped: q.skipped}, true
}

// remember notes a full pass. One that found nothing to do and wrote its conditions is kept
// once the pass before it read the same, until the first moment its snapshot says a decision
// could change with the clock alone, or maxQuiet; any other pass starts over.
func (q *quietPasses) remember(in *passInputs, snap disruption.Snapshot, out DisruptionDecision, reported bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	next, timed := disruption.NextChange(snap)
	if in == nil || out.Command != nil || !reported || !timed {
		q.seen, q.kept = nil, false
		return
	}
	q.kept = q.seen != nil && q.seen.equal(in)
	q.seen, q.skipped, q.until = in, out.Skipped, snap.Now.Add(maxQuiet)
	if !next.IsZero() && next.Before(q.until) {
		q.until = next
	}
}
