// Package pricingsim is an in-process AWS Price List Query API endpoint (service pricing,
// AWS JSON 1.1, X-Amz-Target AWSPriceListService.*) for the real aws-sdk-go-v2 Pricing client.
// It answers GetProducts for AmazonEC2 instances in every region it is given, as the real
// endpoint in us-east-1 answers for all regions, and DescribeServices for AmazonEC2.
//
// Each region's on-demand prices come from its marketsim.Market when the lab runs one there,
// else from the embedded catalog (catalog.OnDemandPrices), so the lab's region prices agree with
// the EC2 simulator. Records follow the recorded responses in testdata/ and parse with
// Karpenter's reader (pkg/providers/pricing): one JSON string per product, with the product's
// attributes and its OnDemand term. Per instance type and region there are products for Linux
// in use and in capacity reservations (capacitystatus Used, UnusedCapacityReservation,
// AllocatedCapacityReservation) and for Windows, as AWS lists them, so a client that leaves a
// filter out gets prices it must not use, as it would from AWS. Bare metal types are listed as
// productFamily "Compute Instance (bare metal)" with tenancy Dedicated, which is why Karpenter
// asks for them apart.
//
// SetReachable(false) drops every connection without an answer, as a Pricing API the network
// cannot reach would, to exercise a client's fallback.
//
// It is hand-written because no maintained library serves the Price List API to the Go SDK, and
// its one read action with filters and pages is small enough to check against recorded answers.
package pricingsim
