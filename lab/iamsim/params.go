package iamsim

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// params reads a Query request; lists arrive flattened as "Prefix.member.N[.Field]", N from 1.
type params url.Values

func (p params) str(key string) string { return url.Values(p).Get(key) }

// optional reads a parameter that may be absent, which is not the same as empty.
func (p params) optional(key string) (string, bool) {
	v, ok := p[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// required reads a parameter IAM needs; field is its name in IAM's validation messages.
func (p params) required(key, field string) (string, *apiError) {
	v, ok := p.optional(key)
	if !ok {
		return "", missingValue(field)
	}
	return v, nil
}

// members returns "prefix.member.N" for every N present, in numeric order.
func (p params) members(prefix string) []string {
	seen := map[int]bool{}
	for key := range p {
		rest, ok := strings.CutPrefix(key, prefix+".member.")
		if !ok {
			continue
		}
		index, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(index); err == nil && n > 0 {
			seen[n] = true
		}
	}
	var out []string
	for _, n := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, fmt.Sprintf("%s.member.%d", prefix, n))
	}
	return out
}
