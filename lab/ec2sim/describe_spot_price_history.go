package ec2sim

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type describeSpotPriceHistoryResponse struct {
	XMLName   struct{}        `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeSpotPriceHistoryResponse"`
	RequestID string          `xml:"requestId"`
	Prices    spotPriceSetXML `xml:"spotPriceHistorySet"`
	NextToken string          `xml:"nextToken"` // empty on the last page, as EC2 sends it
}

// spotPriceSetXML is always written, empty too, as EC2 writes it.
type spotPriceSetXML struct {
	Items []spotPriceXML `xml:"item"`
}

type spotPriceXML struct {
	InstanceType       string `xml:"instanceType"`
	ProductDescription string `xml:"productDescription"`
	SpotPrice          string `xml:"spotPrice"`
	Timestamp          string `xml:"timestamp"`
	AvailabilityZone   string `xml:"availabilityZone"`
}

// The product descriptions the simulated region prices: Linux, under both of EC2's names for
// it. Others (Windows, SUSE, ...) have no spot prices here.
const (
	productLinux    = "Linux/UNIX"
	productLinuxVPC = "Linux/UNIX (Amazon VPC)"
)

// spotPageLimit is the most prices a page holds, and the page without MaxResults.
const spotPageLimit = 1000

// spotSeries is one price history: a type in a zone, sold as one product.
type spotSeries struct{ instanceType, zone, product string }

// pricedPoint is one price of a series, from a moment on.
type pricedPoint struct {
	spotSeries
	price float64
	at    time.Time
}

// describeSpotPriceHistory answers each series' prices from StartTime to EndTime, newest first,
// the first being the price in effect at StartTime (stamped when it took effect), as EC2 does.
// Without times it answers the prices in effect now; with EndTime alone, those in effect then.
// The first page fixes "now" for the pages after it, in its NextToken.
func (s *Sim) describeSpotPriceHistory(p params, requestID string) (any, *apiError) {
	limit, err := spotPageSize(p)
	if err != nil {
		return nil, err
	}
	from, now, err := spotCursor(p.str("NextToken"), s.clock)
	if err != nil {
		return nil, err
	}
	start, end, err := spotWindow(p, now)
	if err != nil {
		return nil, err
	}
	series, err := s.spotSeriesAsked(p)
	if err != nil {
		return nil, err
	}
	prices := s.spotPrices(series, start, end)
	if from > len(prices) {
		return nil, newAPIError(CodeInvalidPaginationToken, "Invalid pagination token: %s", p.str("NextToken"))
	}
	to := min(from+limit, len(prices))
	resp := describeSpotPriceHistoryResponse{RequestID: requestID}
	for _, pp := range prices[from:to] {
		resp.Prices.Items = append(resp.Prices.Items, spotPriceXML{
			InstanceType: pp.instanceType, ProductDescription: pp.product, AvailabilityZone: pp.zone,
			SpotPrice: strconv.FormatFloat(pp.price, 'f', 6, 64), Timestamp: ec2Time(pp.at),
		})
	}
	if to < len(prices) {
		resp.NextToken = encodeToken(strconv.Itoa(to) + "@" + strconv.FormatInt(now.UnixNano(), 10))
	}
	return resp, nil
}

// spotPageSize reads MaxResults: at least 1, pages of at most spotPageLimit. EC2 takes larger
// values without complaint (Karpenter asks for 2000) and pages at 1000 all the same.
func spotPageSize(p params) (int, *apiError) {
	n, present, err := p.integer("MaxResults")
	switch {
	case err != nil:
		return 0, err
	case !present:
		return spotPageLimit, nil
	case n < 1:
		return 0, invalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value greater than 0.", n)
	}
	return min(n, spotPageLimit), nil
}

// spotCursor reads a NextToken as the index of the page's first price and the moment the first
// page was asked at; without a token, the first price and now.
func spotCursor(token string, clock func() time.Time) (int, time.Time, *apiError) {
	if token == "" {
		return 0, clock(), nil
	}
	cursor, err := decodeToken(token)
	if err != nil {
		return 0, time.Time{}, err
	}
	index, nanos, _ := strings.Cut(cursor, "@")
	from, indexErr := strconv.Atoi(index)
	at, nanosErr := strconv.ParseInt(nanos, 10, 64)
	if indexErr != nil || nanosErr != nil || from < 0 {
		return 0, time.Time{}, newAPIError(CodeInvalidPaginationToken, "Invalid pagination token: %s", token)
	}
	return from, time.Unix(0, at).UTC(), nil
}

// spotWindow reads StartTime and EndTime: EndTime defaults to now, StartTime to EndTime.
func spotWindow(p params, now time.Time) (start, end time.Time, _ *apiError) {
	end, err := timeParam(p, "EndTime", now)
	if err != nil {
		return start, end, err
	}
	start, err = timeParam(p, "StartTime", end)
	if err != nil {
		return start, end, err
	}
	if end.Before(start) {
		return start, end, invalidParameterValue("EndTime %s is before StartTime %s: give an EndTime at or after the StartTime",
			ec2Time(end), ec2Time(start))
	}
	return start, end, nil
}

// timeParam reads an ISO 8601 time; fallback when absent.
func timeParam(p params, key string, fallback time.Time) (time.Time, *apiError) {
	raw := p.str(key)
	if raw == "" {
		return fallback, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, invalidParameterValue("Value (%s) for parameter %s is invalid. Expected an ISO 8601 time such as 2026-12-03T08:00:00Z.", raw, key)
	}
	return t, nil
}

// spotSeriesAsked are the series the request asks about, by InstanceType.N (all the region
// sells as spot when none), AvailabilityZone, ProductDescription.N (Linux/UNIX when none) and
// the filters. Types, zones and products the region does not price answer nothing, as EC2's.
func (s *Sim) spotSeriesAsked(p params) ([]spotSeries, *apiError) {
	match, err := parseFilters(p, spotSeriesFilterField)
	if err != nil {
		return nil, err
	}
	typeNames := s.typeNames
	if asked := p.strings("InstanceType"); len(asked) > 0 {
		typeNames = slices.Compact(slices.Sorted(slices.Values(asked)))
	}
	zones := s.zones
	if zone := p.str("AvailabilityZone"); zone != "" {
		zones = slices.DeleteFunc([]string{zone}, func(z string) bool { return !slices.Contains(s.zones, z) })
	}
	products := p.strings("ProductDescription")
	if len(products) == 0 {
		products = []string{productLinux}
	}
	var out []spotSeries
	for _, name := range typeNames {
		if t, ok := s.types[name]; !ok || !t.SupportsSpot() {
			continue
		}
		for _, zone := range zones {
			for _, product := range products {
				series := spotSeries{instanceType: name, zone: zone, product: product}
				if (product == productLinux || product == productLinuxVPC) && match.match(series) {
					out = append(out, series)
				}
			}
		}
	}
	return out, nil
}

// spotPrices are the series' prices from start to end, newest first, then by type, zone and
// product.
func (s *Sim) spotPrices(series []spotSeries, start, end time.Time) []pricedPoint {
	var out []pricedPoint
	for _, ss := range series {
		for _, pp := range s.market.SpotHistory(ss.instanceType, ss.zone, start, end) {
			out = append(out, pricedPoint{spotSeries: ss, price: pp.Price, at: pp.At})
		}
	}
	slices.SortStableFunc(out, func(a, b pricedPoint) int {
		return cmp.Or(b.at.Compare(a.at), cmp.Compare(a.instanceType, b.instanceType), cmp.Compare(a.zone, b.zone), cmp.Compare(a.product, b.product))
	})
	return out
}

// spotSeriesFilterField names the DescribeSpotPriceHistory filters the simulator understands.
func spotSeriesFilterField(name string) (filterField[spotSeries], bool) {
	switch name {
	case "availability-zone":
		return func(s spotSeries) []string { return []string{s.zone} }, true
	case "instance-type":
		return func(s spotSeries) []string { return []string{s.instanceType} }, true
	case "product-description":
		return func(s spotSeries) []string { return []string{s.product} }, true
	}
	return nil, false
}
