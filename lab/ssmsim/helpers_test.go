package ssmsim_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/nodewright/nodewright/lab/localhttp"
	"github.com/nodewright/nodewright/lab/ssmsim"
)

// modifiedAt is the fixed clock's reading, with milliseconds because SSM reports them.
var modifiedAt = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// newSim builds a sim on the fixed clock holding parameters.
func newSim(t *testing.T, parameters map[string]string) *ssmsim.Sim {
	t.Helper()
	sim, err := ssmsim.New(ssmsim.Options{Region: "eu-west-1", Parameters: parameters, Clock: func() time.Time { return modifiedAt }})
	if err != nil {
		t.Fatalf("build ssm sim: %v", err)
	}
	return sim
}

// clientFor serves sim on loopback until the test ends and returns the real SDK client aimed at it.
func clientFor(t *testing.T, sim *ssmsim.Sim) *ssm.Client {
	t.Helper()
	url, err := sim.Serve(t.Context(), "")
	if err != nil {
		t.Fatalf("serve ssm sim: %v", err)
	}
	return ssm.NewFromConfig(localhttp.SDKConfig("eu-west-1", url))
}

// errorCode is the code the SDK surfaced, failing if err is not an API error.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an SSM API error, got %v", err)
	}
	return apiErr.ErrorCode()
}

// isA reports whether err is, or wraps, the SDK's typed error T.
func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}
