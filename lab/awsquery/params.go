package awsquery

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Params are a Query request's parameters.
type Params url.Values

// Get is the parameter's first value, empty when it is absent.
func (p Params) Get(key string) string { return url.Values(p).Get(key) }

// Lookup reads a parameter that may be absent, which is not the same as empty.
func (p Params) Lookup(key string) (string, bool) {
	v, ok := p[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// Members returns "prefix.N" for every N from 1 that some key starts with, in numeric order, so
// the fields of a list's Nth member are read as Members(prefix)[i] + ".Field". IAM's lists carry
// a .member step: pass "Tags.member" to get "Tags.member.N".
func (p Params) Members(prefix string) []string {
	seen := map[int]bool{}
	for key := range p {
		rest, ok := strings.CutPrefix(key, prefix+".")
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
		out = append(out, fmt.Sprintf("%s.%d", prefix, n))
	}
	return out
}
