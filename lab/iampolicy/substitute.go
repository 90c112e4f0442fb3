package iampolicy

import (
	"fmt"
	"slices"
	"strings"
)

// Substitute does what CloudFormation's Fn::Sub does to a policy written as one string:
// ${Name} becomes vars[Name] wherever it stands, keys included, and ${!Name} the literal
// ${Name}. A placeholder with no value is an error naming every such placeholder, so that no
// policy is evaluated with a ${...} left in it.
func Substitute(doc string, vars map[string]string) (string, error) {
	var out strings.Builder
	var missing []string
	rest := doc
	for {
		before, name, after, found := nextPlaceholder(rest)
		out.WriteString(before)
		if !found {
			break
		}
		switch literal, isLiteral := strings.CutPrefix(name, "!"); {
		case isLiteral:
			out.WriteString("${" + literal + "}")
		default:
			v, ok := vars[name]
			if !ok {
				missing = append(missing, name)
			}
			out.WriteString(v)
		}
		rest = after
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("substitute: no value for %s", strings.Join(slices.Compact(missing), ", "))
	}
	return out.String(), nil
}

// Placeholders lists the names doc's placeholders stand for, each once, in order; the
// literals ${!Name} are not placeholders.
func Placeholders(doc string) []string {
	var names []string
	rest := doc
	for {
		_, name, after, found := nextPlaceholder(rest)
		if !found {
			break
		}
		if !strings.HasPrefix(name, "!") {
			names = append(names, name)
		}
		rest = after
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// nextPlaceholder splits s around its first ${...}; found is false when it has none (an
// opening ${ with no closing brace is left as text).
func nextPlaceholder(s string) (before, name, after string, found bool) {
	start := strings.Index(s, "${")
	if start < 0 {
		return s, "", "", false
	}
	end := strings.IndexByte(s[start:], '}')
	if end < 0 {
		return s, "", "", false
	}
	return s[:start], s[start+2 : start+end], s[start+end+1:], true
}
