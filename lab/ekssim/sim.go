package ekssim

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nodewright/nodewright/lab/simid"
)

// Options configures a Sim; the zero value of each field picks the default noted beside it.
type Options struct {
	Region    string // default us-east-1; appears in cluster ARNs
	AccountID string // default 111122223333; appears in cluster ARNs
	Clusters  []Cluster
	Clock     func() time.Time // default time.Now; stamps createdAt when New runs
}

// Cluster is an ACTIVE EKS cluster as DescribeCluster reports it.
type Cluster struct {
	Name        string // EKS's rules: a letter or digit, then letters, digits, - and _; at most 100
	Endpoint    string // the API server URL
	CAData      string // base64 of the PEM CA bundle, as certificateAuthority.data carries it
	ServiceCIDR string // IPv4 service range; default 10.100.0.0/16, EKS's own default
	Version     string // Kubernetes minor version, e.g. 1.34
}

// Sim is a simulated EKS region. It is safe for concurrent use.
type Sim struct {
	region    string
	accountID string

	mu       sync.Mutex
	clusters map[string]cluster
	requests simid.Source
}

// cluster is a Cluster as declared, with what EKS adds.
type cluster struct {
	Cluster
	createdAt time.Time
}

var _ http.Handler = (*Sim)(nil)

// New builds a Sim holding o.Clusters. It refuses a cluster EKS could not have: a bad name, a
// repeated name, an endpoint that is not a URL, CA data that is not base64, or a service CIDR EKS
// would not accept.
func New(o Options) (*Sim, error) {
	s := &Sim{region: o.Region, accountID: o.AccountID, clusters: map[string]cluster{}}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.accountID == "" {
		s.accountID = "111122223333"
	}
	clock := o.Clock
	if clock == nil {
		clock = time.Now
	}
	for _, c := range o.Clusters {
		if c.ServiceCIDR == "" {
			c.ServiceCIDR = defaultServiceCIDR
		}
		if err := checkCluster(c); err != nil {
			return nil, fmt.Errorf("eks cluster %q: %w", c.Name, err)
		}
		if _, ok := s.clusters[c.Name]; ok {
			return nil, fmt.Errorf("eks cluster %q is declared twice", c.Name)
		}
		s.clusters[c.Name] = cluster{Cluster: c, createdAt: clock()}
	}
	return s, nil
}

func (s *Sim) clusterARN(name string) string {
	return "arn:aws:eks:" + s.region + ":" + s.accountID + ":cluster/" + name
}
