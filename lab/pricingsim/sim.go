package pricingsim

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nodewright/nodewright/lab/awsjson"
	"github.com/nodewright/nodewright/lab/marketsim"
	"github.com/nodewright/nodewright/lab/simid"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// Options configures a Sim.
type Options struct {
	// Types is the catalog (catalog.Load()): the records' attributes, and the prices of every
	// region without a market.
	Types []catalog.Type
	// Markets price their regions, as the EC2 simulator sells there; every other region of
	// catalog.Regions() is priced from the catalog. At most one market per region.
	Markets []*marketsim.Market
}

// Sim is a simulated Price List Query API serving every region it prices. It is safe for
// concurrent use.
type Sim struct {
	types          map[string]*typeRecord
	regions        []*region // sorted by code; fixed at New
	attributeNames []string  // fixed at New
	unreachable    atomic.Bool

	mu       sync.Mutex
	requests simid.Source
	calls    map[string]int
}

var _ http.Handler = (*Sim)(nil)

// New builds a Sim pricing the markets' regions from them and the catalog's other regions from
// the catalog.
func New(o Options) (*Sim, error) {
	if len(o.Types) == 0 {
		return nil, errors.New("pricing simulator: Options.Types is empty: pass the catalog, catalog.Load()")
	}
	s := &Sim{types: map[string]*typeRecord{}, calls: map[string]int{}}
	var records []typeRecord
	for _, t := range o.Types {
		r := typeRecord{name: t.Name, vcpu: t.VCPU, x86: slices.Contains(t.Architectures, "x86_64"), bareMetal: t.BareMetal, attributes: typeAttributes(t)}
		r.offers = offersOf(r)
		s.types[t.Name] = &r
		records = append(records, r)
	}
	s.attributeNames = attributeNames(records)
	sources, err := priceSources(o)
	if err != nil {
		return nil, err
	}
	for _, code := range slices.Sorted(maps.Keys(sources)) {
		location, prefix, ok := regionNames(code)
		if !ok {
			return nil, fmt.Errorf("pricing simulator: region %s has no location name; add it to regionNames", code)
		}
		s.regions = append(s.regions, &region{code: code, location: location, usagePrefix: prefix, prices: sources[code]})
	}
	return s, nil
}

// priceSources are the markets by region, and the catalog for every other embedded region.
func priceSources(o Options) (map[string]priceSource, error) {
	sources := map[string]priceSource{}
	for _, m := range o.Markets {
		if _, dup := sources[m.Region()]; dup {
			return nil, fmt.Errorf("pricing simulator: two markets of region %s in Options.Markets: give one per region", m.Region())
		}
		sources[m.Region()] = m
	}
	regions, err := catalog.Regions()
	if err != nil {
		return nil, err
	}
	for _, code := range regions {
		if _, ok := sources[code]; ok {
			continue
		}
		prices, err := newCatalogPrices(o.Types, code)
		if err != nil {
			return nil, fmt.Errorf("pricing simulator: %w", err)
		}
		sources[code] = prices
	}
	return sources, nil
}

// Regions are the regions priced, sorted.
func (s *Sim) Regions() []string {
	out := make([]string, len(s.regions))
	for i, r := range s.regions {
		out[i] = r.code
	}
	return out
}

// SetReachable(false) drops every request's connection without an answer, as a Pricing API
// the network cannot reach (an isolated VPC) leaves a client with no response; true answers
// again.
func (s *Sim) SetReachable(reachable bool) { s.unreachable.Store(!reachable) }

// Reachable reports whether requests are answered.
func (s *Sim) Reachable() bool { return !s.unreachable.Load() }

// Calls reports how many requests named the operation (GetProducts, ...), refused and dropped
// ones included.
func (s *Sim) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// service is the Price List API's endpoint. Requests are small: filters and a token.
func service() awsjson.Service {
	return awsjson.Service{
		Responder:       awsjson.Responder{ContentType: "application/x-amz-json-1.1", InternalError: `{"__type":"InternalErrorException"}`},
		Name:            "pricingsim",
		TargetPrefix:    "AWSPriceListService.",
		MaxRequestBytes: 1 << 20,
	}
}

// ServeHTTP answers one AWS JSON 1.1 request, or, when unreachable, drops its connection.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	svc := service()
	s.mu.Lock()
	requestID := s.requests.UUID()
	s.calls[strings.TrimPrefix(r.Header.Get("X-Amz-Target"), svc.TargetPrefix)]++
	s.mu.Unlock()
	if !s.Reachable() {
		// net/http closes the connection without a response on this panic and logs nothing.
		panic(http.ErrAbortHandler)
	}
	svc.Serve(w, r, requestID, s.operation)
}

// operation is the action named, nil for one pricingsim does not simulate.
func (s *Sim) operation(name string) awsjson.Operation {
	switch name {
	case "GetProducts":
		return awsjson.Call(s.getProducts)
	case "DescribeServices":
		return awsjson.Call(s.describeServices)
	}
	return nil
}
