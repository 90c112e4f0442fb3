package market

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

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

// of is the source's period.
func (p Periods) of(s source) time.Duration {
	switch s {
	case srcInstanceTypes:
		return p.InstanceTypes
	case srcOfferings:
		return p.Offerings
	case srcOnDemand:
		return p.OnDemand
	}
	return p.Spot
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
	// Pricing answers on-demand prices; nil uses the embedded ones, for NoPricing's reason.
	Pricing PricingAPI
	// NoPricing says why Pricing is nil; default an isolated VPC.
	NoPricing string
	Periods   Periods
	Log       *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Live is the region's market as AWS reports it, refreshed in the background by Run, with
// the embedded catalog standing in for any source AWS has not answered.
type Live struct {
	o        Options
	embedded map[string]float64 // the region's embedded on-demand prices; nil if none
	kick     chan struct{}      // capacity errors: read the offerings again soon

	mu       sync.Mutex
	types    map[string]bool
	derived  map[string]catalog.Type // the records derived from EC2 of the types it lists
	zones    map[string][]string
	onDemand map[string]float64
	spot     map[offeringKey]float64
	status   Status
	snap     *Snapshot
	logged   map[source]string // the fallback reason logged per source, until AWS answers
	failures map[source]int    // reads failed in a row per source
	readAt   map[source]time.Time
	version  uint64 // counts changes of figures, not of status
}

type source int

const (
	srcInstanceTypes source = iota
	srcOfferings
	srcOnDemand
	srcSpot
)

var allSources = []source{srcInstanceTypes, srcOfferings, srcOnDemand, srcSpot}

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
	embedded, approximate := embeddedPrices(o.Catalog, o.Region)
	l := newLive(o, embedded)
	if o.Pricing == nil {
		reason := cmp.Or(o.NoPricing, "isolated VPC (--isolated-vpc): the Pricing API is not asked")
		l.status.OnDemand.Reason = strings.TrimSuffix(reason+"; "+approximate, "; ")
		l.o.Log.Warn("on-demand prices are the embedded ones", "region", o.Region, "reason", l.status.OnDemand.Reason)
		l.logged[srcOnDemand] = l.status.OnDemand.Reason
	} else if approximate != "" {
		l.status.OnDemand.Reason += "; " + approximate
	}
	l.publish()
	return l, nil
}

// embeddedPrices are the region's embedded on-demand prices or, for a region without any,
// us-east-1's as an approximation (as Karpenter falls back on them), saying so.
func embeddedPrices(types []catalog.Type, region string) (prices map[string]float64, approximate string) {
	prices, err := catalog.OnDemandPrices(types, region)
	if err == nil {
		return prices, ""
	}
	prices, _ = catalog.OnDemandPrices(types, catalog.DefaultRegion)
	return prices, fmt.Sprintf("no embedded prices for %s: us-east-1's stand in as an approximation until the Pricing API answers", region)
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
	l := &Live{o: o, embedded: embedded, kick: make(chan struct{}, 1), logged: map[source]string{}, failures: map[source]int{}, readAt: map[source]time.Time{}}
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
	case l.kick <- struct{}{}:
	default:
	}
}

// Refresh reads every source from AWS once, the four at the same time; a source that fails
// keeps what it had.
func (l *Live) Refresh(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range allSources {
		wg.Go(func() { l.refresh(ctx, s) })
	}
	wg.Wait()
}

// Run keeps each source fresh until ctx ends, each on its own: read again every period, and
// the offerings at once after a capacity error (at most once per Periods.Retry). A source
// whose last read failed, at start too, is read again after Periods.Retry, doubling while it
// keeps failing, up to its period.
func (l *Live) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, s := range allSources {
		wg.Go(func() { l.keepFresh(ctx, s) })
	}
	wg.Wait()
	return nil
}

func (l *Live) keepFresh(ctx context.Context, s source) {
	p := l.o.Periods
	every := p.of(s)
	var kick <-chan struct{}
	if s == srcOfferings {
		kick = l.kick
	}
	last := l.lastRead(s)
	due := time.Now() // never read: at once
	if !last.IsZero() {
		due = last.Add(l.nextWait(s, every))
	}
	timer := time.NewTimer(time.Until(due))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
			// A burst of capacity errors rereads once, then at most once per Retry.
			if soonest := last.Add(p.Retry); soonest.Before(due) {
				due = soonest
				timer.Reset(max(0, time.Until(due)))
			}
			continue
		case <-timer.C:
		}
		l.refresh(ctx, s)
		last = l.lastRead(s)
		due = last.Add(l.nextWait(s, every))
		timer.Reset(max(0, time.Until(due)))
	}
}

// lastRead is when the source was last read, successfully or not; zero before the first read.
func (l *Live) lastRead(s source) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.readAt[s]
}

// nextWait is how long a source waits for its next read: its period after a read that
// worked, Retry doubled per failure in a row (up to the period) after one that did not.
func (l *Live) nextWait(s source, every time.Duration) time.Duration {
	l.mu.Lock()
	failures := l.failures[s]
	l.mu.Unlock()
	if failures == 0 {
		return every
	}
	return min(every, l.o.Periods.Retry<<min(failures-1, 16))
}

// refresh reads one source and publishes a new snapshot.
func (l *Live) refresh(ctx context.Context, s source) {
	ctx, cancel := context.WithTimeout(ctx, l.o.Periods.Timeout)
	defer cancel()
	defer func() {
		l.mu.Lock()
		l.readAt[s] = time.Now()
		l.mu.Unlock()
	}()
	var err error
	switch s {
	case srcInstanceTypes:
		var infos map[string]ec2types.InstanceTypeInfo
		if infos, err = fetchInstanceTypes(ctx, l.o.EC2); err == nil {
			types, derived := listedTypes(infos)
			l.set(s, func() int { l.types, l.derived = types, derived; return len(types) })
		}
	case srcOfferings:
		var zones map[string][]string
		if zones, err = fetchOfferings(ctx, l.o.EC2); err == nil {
			l.set(s, func() int { l.zones = zones; return countZones(zones) })
		}
	case srcOnDemand:
		if l.o.Pricing == nil {
			l.publish()
			return // isolated: the embedded prices are the answer
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
	}
}

// set stores a source's new figures and publishes them.
func (l *Live) set(s source, store func() int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	count := store()
	l.failures[s] = 0
	l.version++
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
	l.failures[s]++
	if !st.Fallback() {
		// Once per outage: a fault that lasts an hour must not fill the log.
		if l.failures[s] == 1 {
			l.o.Log.Warn("refresh failed; the last figures stay until AWS answers", "source", s.String(), "updatedAt", st.UpdatedAt, "error", err)
		}
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
	snap := &Snapshot{region: l.o.Region, types: l.types, derived: l.derived, zones: l.zones, onDemand: onDemand, spot: l.spot, status: l.status, version: l.version}
	if l.spot != nil {
		snap.spot = plausibleSpot(l.spot, onDemand)
	} else {
		snap.spotModel = catalog.ModelledSpotPrices(l.o.Catalog, onDemand)
	}
	if l.onDemand == nil {
		snap.status.OnDemand.Count = len(onDemand)
	}
	if l.spot == nil {
		snap.status.Spot.Count = len(snap.spotModel)
	}
	l.snap = snap
}

// minSpotShare is the least share of on-demand a spot price can plausibly be: Spot Advisor's
// deepest savings are about 90%. A lower figure is a bad record, not a bargain, and would make
// its type look free to every plan.
const minSpotShare = 0.01

// plausibleSpot leaves out spot prices below minSpotShare of the type's on-demand price.
func plausibleSpot(spot map[offeringKey]float64, onDemand map[string]float64) map[offeringKey]float64 {
	out := make(map[offeringKey]float64, len(spot))
	for k, p := range spot {
		if od, ok := onDemand[k.typ]; ok && p < od*minSpotShare {
			continue
		}
		out[k] = p
	}
	return out
}

// listedTypes are the names of the types EC2 lists and the records derived from what it says
// of each; a type that cannot be a node (no vCPUs or memory) is listed but has no record.
func listedTypes(infos map[string]ec2types.InstanceTypeInfo) (map[string]bool, map[string]catalog.Type) {
	names := make(map[string]bool, len(infos))
	derived := make(map[string]catalog.Type, len(infos))
	for name, info := range infos {
		names[name] = true
		if t, ok := typeFromEC2(info); ok {
			derived[name] = t
		}
	}
	return names, derived
}

func countZones(zones map[string][]string) int {
	n := 0
	for _, z := range zones {
		n += len(z)
	}
	return n
}
