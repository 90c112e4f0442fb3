package iamsim

import (
	"encoding/json"
	"strings"
	"time"
)

type role struct {
	name, path, id string
	created        time.Time
	trustPolicy    string
	description    string
	maxSession     int
	tags           tagSet
}

type roleSpec struct {
	name, path, trustPolicy, description string
	maxSession                           int
	tags                                 []tag
}

type roleXML struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	Arn                      string           `xml:"Arn"`
	CreateDate               string           `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument"`
	Description              string           `xml:"Description,omitempty"`
	MaxSessionDuration       int              `xml:"MaxSessionDuration,omitempty"`
	Tags                     *members[tagXML] `xml:"Tags,omitempty"`
}

type roleResult struct {
	Role roleXML `xml:"Role"`
}

func (s *Sim) createRoleAction(p params) (any, *apiError) {
	name, err := p.required("RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	spec := roleSpec{name: name}
	if spec.path, err = checkPath(p); err != nil {
		return nil, err
	}
	if spec.trustPolicy, err = p.required("AssumeRolePolicyDocument", "assumeRolePolicyDocument"); err != nil {
		return nil, err
	}
	spec.description = p.Get("Description")
	if err := checkLength("description", spec.description, 0, maxDescriptionLength); err != nil {
		return nil, err
	}
	if spec.maxSession, err = checkInt(p, "MaxSessionDuration", "maxSessionDuration", defaultMaxSession, maxMaxSession, defaultMaxSession); err != nil {
		return nil, err
	}
	if spec.tags, err = readTags(p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.createRole(spec)
	if err != nil {
		return nil, err
	}
	return roleResult{Role: s.roleXML(r, true)}, nil
}

func (s *Sim) getRoleAction(p params) (any, *apiError) {
	name, err := p.required("RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.role(name)
	if err != nil {
		return nil, err
	}
	return roleResult{Role: s.roleXML(r, true)}, nil
}

// createRole must be called with s.mu held, or before the Sim is shared.
func (s *Sim) createRole(spec roleSpec) (*role, *apiError) {
	if err := checkName("roleName", spec.name, maxRoleNameLength); err != nil {
		return nil, err
	}
	if err := checkPolicy(spec.trustPolicy); err != nil {
		return nil, err
	}
	key := strings.ToLower(spec.name)
	if _, ok := s.roles[key]; ok {
		return nil, alreadyExists("Role with name %s already exists.", spec.name)
	}
	r := &role{
		name: spec.name, path: spec.path, id: s.ids.roleID(), created: s.clock(),
		trustPolicy: spec.trustPolicy, description: spec.description, maxSession: spec.maxSession,
		tags: tagSet{},
	}
	r.tags.merge(spec.tags)
	s.roles[key] = r
	return r, nil
}

// role finds a role by name, ignoring case, and must be called with s.mu held.
func (s *Sim) role(name string) (*role, *apiError) {
	if err := checkName("roleName", name, maxRoleNameLength); err != nil {
		return nil, err
	}
	r, ok := s.roles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchRole(name)
	}
	return r, nil
}

// checkPolicy only checks that the document is a JSON object: the sim grants everything, so
// the policy's meaning never matters.
func checkPolicy(doc string) *apiError {
	if err := checkLength("assumeRolePolicyDocument", doc, 1, maxPolicyLength); err != nil {
		return err
	}
	var policy map[string]any
	if err := json.Unmarshal([]byte(doc), &policy); err != nil {
		return malformedPolicy("This policy contains invalid Json")
	}
	return nil
}

// roleXML renders a role; detail adds what GetRole shows and an instance profile's role list
// leaves out.
func (s *Sim) roleXML(r *role, detail bool) roleXML {
	out := roleXML{
		Path: r.path, RoleName: r.name, RoleID: r.id, Arn: s.roleARN(r), CreateDate: iamTime(r.created),
		AssumeRolePolicyDocument: encodePolicy(r.trustPolicy),
	}
	if detail {
		out.Description, out.MaxSessionDuration, out.Tags = r.description, r.maxSession, tagsXML(r.tags.sorted())
	}
	return out
}
