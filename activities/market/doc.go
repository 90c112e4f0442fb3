// Package market keeps what AWS says the region sells and at what price: the instance types
// EC2 lists, the zones that offer each (DescribeInstanceTypeOfferings), on-demand prices from
// the AWS Pricing API and spot prices per zone from DescribeSpotPriceHistory, each refreshed on
// its own period, as Karpenter's instance-type and pricing providers do.
//
// Terms:
//   - source: one of the four kinds of figure (instance types, offerings, on-demand prices,
//     spot prices), fetched and refreshed on its own.
//   - fallback: the embedded catalog's figure for a source AWS did not answer for yet, or
//     that the worker must not ask (--isolated-vpc: no Pricing API). A source that answered
//     once keeps its last answer when a refresh fails; it is stale, not a fallback.
//   - snapshot: an immutable view of all four sources at one moment, which the planner prices
//     a plan from. Every refresh that changes a figure makes a new snapshot.
package market
