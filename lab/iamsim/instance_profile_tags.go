package iamsim

import (
	"maps"
	"strings"
)

type listTagsResult struct {
	Tags members[tagXML] `xml:"Tags"`
	truncation
}

// tagInstanceProfile adds tags or replaces the values of keys the profile has, refusing to go
// over IAM's quota of tags per resource.
func (s *Sim) tagInstanceProfile(p params) (any, *apiError) {
	name, err := readProfileName(p)
	if err != nil {
		return nil, err
	}
	tags, err := readTags(p)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, missingValue("tags")
	}
	return s.withProfile(name, func(profile *instanceProfile) (any, *apiError) {
		merged := maps.Clone(profile.tags)
		merged.merge(tags)
		if len(merged) > maxTags {
			return nil, limitExceeded("Cannot exceed quota for TagsPerInstanceProfile: %d", maxTags)
		}
		profile.tags = merged
		return nil, nil
	})
}

// untagInstanceProfile removes the keys given; a key the profile does not have is ignored, as
// IAM ignores it.
func (s *Sim) untagInstanceProfile(p params) (any, *apiError) {
	name, err := readProfileName(p)
	if err != nil {
		return nil, err
	}
	keys, err := readTagKeys(p)
	if err != nil {
		return nil, err
	}
	return s.withProfile(name, func(profile *instanceProfile) (any, *apiError) {
		for _, key := range keys {
			delete(profile.tags, strings.ToLower(key))
		}
		return nil, nil
	})
}

func (s *Sim) listInstanceProfileTags(p params) (any, *apiError) {
	name, err := readProfileName(p)
	if err != nil {
		return nil, err
	}
	after, maxItems, err := pageParams(p)
	if err != nil {
		return nil, err
	}
	return s.withProfile(name, func(profile *instanceProfile) (any, *apiError) {
		tags, rest := page(profile.tags.sorted(), func(t tag) string { return strings.ToLower(t.key) }, after, maxItems)
		out := listTagsResult{truncation: rest}
		if list := tagsXML(tags); list != nil {
			out.Tags = *list
		}
		return out, nil
	})
}
