package ssmsim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/nodewright/nodewright/lab/simid"
)

// Options configures a Sim; the zero value of each field picks the default noted beside it.
type Options struct {
	Region     string            // default us-east-1; appears in parameter ARNs
	AccountID  string            // default 111122223333; the ARN account of parameters outside /aws/service
	Parameters map[string]string // name → value, each at version 1
	Clock      func() time.Time  // default time.Now; stamps LastModifiedDate
}

// Sim is a simulated SSM Parameter Store in one region. It is safe for concurrent use.
type Sim struct {
	region    string
	accountID string
	clock     func() time.Time

	mu         sync.Mutex
	parameters map[string]*parameter
	requests   simid.Source
}

// parameter keeps every version so a "name:version" selector can read an older one, as SSM's
// parameter history allows.
type parameter struct {
	name     string
	versions []version // versions[i] is version i+1
}

type version struct {
	value    string
	modified time.Time
}

var _ http.Handler = (*Sim)(nil)

// New builds a Sim holding o.Parameters. It refuses a name or value that SSM would refuse, so a
// lab cannot seed a parameter no client could have read.
func New(o Options) (*Sim, error) {
	s := &Sim{
		region:     o.Region,
		accountID:  o.AccountID,
		clock:      o.Clock,
		parameters: map[string]*parameter{},
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.accountID == "" {
		s.accountID = "111122223333"
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	for _, name := range slices.Sorted(maps.Keys(o.Parameters)) {
		if err := s.Put(name, o.Parameters[name]); err != nil {
			return nil, fmt.Errorf("seed ssm parameters: %w", err)
		}
	}
	return s, nil
}

// Put sets the parameter's value as PutParameter with Overwrite would: a new name starts at
// version 1 and every later Put adds a version, even with the same value. It is how a lab
// publishes a new AMI while clients are polling.
func (s *Sim) Put(name, value string) error {
	if err := checkName("name", name); err != nil {
		return fmt.Errorf("put ssm parameter %q: %w", name, err)
	}
	if err := checkValue(value); err != nil {
		return fmt.Errorf("put ssm parameter %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.parameters[name]
	if !ok {
		p = &parameter{name: name}
		s.parameters[name] = p
	}
	p.versions = append(p.versions, version{value: value, modified: s.clock()})
	return nil
}

// Version is the parameter's latest version number, 0 for an unknown name.
func (s *Sim) Version(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.parameters[name]; ok {
		return int64(len(p.versions))
	}
	return 0
}
