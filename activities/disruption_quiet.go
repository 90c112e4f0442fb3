package activities

import (
	"context"
	"fmt"
	"strings"
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
type quietPasses struct {
	mu      sync.Mutex
	last    *passInputs
	until   time.Time
	skipped map[string]string
}

// passInputs is what a pass reads besides the clock, in a form cheap to compare: how many
// changes the worker's watches have seen, the NodePools' specs, the market's version and
// the cluster's limits.
type passInputs struct {
	changes uint64
	pools   string
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
func (d *Disruption) inputs(ctx context.Context) (*passInputs, error) {
	if d.Changes == nil {
		return nil, nil
	}
	in := &passInputs{changes: d.Changes(), limits: d.Planner.clusterLimits()}
	pools := d.Planner.Pools.NodePools()
	var b strings.Builder
	for _, p := range pools {
		fmt.Fprintf(&b, "%s/%s/%d;", p.Name, p.UID, p.Generation)
	}
	in.pools = b.String()
	_, snap, err := d.Planner.marketTypes(ctx, d.Planner.offeringZones(pools))
	if err != nil {
		return nil, err
	}
	in.market, in.region = snap.Version(), snap.Region()
	return in, nil
}

// answer is the last pass's answer when in is what it read and nothing has come due since.
func (q *quietPasses) answer(in *passInputs, now time.Time) (DisruptionDecision, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if in == nil || q.last == nil || !now.Before(q.until) || !q.last.equal(in) {
		return DisruptionDecision{}, false
	}
	return DisruptionDecision{Skipped: q.skipped}, true
}

// remember keeps a pass that found nothing to do, until the first moment its snapshot says
// a decision could change with the clock alone, or maxQuiet; a pass that acted, or whose
// snapshot cannot say, is not kept.
func (q *quietPasses) remember(in *passInputs, snap disruption.Snapshot, out DisruptionDecision) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.last = nil
	next, ok := disruption.NextChange(snap)
	if in == nil || out.Command != nil || !ok {
		return
	}
	q.last, q.skipped, q.until = in, out.Skipped, snap.Now.Add(maxQuiet)
	if !next.IsZero() && next.Before(q.until) {
		q.until = next
	}
}
