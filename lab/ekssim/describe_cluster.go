package ekssim

import (
	"net/http"
	"net/url"
	"strings"
)

// platformVersion is the EKS platform version every simulated cluster reports.
const platformVersion = "eks.1"

type describeClusterOutput struct {
	Cluster clusterJSON `json:"cluster"`
}

// clusterJSON is types.Cluster on the wire; createdAt is epoch seconds, REST-JSON's default.
type clusterJSON struct {
	Name                    string            `json:"name"`
	Arn                     string            `json:"arn"`
	CreatedAt               float64           `json:"createdAt"`
	Version                 string            `json:"version"`
	Endpoint                string            `json:"endpoint"`
	CertificateAuthority    certificateJSON   `json:"certificateAuthority"`
	KubernetesNetworkConfig networkConfigJSON `json:"kubernetesNetworkConfig"`
	Status                  string            `json:"status"`
	PlatformVersion         string            `json:"platformVersion"`
	Tags                    map[string]string `json:"tags"`
}

type certificateJSON struct {
	Data string `json:"data"`
}

type networkConfigJSON struct {
	ServiceIpv4Cidr string `json:"serviceIpv4Cidr"`
	IPFamily        string `json:"ipFamily"`
}

// ServeHTTP answers one REST-JSON request; GET /clusters/{name} is the only route.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	requestID := s.requests.UUID()
	s.mu.Unlock()
	out, err := s.handle(r)
	if err != nil {
		writeError(w, err, requestID)
		return
	}
	restJSON.Write(w, http.StatusOK, out, requestID)
}

func (s *Sim) handle(r *http.Request) (any, *apiError) {
	escaped, ok := strings.CutPrefix(r.URL.EscapedPath(), "/clusters/")
	if !ok || escaped == "" || strings.Contains(escaped, "/") || r.Method != http.MethodGet {
		return nil, unknownOperation(r.Method, r.URL.Path)
	}
	name, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, unknownOperation(r.Method, r.URL.Path)
	}
	return s.describeCluster(name)
}

func (s *Sim) describeCluster(name string) (describeClusterOutput, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clusters[name]
	if !ok {
		return describeClusterOutput{}, clusterNotFound(name)
	}
	return describeClusterOutput{Cluster: clusterJSON{
		Name:                    c.Name,
		Arn:                     s.clusterARN(c.Name),
		CreatedAt:               float64(c.createdAt.UnixMilli()) / 1000,
		Version:                 c.Version,
		Endpoint:                c.Endpoint,
		CertificateAuthority:    certificateJSON{Data: c.CAData},
		KubernetesNetworkConfig: networkConfigJSON{ServiceIpv4Cidr: c.ServiceCIDR, IPFamily: "ipv4"},
		Status:                  "ACTIVE",
		PlatformVersion:         platformVersion,
		Tags:                    map[string]string{},
	}}, nil
}
