package ekssim_test

import (
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/ekssim"
)

func TestNewRefusesClustersEKSCouldNotHave(t *testing.T) {
	with := func(change func(*ekssim.Cluster)) ekssim.Cluster {
		c := labCluster()
		change(&c)
		return c
	}
	tests := []struct {
		name     string
		clusters []ekssim.Cluster
	}{
		{"an empty name", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.Name = "" })}},
		{"a name starting with a dash", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.Name = "-lab" })}},
		{"a name with a dot", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.Name = "lab.one" })}},
		{"a name over 100 characters", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.Name = strings.Repeat("a", 101) })}},
		{"the same name twice", []ekssim.Cluster{labCluster(), labCluster()}},
		{"no version", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.Version = "" })}},
		{"a patch version", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.Version = "1.34.2" })}},
		{"an endpoint that is not a URL", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.Endpoint = "127.0.0.1:6443" })}},
		{"no CA data", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.CAData = "" })}},
		{"CA data that is raw PEM", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.CAData = "-----BEGIN CERTIFICATE-----" })}},
		{"a public service range", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.ServiceCIDR = "8.8.0.0/16" })}},
		{"a service range wider than /12", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.ServiceCIDR = "10.0.0.0/8" })}},
		{"a service range narrower than /24", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.ServiceCIDR = "10.0.0.0/25" })}},
		{"a service range with host bits", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.ServiceCIDR = "10.100.0.1/16" })}},
		{"an IPv6 service range", []ekssim.Cluster{with(func(c *ekssim.Cluster) { c.ServiceCIDR = "fd00::/108" })}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ekssim.New(ekssim.Options{Clusters: tc.clusters}); err == nil {
				t.Errorf("new accepted %+v", tc.clusters)
			}
		})
	}
}
