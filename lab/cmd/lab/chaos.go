package main

import (
	"fmt"
	"github.com/spf13/pflag"

	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/faultproxy"
)

// chaosFlags are the lab's fault-injection settings; all off by default.
type chaosFlags struct {
	seed          uint64
	ec2Throttle   string
	ec2Capacity   float64
	ec2Drop       float64
	kubeFaults    float64
	kubeProxyPort int
}

func addChaosFlags(fs *pflag.FlagSet) *chaosFlags {
	c := &chaosFlags{}
	fs.Uint64Var(&c.seed, "chaos-seed", 1, "seed of the injected faults: the same seed repeats them")
	fs.StringVar(&c.ec2Throttle, "ec2-throttle", "", `fraction of EC2 calls throttled (RequestLimitExceeded): "0.2" for every action, or "CreateFleet=0.5,*=0.1"`)
	fs.Float64Var(&c.ec2Capacity, "ec2-insufficient-capacity", 0, "fraction of (instance type, zone) offerings with no capacity (InsufficientInstanceCapacity)")
	fs.Float64Var(&c.ec2Drop, "ec2-drop-responses", 0, "fraction of successful mutating EC2 calls whose response is lost (the effect stays)")
	fs.Float64Var(&c.kubeFaults, "kube-faults", 0, "when above 0, the worker's kubeconfig goes through a proxy failing this fraction of API requests (500, 429, reset)")
	fs.IntVar(&c.kubeProxyPort, "kube-proxy-port", 6444, "port of the API server's fault proxy, with --kube-faults")
	return c
}

// settings turns the flags into the stack's options; kubeFaults is nil when the proxy is off.
func (c *chaosFlags) settings() (ec2sim.Chaos, *faultproxy.Faults, error) {
	throttle, err := ec2sim.ParseRates(c.ec2Throttle)
	if err != nil {
		return ec2sim.Chaos{}, nil, fmt.Errorf("--ec2-throttle: %w", err)
	}
	ec2Chaos := ec2sim.Chaos{Seed: c.seed, Throttle: throttle, InsufficientCapacity: c.ec2Capacity, DropResponses: c.ec2Drop}
	if err := ec2Chaos.Validate(); err != nil {
		return ec2sim.Chaos{}, nil, fmt.Errorf("--ec2-throttle, --ec2-insufficient-capacity, --ec2-drop-responses: %w", err)
	}
	if c.kubeFaults == 0 {
		return ec2Chaos, nil, nil
	}
	kubeFaults := &faultproxy.Faults{Seed: c.seed, Rate: c.kubeFaults}
	if err := kubeFaults.Validate(); err != nil {
		return ec2sim.Chaos{}, nil, fmt.Errorf("--kube-faults: %w", err)
	}
	return ec2Chaos, kubeFaults, nil
}
