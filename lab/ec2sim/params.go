package ec2sim

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// params reads an EC2 Query request, whose lists arrive flattened as "Prefix.N.Field" with N from 1.
type params url.Values

func (p params) str(key string) string { return url.Values(p).Get(key) }

// members returns "prefix.N" for every N present, in numeric order, so callers read fields of the
// Nth list member as members(prefix)[i] + ".Field".
func (p params) members(prefix string) []string {
	seen := map[int]bool{}
	prefix += "." // once: a CreateFleet of 60 overrides asks this of its hundreds of keys per override
	for key := range p {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		index, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(index); err == nil {
			seen[n] = true
		}
	}
	var out []string
	for _, n := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, prefix+strconv.Itoa(n))
	}
	return out
}

// strings returns the values of a flattened scalar list such as InstanceId.1, InstanceId.2.
func (p params) strings(prefix string) []string {
	var out []string
	for _, m := range p.members(prefix) {
		if v := p.str(m); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// integer reads an optional integer; present is false when the key is absent.
func (p params) integer(key string) (n int, present bool, err *apiError) {
	raw := p.str(key)
	if raw == "" {
		return 0, false, nil
	}
	n, convErr := strconv.Atoi(raw)
	if convErr != nil {
		return 0, true, invalidParameterValue("%s: %q is not an integer", key, raw)
	}
	return n, true, nil
}

// fingerprint canonicalises the request minus the given keys, to tell whether a repeated client
// token comes with the same parameters.
func (p params) fingerprint(ignore ...string) string {
	var b strings.Builder
	for _, key := range slices.Sorted(maps.Keys(p)) {
		if slices.Contains(ignore, key) {
			continue
		}
		for _, v := range p[key] {
			b.WriteString(url.QueryEscape(key) + "=" + url.QueryEscape(v) + "&")
		}
	}
	return b.String()
}

// boolean reads an optional true/false; nil when the key is absent.
func (p params) boolean(key string) (*bool, *apiError) {
	switch raw := p.str(key); raw {
	case "":
		return nil, nil
	case "true", "false":
		v := raw == "true"
		return &v, nil
	default:
		return nil, invalidParameterValue("Value (%s) for parameter %s is invalid. Expected: 'true' or 'false'.", raw, key)
	}
}

// tags reads the Tag.N.Key / Tag.N.Value pairs under prefix, such as TagSpecification.1.
func (p params) tags(prefix string) map[string]string {
	tags := map[string]string{}
	for _, tag := range p.members(prefix + ".Tag") {
		tags[p.str(tag+".Key")] = p.str(tag + ".Value")
	}
	return tags
}
