package ec2sim

// filterField extracts the values a Filter.N.Name is compared against.
type filterField[T any] func(T) []string

// filter is one Filter.N: it matches when any value of the field matches any pattern.
type filter[T any] struct {
	field    filterField[T]
	patterns []string
}

// filters are ANDed, as in EC2.
type filters[T any] []filter[T]

// parseFilters reads Filter.N.Name / Filter.N.Value.M; fieldOf knows the names an action accepts.
func parseFilters[T any](p params, fieldOf func(name string) (filterField[T], bool)) (filters[T], *apiError) {
	var out filters[T]
	for _, m := range p.members("Filter") {
		name := p.str(m + ".Name")
		field, ok := fieldOf(name)
		if !ok {
			return nil, invalidParameterValue("The filter '%s' is invalid", name)
		}
		patterns := p.strings(m + ".Value")
		if len(patterns) == 0 {
			return nil, invalidParameterValue("The filter '%s' has no values", name)
		}
		out = append(out, filter[T]{field: field, patterns: patterns})
	}
	return out, nil
}

func (fs filters[T]) match(item T) bool {
	for _, f := range fs {
		if !f.match(item) {
			return false
		}
	}
	return true
}

func (f filter[T]) match(item T) bool {
	for _, v := range f.field(item) {
		for _, pattern := range f.patterns {
			if matchWildcard(pattern, v) {
				return true
			}
		}
	}
	return false
}

// matchWildcard implements EC2 filter values: * for any run, ? for one character, \ to escape.
func matchWildcard(pattern, s string) bool {
	p, v := []rune(pattern), []rune(s)
	pi, vi := 0, 0
	starP, starV := -1, 0 // where the last * was, and how much of s it has eaten
	for vi < len(v) {
		switch {
		case pi < len(p) && p[pi] == '*':
			starP, starV = pi, vi
			pi++
		case pi < len(p) && (p[pi] == '?' || literalAt(p, pi) == v[vi]):
			pi += literalWidth(p, pi)
			vi++
		case starP >= 0:
			starV++
			pi, vi = starP+1, starV
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// literalAt reads the character at p[i], honouring a backslash escape.
func literalAt(p []rune, i int) rune {
	if p[i] == '\\' && i+1 < len(p) {
		return p[i+1]
	}
	return p[i]
}

func literalWidth(p []rune, i int) int {
	if p[i] == '\\' && i+1 < len(p) {
		return 2
	}
	return 1
}
