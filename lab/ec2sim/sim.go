package ec2sim

import (
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/nodewright/nodewright/lab/iampolicy"
	"github.com/nodewright/nodewright/lab/marketsim"
	"github.com/nodewright/nodewright/lab/simid"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// Options configures a Sim; the zero value of each field picks the default noted beside it.
type Options struct {
	Types []catalog.Type // instance types that exist; callers pass catalog.Load() output
	// Zones default to us-east-1a, us-east-1b, us-east-1c; with a Market they are ignored.
	Zones []string
	// Market, when set, is the region's market, and wins over Zones: the Sim's zones are the
	// market's, it sells the Types the market sells, launches a type only in the zones that
	// offer it, and prices launches and spot price history from the market (spot at the
	// launching moment of Clock). Whether a type is sold as spot at all stays the catalog's
	// say. nil, the default, sells every type in every zone at the catalog's prices, spot at
	// the catalog's modelled spot price.
	Market    *marketsim.Market
	BootDelay time.Duration // pending → running after this; 0 means running at once
	// ShutdownDelay is how long a terminated instance stays shutting-down, as on EC2, before it
	// is terminated; 0 means terminated at once.
	ShutdownDelay time.Duration
	Clock         func() time.Time // stamps LaunchTime; default time.Now
	// AfterFunc schedules boot and shutdown completion; default time.AfterFunc. Tests swap it to
	// finish them by hand instead of waiting on the wall clock. It must not run f before returning.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// Subnets and SecurityGroups make up the VPC; default one subnet per zone (subnet-<zone>)
	// and one security group, all tagged karpenter.sh/discovery=lab.
	Subnets        []Subnet
	SecurityGroups []SecurityGroup
	// Images is the AMI registry. Empty (the default) accepts any ImageId at launch, as the lab
	// does today; with images, CreateFleet refuses an ImageId not among them and an instance
	// type whose architecture differs from its image's. DefaultImages is a ready registry.
	Images []Image
	// Policy, when set, is the caller's IAM policy: every request is authorised against it as
	// EC2 would (authorize_requests.go lists how), and one it denies fails with UnauthorizedOperation
	// and changes nothing. nil, the default, authorises everything.
	Policy *iampolicy.Policy
	// InstanceProfileExists, when set, is IAM: a launch naming an instance profile it does not
	// know (by name or ARN) is refused, as EC2 refuses it. nil accepts any profile.
	InstanceProfileExists func(nameOrARN string) bool
}

// Sim is a simulated EC2 region serving the Query API. It is safe for concurrent use.
type Sim struct {
	types     map[string]catalog.Type // the types the region sells
	typeNames []string                // sorted, the DescribeInstanceTypes order
	zones     []string
	market    market            // fixed at New; safe for concurrent use
	zoneIDs   map[string]string // zone → its AZ id; fixed at New
	subnets   []Subnet          // fixed at New: read without the lock
	groups    []SecurityGroup   // fixed at New: read without the lock
	images    []Image           // fixed at New: read without the lock
	policy    *iampolicy.Policy // fixed at New; nil authorises everything
	// profileExists is IAM's answer on instance profiles; nil accepts any. Fixed at New.
	profileExists func(string) bool
	bootDelay     time.Duration
	shutdown      time.Duration
	clock         func() time.Time
	afterFunc     func(time.Duration, func()) func() bool

	mu        sync.Mutex
	closed    bool
	ids       idSource // resource ids, apart from request ids so reads do not shift them
	requests  idSource
	records   map[string]*record
	launched  []*record // launch order
	capacity  map[capacityKey]int
	faults    map[string][]*fault
	chaos     chaosState
	calls     map[string]int
	byToken   map[string]fleetReplay
	bootStops map[string]func() bool
	downStops map[string]func() bool // shutdowns in progress
	watchers  map[*watcher]struct{}
	spot      spotInterruptions
	templates templateStore
}

var _ http.Handler = (*Sim)(nil)

// New builds a Sim with no instances and unlimited capacity.
func New(o Options) *Sim {
	s := &Sim{
		types:         soldTypes(o.Types, o.Market),
		zones:         o.Zones,
		bootDelay:     o.BootDelay,
		shutdown:      o.ShutdownDelay,
		clock:         o.Clock,
		afterFunc:     o.AfterFunc,
		requests:      idSource{simid.From(1 << 40)},
		records:       map[string]*record{},
		capacity:      map[capacityKey]int{},
		faults:        map[string][]*fault{},
		calls:         map[string]int{},
		byToken:       map[string]fleetReplay{},
		bootStops:     map[string]func() bool{},
		downStops:     map[string]func() bool{},
		watchers:      map[*watcher]struct{}{},
		images:        cloneImages(o.Images),
		policy:        o.Policy,
		profileExists: o.InstanceProfileExists,
	}
	for name := range s.types {
		s.typeNames = append(s.typeNames, name)
	}
	slices.Sort(s.typeNames)
	if o.Market != nil {
		s.zones = o.Market.AllZones()
	}
	if len(s.zones) == 0 {
		s.zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	}
	for _, sn := range o.Subnets {
		sn.Tags = maps.Clone(sn.Tags)
		s.subnets = append(s.subnets, sn)
	}
	if len(s.subnets) == 0 {
		s.subnets = defaultSubnets(s.zones)
	}
	for _, g := range o.SecurityGroups {
		g.Tags = maps.Clone(g.Tags)
		s.groups = append(s.groups, g)
	}
	if len(s.groups) == 0 {
		s.groups = defaultSecurityGroups()
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if o.Market != nil {
		s.market = o.Market
	} else {
		s.market = catalogMarket{types: s.types, zones: slices.Sorted(slices.Values(s.zones)), start: s.clock()}
	}
	s.zoneIDs = zoneIDs(s.zones, s.subnets)
	if s.afterFunc == nil {
		s.afterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	return s
}

// Close stops pending boots, shutdowns and spot reclaims and ends every Watch channel. The API
// keeps answering afterwards, but instances launched after Close stay pending, and those
// shutting down stay so.
func (s *Sim) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, stops := range []map[string]func() bool{s.bootStops, s.downStops} {
		for id, stop := range stops {
			stop()
			delete(stops, id)
		}
	}
	s.spot.stopAll()
	for w := range s.watchers {
		w.cancel()
		delete(s.watchers, w)
	}
}

// Instances returns every instance ever launched, terminated ones included, in launch order.
func (s *Sim) Instances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Instance, 0, len(s.launched))
	for _, r := range s.launched {
		out = append(out, r.snapshot())
	}
	return out
}

// Instance returns one instance by id.
func (s *Sim) Instance(id string) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return Instance{}, false
	}
	return r.snapshot(), true
}

// Calls reports how many requests named action arrived, failed ones included.
func (s *Sim) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// ServeHTTP answers one EC2 Query request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	requestID := s.requests.requestID()
	s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		writeError(w, invalidParameterValue("malformed query: %v", err), requestID)
		return
	}
	p := params(r.Form)
	body, apiErr := s.dispatch(p, requestID, callerOf(r, s.region()))
	if apiErr != nil {
		writeError(w, apiErr, requestID)
		return
	}
	if s.drawDrop(p.str("Action")) {
		dropResponse()
	}
	writeXML(w, http.StatusOK, body)
}

func (s *Sim) dispatch(p params, requestID string, c caller) (any, *apiError) {
	action := p.str("Action")
	if action == "" {
		return nil, newAPIError(CodeMissingAction, "The request must contain the parameter Action")
	}
	s.mu.Lock()
	s.calls[action]++
	injected := s.takeFault(action)
	if injected == nil {
		injected = s.drawThrottle(action)
	}
	s.mu.Unlock()
	if injected != nil {
		return nil, injected
	}
	switch action {
	case "DescribeInstances", "DescribeInstanceTypes", "DescribeInstanceTypeOfferings", "DescribeSpotPriceHistory", "DescribeSubnets",
		"DescribeSecurityGroups", "DescribeLaunchTemplates", "DescribeImages":
		if err := s.authorize(c, describeAccess(action)); err != nil {
			return nil, err
		}
	}
	switch action {
	case "CreateFleet":
		return s.createFleet(p, requestID, c)
	case "DescribeInstances":
		return s.describeInstances(p, requestID)
	case "TerminateInstances":
		return s.terminateInstances(p, requestID, c)
	case "DescribeInstanceTypes":
		return s.describeInstanceTypes(p, requestID)
	case "DescribeInstanceTypeOfferings":
		return s.describeInstanceTypeOfferings(p, requestID)
	case "DescribeSpotPriceHistory":
		return s.describeSpotPriceHistory(p, requestID)
	case "DescribeSubnets":
		return s.describeSubnets(p, requestID)
	case "DescribeSecurityGroups":
		return s.describeSecurityGroups(p, requestID)
	case "CreateLaunchTemplate":
		return s.createLaunchTemplate(p, requestID, c)
	case "DescribeLaunchTemplates":
		return s.describeLaunchTemplates(p, requestID)
	case "DeleteLaunchTemplate":
		return s.deleteLaunchTemplate(p, requestID, c)
	case "DescribeImages":
		return s.describeImages(p, requestID)
	}
	return nil, newAPIError(CodeInvalidAction, "The action %s is not valid for this web service.", action)
}
