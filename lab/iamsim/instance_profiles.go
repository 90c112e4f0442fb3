package iamsim

import (
	"strings"
	"time"
)

type instanceProfile struct {
	name, path, id string
	created        time.Time
	roles          []*role // IAM allows at most one
	tags           tagSet
}

type instanceProfileXML struct {
	Path                string           `xml:"Path"`
	InstanceProfileName string           `xml:"InstanceProfileName"`
	InstanceProfileID   string           `xml:"InstanceProfileId"`
	Arn                 string           `xml:"Arn"`
	CreateDate          string           `xml:"CreateDate"`
	Roles               members[roleXML] `xml:"Roles"`
	Tags                *members[tagXML] `xml:"Tags,omitempty"`
}

type instanceProfileResult struct {
	InstanceProfile instanceProfileXML `xml:"InstanceProfile"`
}

func (s *Sim) createInstanceProfile(p params) (any, *apiError) {
	name, err := readProfileName(p)
	if err != nil {
		return nil, err
	}
	path, err := checkPath(p)
	if err != nil {
		return nil, err
	}
	tags, err := readTags(p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(name)
	if _, ok := s.profiles[key]; ok {
		return nil, alreadyExists("Instance Profile %s already exists.", name)
	}
	profile := &instanceProfile{name: name, path: path, id: s.ids.instanceProfileID(), created: s.clock(), tags: tagSet{}}
	profile.tags.merge(tags)
	s.profiles[key] = profile
	return instanceProfileResult{InstanceProfile: s.profileXML(profile)}, nil
}

func (s *Sim) getInstanceProfile(p params) (any, *apiError) {
	name, err := readProfileName(p)
	if err != nil {
		return nil, err
	}
	return s.withProfile(name, func(profile *instanceProfile) (any, *apiError) {
		return instanceProfileResult{InstanceProfile: s.profileXML(profile)}, nil
	})
}

// deleteInstanceProfile refuses while a role is attached, as IAM does, so a caller that forgets
// RemoveRoleFromInstanceProfile finds out here rather than in production.
func (s *Sim) deleteInstanceProfile(p params) (any, *apiError) {
	name, err := readProfileName(p)
	if err != nil {
		return nil, err
	}
	return s.withProfile(name, func(profile *instanceProfile) (any, *apiError) {
		if len(profile.roles) > 0 {
			return nil, deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
		}
		delete(s.profiles, strings.ToLower(name))
		return nil, nil
	})
}

func readProfileName(p params) (string, *apiError) {
	name, err := p.required("InstanceProfileName", "instanceProfileName")
	if err != nil {
		return "", err
	}
	if err := checkName("instanceProfileName", name, maxProfileNameLength); err != nil {
		return "", err
	}
	return name, nil
}

// profile finds a profile by name, ignoring case, and must be called with s.mu held.
func (s *Sim) profile(name string) (*instanceProfile, *apiError) {
	profile, ok := s.profiles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchInstanceProfile(name)
	}
	return profile, nil
}

// withProfile runs f on the named profile with s.mu held.
func (s *Sim) withProfile(name string, f func(*instanceProfile) (any, *apiError)) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	profile, err := s.profile(name)
	if err != nil {
		return nil, err
	}
	return f(profile)
}

func (s *Sim) profileXML(p *instanceProfile) instanceProfileXML {
	out := instanceProfileXML{
		Path: p.path, InstanceProfileName: p.name, InstanceProfileID: p.id, Arn: s.profileARN(p),
		CreateDate: iamTime(p.created), Tags: tagsXML(p.tags.sorted()),
	}
	for _, r := range p.roles {
		out.Roles.Member = append(out.Roles.Member, s.roleXML(r, false))
	}
	return out
}
