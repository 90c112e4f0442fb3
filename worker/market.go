package worker

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/activities/market"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// initialMarketRead bounds the first read of AWS's figures at start: past it the worker
// starts on the embedded ones and the background refresh carries on.
const initialMarketRead = 30 * time.Second

// startMarket reads the region's instance types, offerings and prices once, then keeps them
// fresh until ctx ends.
func startMarket(ctx context.Context, cfg Config, ec2Client *ec2.Client, types []catalog.Type, log *slog.Logger) (*market.Live, error) {
	o := market.Options{Region: cfg.Region, Catalog: types, EC2: ec2Client, Log: log,
		Periods: market.Periods{Spot: cfg.SpotPriceRefresh}}
	switch {
	case cfg.IsolatedVPC:
	case market.PricingRegion(cfg.Region) == "" && cfg.PricingEndpoint == "":
		o.NoPricing = "the AWS Pricing API does not serve " + cfg.Region
	default:
		client, err := newPricingClient(ctx, cfg)
		if err != nil {
			return nil, err
		}
		o.Pricing = client
	}
	live, err := market.New(o)
	if err != nil {
		return nil, err
	}
	first, cancel := context.WithTimeout(ctx, initialMarketRead)
	live.Refresh(first)
	cancel()
	go func() { _ = live.Run(ctx) }()
	return live, nil
}

// followMarket has launches read the market as it is at each launch: which zones offer a
// type, what the launched instance costs, and that a capacity error may have changed the
// offerings.
func followMarket(ec2Acts *activities.EC2, live *market.Live) {
	ec2Acts.OnCapacityError = live.CapacityError
	ec2Acts.Offered = func(instanceType, zone string) bool { return live.Snapshot().Offers(instanceType, zone) }
	ec2Acts.Price = func(instanceType, zone, capacityType string) (float64, bool) {
		return live.Snapshot().Price(instanceType, zone, capacityType)
	}
}

// newPricingClient is the Pricing API client of the endpoint that serves the region.
func newPricingClient(ctx context.Context, cfg Config) (*pricing.Client, error) {
	awsCfg, err := awsConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return pricing.NewFromConfig(awsCfg, func(o *pricing.Options) {
		o.Region = cmp.Or(market.PricingRegion(cfg.Region), cfg.Region)
		if cfg.PricingEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.PricingEndpoint)
		}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	}), nil
}

// marketMetrics serves where the market's figures come from, read at every scrape.
type marketMetrics struct {
	live              *market.Live
	fallback, updated *prometheus.Desc
}

func newMarketMetrics(live *market.Live) *marketMetrics {
	return &marketMetrics{
		live: live,
		fallback: prometheus.NewDesc("nodewright_market_fallback",
			"1 when the source's figures are the embedded ones (AWS not reached, or --isolated-vpc), 0 when AWS's.", []string{"source"}, nil),
		updated: prometheus.NewDesc("nodewright_market_updated_timestamp_seconds",
			"When the source was last read from AWS, in seconds since the epoch.", []string{"source"}, nil),
	}
}

func (m *marketMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.fallback; ch <- m.updated }

func (m *marketMetrics) Collect(ch chan<- prometheus.Metric) {
	st := m.live.Status()
	for name, s := range map[string]market.SourceStatus{
		"instance_types": st.InstanceTypes, "offerings": st.Offerings, "on_demand": st.OnDemand, "spot": st.Spot,
	} {
		v := 0.0
		if s.Fallback() {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(m.fallback, prometheus.GaugeValue, v, name)
		if !s.UpdatedAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(m.updated, prometheus.GaugeValue, float64(s.UpdatedAt.UnixNano())/1e9, name)
		}
	}
}

// registerMarketMetrics adds the market's series to the registry.
func registerMarketMetrics(reg *prometheus.Registry, live *market.Live) error {
	if err := reg.Register(newMarketMetrics(live)); err != nil {
		return fmt.Errorf("register market metrics: %w", err)
	}
	return nil
}
