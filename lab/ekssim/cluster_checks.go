package ekssim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
)

const (
	// defaultServiceCIDR is the range EKS picks when a cluster is created without one.
	defaultServiceCIDR = "10.100.0.0/16"
	maxNameLength      = 100
	// EKS takes service ranges from /24 up to /12.
	minServiceCIDRBits = 12
	maxServiceCIDRBits = 24
)

var (
	clusterNamePattern = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]*$`)
	versionPattern     = regexp.MustCompile(`^1\.[0-9]+$`)
)

// checkCluster refuses what CreateCluster would refuse, and an endpoint or CA no client could use.
func checkCluster(c Cluster) error {
	if len(c.Name) > maxNameLength || !clusterNamePattern.MatchString(c.Name) {
		return fmt.Errorf("name must be 1 to %d letters, digits, - or _, starting with a letter or digit", maxNameLength)
	}
	if !versionPattern.MatchString(c.Version) {
		return fmt.Errorf("version %q is not a Kubernetes minor version such as 1.34", c.Version)
	}
	if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("endpoint %q is not an http(s) URL", c.Endpoint)
	}
	if _, err := base64.StdEncoding.DecodeString(c.CAData); err != nil || c.CAData == "" {
		return errors.New("CA data must be the base64 of a PEM bundle")
	}
	return checkServiceCIDR(c.ServiceCIDR)
}

// checkServiceCIDR applies EKS's rule: a private IPv4 block between /24 and /12.
func checkServiceCIDR(cidr string) error {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return fmt.Errorf("service CIDR: %w", err)
	}
	if !prefix.Addr().Is4() || !prefix.Addr().IsPrivate() || prefix != prefix.Masked() ||
		prefix.Bits() < minServiceCIDRBits || prefix.Bits() > maxServiceCIDRBits {
		return fmt.Errorf("service CIDR %s must be a private IPv4 block between /%d and /%d", cidr, maxServiceCIDRBits, minServiceCIDRBits)
	}
	return nil
}
