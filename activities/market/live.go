package market

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// Periods are how often each source is refreshed.
type Periods struct {
	InstanceTypes time.Duration // default 12 h, as Karpenter
	Offerings     time.Duration // default 12 h, and at once after a capacity error
	OnDemand      time.Duration // default 12 h
	Spot          time.Duration // default 10 min
	// Retry is how soon a failed refresh is tried again; default 1 min.
	Retry time.Duration
	// Timeout bounds one refresh of one source; default 1 min.
	Timeout time.Duration
}

func (p Periods) withDefaults() Periods {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.InstanceTypes, 12*time.Hour)
	def(&p.Offerings, 12*time.Hour)
	def(&p.OnDemand, 12*time.Hour)
	def(&p.Spot, 10*time.Minute)
	def(&p.Retry, time.Minute)
	def(&p.Timeout, time.Minute)
	return p
}

// Options configures a Live market.
type Options struct {
	Region  string
	Catalog []catalog.Type
	// EC2 answers instance types, offerings and spot prices.
	EC2 EC2API
	// Pricing answers on-demand prices; nil (an isolated VPC) uses the embedded ones.
	Pricing PricingAPI
	Periods Periods
	Log     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Live is the region's market as AWS reports it, refreshed in the background by Run, with
// the embedded catalog standing in for any source AWS has not answered.
type Live struct {
	o        Options
	embedded map[string]float64 // the region's embedded on-demand prices; nil if none
	kick     chan source        // sources to refresh at once

	mu       sync.Mutex
	types    map[string]bool
	zones    map[string][]string
	onDemand map[string]float64
	spot     map[offeringKey]float64
	status   Status
	snap     *Snapshot
	logged   map[source]string // the fallback reason logged per source, until AWS answers
}

type source int

const (
	srcInstanceTypes source = iota
	srcOfferings
	srcOnDemand
	srcSpot
)

func (s source) String() string {
	return [...]string{"instance types", "offerings", "on-demand prices", "spot prices"}[s]
}

// New builds a market that answers from the embedded catalog until Refresh or Run reads AWS.
// A region without embedded prices needs the Pricing API.
func New(o Options) (*Live, error) {
	if o.EC2 == nil {
		return nil, errors.New("market: no EC2 client")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Periods = o.Periods.withDefaults()
	embedded, err := catalog.OnDemandPrices(o.Catalog, o.Region)
	if err != nil && o.Pricing == nil {
		return nil, fmt.Errorf("market: %w; in an isolated VPC (--isolated-vpc) only those regions can be priced", err)
	}
	l := newLive(o, embedded)
	if o.Pricing == nil {
		l.status.OnDemand.Reason = "isolated VPC (--isolated-vpc): the Pricing API is not asked"
	}
	l.publish()
	return l, nil
}

// Embedded is the market the embedded catalog describes for a region, for a planner that
// asks AWS nothing.
func Embedded(types []catalog.Type, region string) (*Snapshot, error) {
	embedded, err := catalog.OnDemandPrices(types, region)
	if err != nil {
		return nil, err
	}
	l := newLive(Options{Region: region, Catalog: types, Now: time.Now}, embedded)
	l.publish()
	return l.snap, nil
}

func newLive(o Options, embedded map[string]float64) *Live {
	l := &Live{o: o, embedded: embedded, kick: make(chan source, 4), logged: map[source]string{}}
	reason := "AWS not asked yet"
	l.status = Status{
		InstanceTypes: SourceStatus{From: FromFallback, Reason: reason, Count: len(o.Catalog)},
		Offerings:     SourceStatus{From: FromFallback, Reason: reason},
		OnDemand:      SourceStatus{From: FromFallback, Reason: reason, Count: len(embedded)},
		Spot:          SourceStatus{From: FromFallback, Reason: reason},
	}
	return l
}

// Snapshot is the market now.
func (l *Live) Snapshot() *Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snap
}

// Status says where the market's figures come from now.
func (l *Live) Status() Status { return l.Snapshot().Status() }

// CapacityError asks for the offerings to be read again at once: a type that ran out of
// capacity, or that a zone refused, may have left the zone's offerings. It never blocks.
func (l *Live) CapacityError() {
	select {
	case l.kick <- srcOfferings:
	default:
	}
}

// Refresh reads every source from AWS once; a source that fails keeps what it had.
func (l *Live) Refresh(ctx context.Context) {
	for _, s := range []source{srcInstanceTypes, srcOfferings, srcOnDemand, srcSpot} {
		l.refresh(ctx, s)
	}
}

// Run refreshes each source on its period until ctx ends, and the offerings at once after a
// capacity error. A failed refresh is retried after Periods.Retry.
func (l *Live) Run(ctx context.Context) error {
	p := l.o.Periods
	every := map[source]time.Duration{srcInstanceTypes: p.InstanceTypes, srcOfferings: p.Offerings, srcOnDemand: p.OnDemand, srcSpot: p.Spot}
	due, read := map[source]time.Time{}, map[source]time.Time{}
	now := l.o.Now()
	for s, d := range every {
		due[s] = now.Add(d)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := now.Add(p.Retry)
		for _, at := range due {
			if at.Before(next) {
				next = at
			}
		}
		timer.Reset(max(0, next.Sub(l.o.Now())))
		select {
		case <-ctx.Done():
			return nil
		case s := <-l.kick:
			// A burst of capacity errors rereads once, then at most once per Retry.
			soonest := read[s].Add(p.Retry)
			if now := l.o.Now(); now.After(soonest) {
				soonest = now
			}
			due[s] = minTime(due[s], soonest)
		case <-timer.C:
		}
		now = l.o.Now()
		for s, at := range due {
			if at.After(now) {
				continue
			}
			read[s] = now
			if l.refresh(ctx, s) {
				due[s] = now.Add(every[s])
			} else {
				due[s] = now.Add(min(p.Retry, every[s]))
			}
		}
	}
}

// refresh reads one source and publishes a new snapshot; it reports whether AWS answered.
func (l *Live) refresh(ctx context.Context, s source) bool {
	ctx, cancel := context.WithTimeout(ctx, l.o.Periods.Timeout)
	defer cancel()
	var err error
	switch s {
	case srcInstanceTypes:
		var types map[string]bool
		if types, err = fetchInstanceTypes(ctx, l.o.EC2); err == nil {
			l.set(s, func() int { l.types = types; return len(types) })
		}
	case srcOfferings:
		var zones map[string][]string
		if zones, err = fetchOfferings(ctx, l.o.EC2); err == nil {
			l.set(s, func() int { l.zones = zones; return countZones(zones) })
		}
	case srcOnDemand:
		if l.o.Pricing == nil {
			l.publish()
			return true // isolated: the embedded prices are the answer
		}
		var prices map[string]float64
		if prices, err = fetchOnDemandPrices(ctx, l.o.Pricing, l.o.Region); err == nil {
			l.set(s, func() int { l.onDemand = prices; return len(prices) })
		}
	case srcSpot:
		var prices map[offeringKey]float64
		if prices, err = fetchSpotPrices(ctx, l.o.EC2, l.o.Now()); err == nil {
			l.set(s, func() int { l.spot = prices; return len(prices) })
		}
	}
	if err != nil {
		l.failed(s, err)
		return false
	}
	return true
}

// set stores a source's new figures and publishes them.
func (l *Live) set(s source, store func() int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	count := store()
	*l.statusOf(s) = SourceStatus{From: FromAWS, UpdatedAt: l.o.Now(), Count: count}
	if l.logged[s] != "" {
		l.o.Log.Info("AWS answers again; the embedded figures are no longer used", "source", s.String())
		l.logged[s] = ""
	}
	l.publishLocked()
}

// failed records why a source could not be read: a source that never answered stays on the
// fallback (logged once per reason), one that did keeps its last figures.
func (l *Live) failed(s source, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.statusOf(s)
	st.Reason = err.Error()
	if !st.Fallback() {
		l.o.Log.Warn("refresh failed; the last figures stay", "source", s.String(), "updatedAt", st.UpdatedAt, "error", err)
		l.publishLocked()
		return
	}
	if l.logged[s] == "" {
		l.o.Log.Warn("AWS did not answer; using the embedded figures until it does", "source", s.String(), "region", l.o.Region, "error", err)
		l.logged[s] = st.Reason
	}
	l.publishLocked()
}

func (l *Live) statusOf(s source) *SourceStatus {
	switch s {
	case srcInstanceTypes:
		return &l.status.InstanceTypes
	case srcOfferings:
		return &l.status.Offerings
	case srcOnDemand:
		return &l.status.OnDemand
	}
	return &l.status.Spot
}

func (l *Live) publish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.publishLocked()
}

// publishLocked makes the snapshot of the figures held now: embedded prices fill in for a
// type the Pricing API does not list, and spot prices are modelled from on-demand until EC2
// answers.
func (l *Live) publishLocked() {
	onDemand := maps.Clone(l.embedded)
	if onDemand == nil {
		onDemand = map[string]float64{}
	}
	maps.Copy(onDemand, l.onDemand)
	snap := &Snapshot{region: l.o.Region, types: l.types, zones: l.zones, onDemand: onDemand, spot: l.spot, status: l.status}
	if l.spot == nil {
		snap.spotModel = map[string]float64{}
		for _, t := range l.o.Catalog {
			if p, ok := onDemand[t.Name]; ok && t.SupportsSpot() {
				snap.spotModel[t.Name] = catalog.SpotPriceFrom(p, t.SpotSavingsPct)
			}
		}
	}
	if l.onDemand == nil {
		snap.status.OnDemand.Count = len(onDemand)
	}
	if l.spot == nil {
		snap.status.Spot.Count = len(snap.spotModel)
	}
	l.snap = snap
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func countZones(zones map[string][]string) int {
	n := 0
	for _, z := range zones {
		n += len(z)
	}
	return n
}
