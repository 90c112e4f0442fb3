package iamsim

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Tag constraints from IAM's API model and quotas.
const (
	maxTags           = 50
	maxTagKeyLength   = 128
	maxTagValueLength = 256
)

var (
	tagKeyPattern   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValuePattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

type tag struct{ key, value string }

// tagSet holds tags by lower-cased key: IAM tag keys ignore case, so tagging "Team" after "team"
// replaces it.
type tagSet map[string]tag

func (t tagSet) merge(tags []tag) {
	for _, tg := range tags {
		t[strings.ToLower(tg.key)] = tg
	}
}

// sorted lists the tags by key, so responses and pages do not depend on map order.
func (t tagSet) sorted() []tag {
	var out []tag
	for _, key := range slices.Sorted(maps.Keys(t)) {
		out = append(out, t[key])
	}
	return out
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func tagsXML(tags []tag) *members[tagXML] {
	if len(tags) == 0 {
		return nil
	}
	out := &members[tagXML]{}
	for _, t := range tags {
		out.Member = append(out.Member, tagXML{Key: t.key, Value: t.value})
	}
	return out
}

// readTags reads Tags.member.N.Key and .Value and refuses what IAM refuses in one request.
func readTags(p params) ([]tag, *apiError) {
	var out []tag
	seen := map[string]bool{}
	for i, m := range p.Members("Tags.member") {
		field := fmt.Sprintf("tags.%d.member", i+1)
		key, ok := p.Lookup(m + ".Key")
		if !ok {
			return nil, missingValue(field + ".key")
		}
		value, ok := p.Lookup(m + ".Value")
		if !ok {
			return nil, missingValue(field + ".value")
		}
		if err := checkTag(field, key, value); err != nil {
			return nil, err
		}
		if seen[strings.ToLower(key)] {
			return nil, invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[strings.ToLower(key)] = true
		out = append(out, tag{key: key, value: value})
	}
	if len(out) > maxTags {
		return nil, validationError("tags", fmt.Sprintf("%d tags", len(out)), fmt.Sprintf("Member must have length less than or equal to %d", maxTags))
	}
	return out, nil
}

func checkTag(field, key, value string) *apiError {
	if err := checkLength(field+".key", key, 1, maxTagKeyLength); err != nil {
		return err
	}
	if !tagKeyPattern.MatchString(key) {
		return validationError(field+".key", key, `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
	}
	if err := checkLength(field+".value", value, 0, maxTagValueLength); err != nil {
		return err
	}
	if !tagValuePattern.MatchString(value) {
		return validationError(field+".value", value, `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
	}
	return nil
}

// readTagKeys reads TagKeys.member.N for an untag request.
func readTagKeys(p params) ([]string, *apiError) {
	var out []string
	for i, m := range p.Members("TagKeys.member") {
		key := p.Get(m)
		field := fmt.Sprintf("tagKeys.%d.member", i+1)
		if err := checkLength(field, key, 1, maxTagKeyLength); err != nil {
			return nil, err
		}
		if !tagKeyPattern.MatchString(key) {
			return nil, validationError(field, key, `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
		out = append(out, key)
	}
	if len(out) == 0 {
		return nil, missingValue("tagKeys")
	}
	if len(out) > maxTags {
		return nil, validationError("tagKeys", fmt.Sprintf("%d keys", len(out)), fmt.Sprintf("Member must have length less than or equal to %d", maxTags))
	}
	return out, nil
}
