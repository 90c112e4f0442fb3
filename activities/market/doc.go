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
//     a plan from. Every read makes a new one; its Version changes only when a figure does.
//
// A type EC2 lists that the embedded catalog lacks is still sold: its record is derived from
// what DescribeInstanceTypes says of it, with the label values Karpenter's AWS provider
// derives, sized by Karpenter's formulas, on-demand at the Pricing API's price and spot at
// EC2's (neither has an embedded figure; without a price it has no offering). A type in both
// keeps the catalog's record, which carries Spot Advisor's savings and documented figures.
//
// Each source is read on its own (Run): every period after a read that worked, after
// Periods.Retry doubling per failure in a row after one that did not, and the offerings soon
// after a capacity error. A price that no instance could cost (zero, negative, not finite,
// above 10,000 an hour) is a bad record and prices nothing, as is a spot price under 1% of
// on-demand. A region without embedded prices starts on us-east-1's, named as an
// approximation, until the Pricing API answers.
package market
