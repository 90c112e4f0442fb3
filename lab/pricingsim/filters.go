package pricingsim

import (
	"slices"
	"strings"

	"github.com/nodewright/nodewright/lab/awsjson"
)

// filterJSON is types.Filter on the wire.
type filterJSON struct {
	Field *string
	Type  string
	Value *string
}

// Filter types, as types.FilterType names them.
const (
	termMatch = "TERM_MATCH"
	equals    = "EQUALS"
	contains  = "CONTAINS"
	anyOf     = "ANY_OF"
	noneOf    = "NONE_OF"
)

// check refuses a filter GetProducts would refuse; i is its place in Filters.
func (f filterJSON) check(i int) *awsjson.Error {
	switch {
	case f.Field == nil || *f.Field == "":
		return invalidParameter("filters[%d].field cannot be null or empty", i)
	case f.Value == nil:
		return invalidParameter("filters[%d].value cannot be null", i)
	case !slices.Contains([]string{termMatch, equals, contains, anyOf, noneOf}, f.Type):
		return invalidParameter("filters[%d].type %q is not one of %s, %s, %s, %s, %s", i, f.Type, termMatch, equals, contains, anyOf, noneOf)
	}
	return nil
}

// matches reports whether a record whose fields field reads passes the filter. A field the
// record does not have matches nothing, NONE_OF included: AWS returns no product for a field
// no product has. ANY_OF and NONE_OF take a comma-separated list.
func (f filterJSON) matches(field func(name string) (string, bool)) bool {
	v, ok := field(*f.Field)
	if !ok {
		return false
	}
	switch f.Type {
	case termMatch, equals:
		return v == *f.Value
	case contains:
		return strings.Contains(v, *f.Value)
	case anyOf:
		return slices.Contains(splitList(*f.Value), v)
	case noneOf:
		return !slices.Contains(splitList(*f.Value), v)
	}
	return false
}

func splitList(list string) []string {
	values := strings.Split(list, ",")
	for i := range values {
		values[i] = strings.TrimSpace(values[i])
	}
	return values
}

// matchesAll reports whether a record passes every filter.
func matchesAll(filters []filterJSON, field func(name string) (string, bool)) bool {
	for _, f := range filters {
		if !f.matches(field) {
			return false
		}
	}
	return true
}
