package iamsim

import (
	"maps"
	"slices"
	"strings"
)

type listInstanceProfilesResult struct {
	InstanceProfiles members[instanceProfileXML] `xml:"InstanceProfiles"`
	truncation
}

// listInstanceProfiles pages through the profiles whose path starts with PathPrefix, in order
// of name, so a garbage collector sees every profile exactly once across pages.
func (s *Sim) listInstanceProfiles(p params) (any, *apiError) {
	prefix, err := checkPathPrefix(p)
	if err != nil {
		return nil, err
	}
	after, maxItems, err := pageParams(p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matching []*instanceProfile
	for _, key := range slices.Sorted(maps.Keys(s.profiles)) {
		if profile := s.profiles[key]; strings.HasPrefix(profile.path, prefix) {
			matching = append(matching, profile)
		}
	}
	profiles, rest := page(matching, func(p *instanceProfile) string { return strings.ToLower(p.name) }, after, maxItems)
	out := listInstanceProfilesResult{truncation: rest}
	for _, profile := range profiles {
		out.InstanceProfiles.Member = append(out.InstanceProfiles.Member, s.profileXML(profile))
	}
	return out, nil
}
