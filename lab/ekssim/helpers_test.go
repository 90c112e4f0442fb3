package ekssim_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/nodewright/nodewright/lab/ekssim"
	"github.com/nodewright/nodewright/lab/localhttp"
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
	return eks.NewFromConfig(localhttp.SDKConfig("eu-west-1", url))
}
