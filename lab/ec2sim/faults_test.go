package ec2sim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/ec2query"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

func TestInjectedThrottlingSurfacesItsCode(t *testing.T) {
	sim := newSim(t)
	sim.InjectError("DescribeInstances", ec2sim.CodeRequestLimitExceeded, 1)
	client := newClient(t, sim, 1)

	_, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if code := errorCode(t, err); code != ec2sim.CodeRequestLimitExceeded {
		t.Errorf("error code is %s, want %s", code, ec2sim.CodeRequestLimitExceeded)
	}
	if _, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("the call after the injected fault should succeed: %v", err)
	}
	if n := sim.Calls("DescribeInstances"); n != 2 {
		t.Errorf("sim counted %d calls, want 2", n)
	}
}

func TestInjectedThrottlingIsRetriedByTheSDK(t *testing.T) {
	sim := newSim(t)
	sim.InjectError("DescribeInstanceTypes", ec2sim.CodeRequestLimitExceeded, 2)
	client := newClient(t, sim, 3)

	if _, err := client.DescribeInstanceTypes(context.Background(), &ec2.DescribeInstanceTypesInput{}); err != nil {
		t.Fatalf("the SDK should retry past two throttles: %v", err)
	}
	if n := sim.Calls("DescribeInstanceTypes"); n != 3 {
		t.Errorf("sim counted %d calls, want 2 throttled and 1 served", n)
	}
}

func TestUnknownActionIsAnInvalidAction(t *testing.T) {
	server := httptest.NewServer(newSim(t))
	defer server.Close()

	resp, err := http.PostForm(server.URL, url.Values{"Action": {"RunInstances"}, "Version": {"2016-11-15"}})
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	got, err := ec2query.GetErrorResponseComponents(resp.Body)
	if err != nil {
		t.Fatalf("parse error envelope: %v", err)
	}
	if resp.StatusCode != http.StatusBadRequest || got.Code != ec2sim.CodeInvalidAction || got.RequestID == "" {
		t.Errorf("got HTTP %d code %q request %q, want 400 %s with a request id", resp.StatusCode, got.Code, got.RequestID, ec2sim.CodeInvalidAction)
	}
}

// The market's read actions fail as every action does: with an injected fault, then served,
// and with chaos throttling.
func TestMarketReadsTakeFaultsAndChaos(t *testing.T) {
	for action, call := range marketReads() {
		t.Run(action, func(t *testing.T) {
			sim := newSim(t)
			client := newClient(t, sim, 1)
			ctx := context.Background()
			sim.InjectError(action, "Unavailable", 1)
			if code := errorCode(t, call(ctx, client)); code != "Unavailable" {
				t.Errorf("with a fault injected, the call failed with %s, want Unavailable", code)
			}
			if err := call(ctx, client); err != nil {
				t.Errorf("the call after the injected fault should succeed: %v", err)
			}
			if err := sim.SetChaos(ec2sim.Chaos{Seed: 1, Throttle: map[string]float64{action: 1}}); err != nil {
				t.Fatal(err)
			}
			if code := errorCode(t, call(ctx, client)); code != ec2sim.CodeRequestLimitExceeded {
				t.Errorf("under chaos throttling every call, the call failed with %s, want %s", code, ec2sim.CodeRequestLimitExceeded)
			}
			if n := sim.Calls(action); n != 3 {
				t.Errorf("sim counted %d calls, want 3", n)
			}
		})
	}
}
