package iamsim

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nodewright/nodewright/lab/simid"
)

// ec2TrustPolicy lets EC2 instances assume a seeded role, which is what a node role is for.
const ec2TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Options configures a Sim; the zero value of each field picks the default noted beside it.
type Options struct {
	AccountID string           // default 111122223333; appears in ARNs
	Roles     []string         // roles to create at path "/" with an EC2 trust policy, e.g. the node role
	Clock     func() time.Time // default time.Now; stamps CreateDate
}

// Sim is a simulated IAM account. It is safe for concurrent use.
type Sim struct {
	accountID string
	clock     func() time.Time

	mu       sync.Mutex
	roles    map[string]*role            // by lower-cased name: IAM names ignore case
	profiles map[string]*instanceProfile // likewise
	ids      idSource
	requests simid.Source
}

var _ http.Handler = (*Sim)(nil)

// New builds a Sim holding o.Roles. It refuses an account id or role name IAM would refuse.
func New(o Options) (*Sim, error) {
	s := &Sim{
		accountID: o.AccountID,
		clock:     o.Clock,
		roles:     map[string]*role{},
		profiles:  map[string]*instanceProfile{},
		requests:  simid.From(1 << 40),
	}
	if s.accountID == "" {
		s.accountID = "111122223333"
	}
	if !accountIDPattern.MatchString(s.accountID) {
		return nil, fmt.Errorf("iam account id %q is not 12 digits", s.accountID)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	for _, name := range o.Roles {
		if _, err := s.createRole(roleSpec{name: name, path: "/", trustPolicy: ec2TrustPolicy, maxSession: defaultMaxSession}); err != nil {
			return nil, fmt.Errorf("seed iam role %q: %w", name, err)
		}
	}
	return s, nil
}

// InstanceProfile is what the Sim holds for one instance profile.
type InstanceProfile struct {
	Name  string
	ID    string
	ARN   string
	Path  string
	Roles []string // role names; IAM allows at most one
	Tags  map[string]string
}

// InstanceProfile looks a profile up by name, ignoring case as IAM does, for tests and for a
// simulated EC2 that must check the profile a launch names.
func (s *Sim) InstanceProfile(name string) (InstanceProfile, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.profiles[strings.ToLower(name)]
	if !ok {
		return InstanceProfile{}, false
	}
	out := InstanceProfile{Name: p.name, ID: p.id, ARN: s.profileARN(p), Path: p.path, Tags: map[string]string{}}
	for _, r := range p.roles {
		out.Roles = append(out.Roles, r.name)
	}
	for _, t := range p.tags.sorted() {
		out.Tags[t.key] = t.value
	}
	return out, true
}

// InstanceProfileNames lists every profile's name in order, so a test can see what was left behind.
func (s *Sim) InstanceProfileNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, key := range slices.Sorted(maps.Keys(s.profiles)) {
		out = append(out, s.profiles[key].name)
	}
	return out
}

func (s *Sim) roleARN(r *role) string {
	return "arn:aws:iam::" + s.accountID + ":role" + r.path + r.name
}

func (s *Sim) profileARN(p *instanceProfile) string {
	return "arn:aws:iam::" + s.accountID + ":instance-profile" + p.path + p.name
}
