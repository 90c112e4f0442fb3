package ekssim_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/nodewright/nodewright/lab/ekssim"
)

// createdAt is the fixed clock's reading.
var createdAt = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// labCluster is a valid cluster; tests change one field at a time.
func labCluster() ekssim.Cluster {
	return ekssim.Cluster{
		Name:     "lab",
		Endpoint: "https://127.0.0.1:6443",
		CAData:   "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
		Version:  "1.34",
	}
}

// clientFor builds a sim of clusters, serves it on loopback until the test ends and returns the
// real SDK client aimed at it.
func clientFor(t *testing.T, clusters ...ekssim.Cluster) *eks.Client {
	t.Helper()
	sim, err := ekssim.New(ekssim.Options{Region: "eu-west-1", Clusters: clusters, Clock: func() time.Time { return createdAt }})
	if err != nil {
		t.Fatalf("build eks sim: %v", err)
	}
	url, err := sim.Serve(t.Context(), "")
	if err != nil {
		t.Fatalf("serve eks sim: %v", err)
	}
	return eks.New(eks.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEKSSIM", "secret", ""),
		HTTPClient:   ekssim.HTTPClient(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 1
			o.RateLimiter = ratelimit.None
		}),
	})
}
