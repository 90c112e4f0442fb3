package v1

import (
	"fmt"
	"regexp"
	"strconv"
)

// AnnotationMaxHourlyCost on a NodePool caps, in dollars per hour, the summed price of the
// pool's nodes: running, in flight and planned. Karpenter has no such limit; spec.limits
// stays Karpenter's schema, so the cap is an annotation.
const AnnotationMaxHourlyCost = "nodewright.io/max-hourly-cost"

// hourlyCostSyntax is a plain decimal: no sign, exponent or currency symbol, so "12.50" is
// the only way to write twelve and a half dollars.
var hourlyCostSyntax = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// ParseHourlyCost reads a dollars-per-hour figure such as "12.50".
func ParseHourlyCost(s string) (float64, error) {
	if !hourlyCostSyntax.MatchString(s) {
		return 0, fmt.Errorf("%q is not a dollars-per-hour figure: write a plain decimal such as \"12.50\"", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a dollars-per-hour figure: %w", s, err)
	}
	return v, nil
}

// MaxHourlyCost is the pool's nodewright.io/max-hourly-cost: set is false when the pool has
// none, and err says why a written one cannot be read (such a pool launches nothing).
func (p *NodePool) MaxHourlyCost() (limit float64, set bool, err error) {
	s, ok := p.Annotations[AnnotationMaxHourlyCost]
	if !ok {
		return 0, false, nil
	}
	limit, err = ParseHourlyCost(s)
	if err != nil {
		return 0, true, fmt.Errorf("annotation %s: %w", AnnotationMaxHourlyCost, err)
	}
	return limit, true, nil
}
