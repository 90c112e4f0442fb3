package market

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

var fixtureZones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

func loadCatalog(t *testing.T) []catalog.Type {
	t.Helper()
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	return types
}

func newLiveOnFixtures(t *testing.T, isolated bool) (*Live, *fixtureAWS, *bytes.Buffer) {
	t.Helper()
	f := newFixtureAWS(t)
	ec2c, pc := f.clients()
	var logs bytes.Buffer
	o := Options{Region: "us-east-1", Catalog: loadCatalog(t), EC2: ec2c, Pricing: pc,
		Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return time.Date(2021, 2, 9, 2, 0, 0, 0, time.UTC) }}
	if isolated {
		o.Pricing = nil
	}
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return l, f, &logs
}

func TestRefreshPricesFromWhatAWSAnswers(t *testing.T) {
	l, _, _ := newLiveOnFixtures(t, false)
	l.Refresh(context.Background())
	snap := l.Snapshot()
	for name, st := range map[string]SourceStatus{"types": snap.Status().InstanceTypes, "offerings": snap.Status().Offerings,
		"on-demand": snap.Status().OnDemand, "spot": snap.Status().Spot} {
		if st.Fallback() || st.Count == 0 || st.UpdatedAt.IsZero() {
			t.Errorf("%s status = %+v, want AWS's figures", name, st)
		}
	}
	m := snap.Within(fixtureZones)
	if !snap.Sells("m5.large") || snap.Sells("r5.large") {
		t.Error("the types sold must be those EC2 lists: m5.large yes, r5.large no")
	}
	if zones := m.Zones("m5.large"); !slices.Equal(zones, fixtureZones) {
		t.Errorf("m5.large zones = %v, want the zones asked that offer it %v", zones, fixtureZones)
	}
	if p, ok := m.OnDemandPrice("m5.large"); !ok || p != 0.096 {
		t.Errorf("m5.large on-demand = %v, %v; want the Pricing API's 0.096", p, ok)
	}
	if p, ok := m.SpotPrice("m5.large", "us-east-1a"); !ok || p != 0.0423 {
		t.Errorf("m5.large spot in us-east-1a = %v, %v; want EC2's 0.0423", p, ok)
	}
	if !snap.Offers("m5.large", "us-east-1f") || snap.Offers("m7i.large", "us-east-1e") {
		t.Error("Offers must follow the offerings: m5.large in us-east-1f yes, m7i.large in us-east-1e no")
	}
	if _, ok := m.SpotPrice("m5.large", "us-east-1e"); ok {
		t.Error("a zone without a spot record has a spot price")
	}
}

func TestIsolatedVPCNeverAsksThePricingAPI(t *testing.T) {
	l, f, _ := newLiveOnFixtures(t, true)
	l.Refresh(context.Background())
	st := l.Status().OnDemand
	if !st.Fallback() || !strings.Contains(st.Reason, "isolated") {
		t.Errorf("on-demand status = %+v, want the fallback for an isolated VPC", st)
	}
	if n := len(f.requestsOf("GetProducts")); n != 0 {
		t.Errorf("%d GetProducts calls from an isolated VPC", n)
	}
	if p, ok := l.Snapshot().Within(fixtureZones).OnDemandPrice("m5.large"); !ok || p != 0.096 {
		t.Errorf("m5.large = %v, %v; want the embedded price", p, ok)
	}
}

func TestUnreachablePricingFallsBackAndSaysSoOnce(t *testing.T) {
	l, f, logs := newLiveOnFixtures(t, false)
	f.fail("GetProducts", http.StatusServiceUnavailable)
	l.Refresh(context.Background())
	l.Refresh(context.Background())
	st := l.Status().OnDemand
	if !st.Fallback() || st.Reason == "" || st.Count < 500 {
		t.Errorf("on-demand status = %+v, want the embedded prices with the reason", st)
	}
	if n := strings.Count(logs.String(), "using the embedded figures"); n != 1 {
		t.Errorf("fallback logged %d times, want once:\n%s", n, logs)
	}
	if p, ok := l.Snapshot().Within(fixtureZones).OnDemandPrice("m5.large"); !ok || p != 0.096 {
		t.Errorf("m5.large = %v, %v; want the embedded price", p, ok)
	}
	f.fail("GetProducts", 0)
	l.Refresh(context.Background())
	if st := l.Status().OnDemand; st.Fallback() {
		t.Errorf("on-demand status = %+v after the Pricing API answered again", st)
	}
}

func TestSpotFallbackModelsPricesFromOnDemand(t *testing.T) {
	l, f, _ := newLiveOnFixtures(t, false)
	f.fail("DescribeSpotPriceHistory", http.StatusServiceUnavailable)
	l.Refresh(context.Background())
	m := l.Snapshot().Within(fixtureZones)
	od, _ := m.OnDemandPrice("m5.large")
	p, ok := m.SpotPrice("m5.large", "us-east-1b")
	if !ok || p <= 0 || p >= od {
		t.Errorf("modelled spot = %v, %v; want below on-demand %v", p, ok, od)
	}
	if !l.Status().Spot.Fallback() {
		t.Error("spot status does not say it is the fallback")
	}
}

func TestAFailedRefreshKeepsWhatAWSSaidLast(t *testing.T) {
	l, f, _ := newLiveOnFixtures(t, false)
	l.Refresh(context.Background())
	f.fail("DescribeInstanceTypeOfferings", http.StatusInternalServerError)
	l.Refresh(context.Background())
	st := l.Status().Offerings
	if st.Fallback() || st.Reason == "" || st.UpdatedAt.IsZero() {
		t.Errorf("offerings status = %+v, want AWS's last figures with the failure's reason", st)
	}
	// us-east-1e offers none of the types EC2 listed; the others do.
	if zones := l.Snapshot().Within([]string{"us-east-1d", "us-east-1e"}).Zones("m7i.large"); !slices.Equal(zones, []string{"us-east-1d"}) {
		t.Errorf("m7i.large zones = %v after a failed refresh, want the last answer [us-east-1d]", zones)
	}
}

func TestCapacityErrorRereadsOfferingsSoon(t *testing.T) {
	f := newFixtureAWS(t)
	ec2c, pc := f.clients()
	l, err := New(Options{Region: "us-east-1", Catalog: loadCatalog(t), EC2: ec2c, Pricing: pc, Periods: Periods{Retry: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	l.Refresh(context.Background())
	before := len(f.requestsOf("DescribeInstanceTypeOfferings"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	for range 5 { // a burst reads once
		l.CapacityError()
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(f.requestsOf("DescribeInstanceTypeOfferings")) == before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := len(f.requestsOf("DescribeInstanceTypeOfferings")) - before; got != 2 {
		t.Errorf("%d offerings requests after a burst of capacity errors, want one read of two pages", got)
	}
	if n := len(f.requestsOf("DescribeInstanceTypes")); n != 2 {
		t.Errorf("%d instance-type requests, want only the two pages of the first read: only the offerings were due", n)
	}
}

func TestARegionWithoutEmbeddedPricesStartsOnUSEast1s(t *testing.T) {
	f := newFixtureAWS(t)
	ec2c, _ := f.clients()
	for _, pricing := range []bool{false, true} {
		o := Options{Region: "sa-east-1", Catalog: loadCatalog(t), EC2: ec2c}
		if pricing {
			_, o.Pricing = f.clients()
		}
		l, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		st := l.Status().OnDemand
		if !st.Fallback() || !strings.Contains(st.Reason, "us-east-1's stand in") {
			t.Errorf("pricing %v: on-demand status = %+v, want us-east-1's prices named as an approximation", pricing, st)
		}
		if p, ok := l.Snapshot().Within(fixtureZones).OnDemandPrice("m5.large"); !ok || p != 0.096 {
			t.Errorf("pricing %v: m5.large = %v, %v; want us-east-1's 0.096", pricing, p, ok)
		}
	}
}

func TestASourceThatFailedAtStartIsReadAgainSoon(t *testing.T) {
	f := newFixtureAWS(t)
	ec2c, pc := f.clients()
	l, err := New(Options{Region: "us-east-1", Catalog: loadCatalog(t), EC2: ec2c, Pricing: pc, Periods: Periods{Retry: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	f.fail("GetProducts", http.StatusServiceUnavailable)
	l.Refresh(context.Background())
	f.fail("GetProducts", 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for l.Status().OnDemand.Fallback() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if st := l.Status().OnDemand; st.Fallback() {
		t.Fatalf("on-demand status = %+v: the Pricing API that failed at start was not asked again", st)
	}
	if n := len(f.requestsOf("DescribeSpotPriceHistory")); n != 2 {
		t.Errorf("%d spot reads, want the one at start and one more page: spot answered, its period is 10 min", n)
	}
}

func TestImplausibleSpotPricesAreLeftOut(t *testing.T) {
	onDemand := map[string]float64{"m5.large": 0.096}
	got := plausibleSpot(map[offeringKey]float64{
		{"m5.large", "a"}: 0.04, {"m5.large", "b"}: 0.0000001, {"m5.large", "c"}: 0.2, {"x1.large", "a"}: 0.001,
	}, onDemand)
	want := map[offeringKey]float64{{"m5.large", "a"}: 0.04, {"m5.large", "c"}: 0.2, {"x1.large", "a"}: 0.001}
	if !maps.Equal(got, want) {
		t.Errorf("= %v, want %v: a spot price under 1%% of on-demand is a bad record", got, want)
	}
}

func TestPricingRegion(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "us-east-1", "us-west-2": "us-east-1", "eu-west-1": "eu-central-1",
		"ap-northeast-1": "ap-south-1", "cn-north-1": "cn-northwest-1", "sa-east-1": "us-east-1",
	} {
		if got := PricingRegion(region); got != want {
			t.Errorf("PricingRegion(%s) = %s, want %s", region, got, want)
		}
	}
}
