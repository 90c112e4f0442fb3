package iampolicy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// comparison is what an operator compares, before negation and qualifiers.
type comparison int

const (
	compareEquals comparison = iota
	compareEqualsIgnoreCase
	compareLike
	compareARN // ArnEquals and ArnLike, which IAM evaluates alike: colon by colon, with wildcards
	compareNull
)

// setQualifier is how an operator treats a key with several values in the request context.
type setQualifier int

const (
	// anyValue is the unqualified operator's reading: the key holds if any of its values
	// matches (for a negated operator, if none does).
	anyValue     setQualifier = iota
	forAllValues              // every value of the key matches; an absent key holds
	forAnyValue               // some value of the key matches; an absent key does not hold
)

// operator is a condition operator as parsed: Null, or a comparison with its negation and
// qualifiers, such as ForAllValues:StringNotLikeIfExists.
type operator struct {
	name     string // as the policy spells it, for messages
	compare  comparison
	negated  bool
	ifExists bool
	set      setQualifier
}

// parseOperator reads an operator name; one it does not model is an UnsupportedError.
func parseOperator(name string) (operator, error) {
	op := operator{name: name}
	rest := name
	if r, ok := strings.CutPrefix(rest, "ForAllValues:"); ok {
		op.set, rest = forAllValues, r
	} else if r, ok := strings.CutPrefix(rest, "ForAnyValue:"); ok {
		op.set, rest = forAnyValue, r
	}
	if r, ok := strings.CutSuffix(rest, "IfExists"); ok {
		op.ifExists, rest = true, r
	}
	switch rest {
	case "StringEquals":
		op.compare = compareEquals
	case "StringNotEquals":
		op.compare, op.negated = compareEquals, true
	case "StringEqualsIgnoreCase":
		op.compare = compareEqualsIgnoreCase
	case "StringNotEqualsIgnoreCase":
		op.compare, op.negated = compareEqualsIgnoreCase, true
	case "StringLike":
		op.compare = compareLike
	case "StringNotLike":
		op.compare, op.negated = compareLike, true
	case "ArnEquals", "ArnLike":
		op.compare = compareARN
	case "ArnNotEquals", "ArnNotLike":
		op.compare, op.negated = compareARN, true
	case "Null":
		if op.ifExists || op.set != anyValue {
			return op, fmt.Errorf("condition operator %s: Null takes no IfExists, ForAllValues or ForAnyValue", name)
		}
		op.compare = compareNull
	default:
		return op, &UnsupportedError{"condition operator " + name}
	}
	return op, nil
}

// condition is one key of one operator of a statement's Condition.
type condition struct {
	op     operator
	key    string // as the policy spells it, for messages
	lookup string // key lower-cased: IAM matches condition key names without regard to case
	values []string
}

// compileConditions turns a Condition block into conditions in operator, then key, order, so
// that evaluation and its explanations never depend on map order.
func compileConditions(block map[string]map[string][]string) ([]condition, error) {
	var out []condition
	for _, name := range slices.Sorted(maps.Keys(block)) {
		op, err := parseOperator(name)
		if err != nil {
			return nil, err
		}
		keys := block[name]
		if len(keys) == 0 {
			return nil, fmt.Errorf("condition operator %s names no key", name)
		}
		for _, key := range slices.Sorted(maps.Keys(keys)) {
			c := condition{op: op, key: key, lookup: strings.ToLower(key), values: keys[key]}
			if err := c.check(); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func (c condition) check() error {
	if c.key == "" {
		return fmt.Errorf("condition %s has an empty key", c.op.name)
	}
	if len(c.values) == 0 {
		return fmt.Errorf("condition %s %s has no value", c.op.name, c.key)
	}
	if err := checkNoVariable("condition key", c.key); err != nil {
		return err
	}
	for _, v := range c.values {
		if err := checkNoVariable("condition value", v); err != nil {
			return err
		}
		if c.op.compare == compareNull && v != "true" && v != "false" {
			return fmt.Errorf("condition Null %s: %q is neither true nor false", c.key, v)
		}
	}
	return nil
}

// holds evaluates the condition against a request context whose keys are lower-cased.
func (c condition) holds(context map[string][]string) bool {
	got := context[c.lookup]
	present := len(got) > 0
	if c.op.compare == compareNull {
		// Null true holds when the key is absent, Null false when it is present.
		return slices.ContainsFunc(c.values, func(v string) bool { return (v == "true") == !present })
	}
	if !present {
		switch {
		case c.op.ifExists || c.op.set == forAllValues:
			return true
		case c.op.set == forAnyValue:
			return false
		}
		// A negated operator holds for a key the request lacks, as in IAM.
		return c.op.negated
	}
	switch c.op.set {
	case forAllValues:
		return !slices.ContainsFunc(got, func(g string) bool { return !c.valueHolds(g) })
	case forAnyValue:
		return slices.ContainsFunc(got, c.valueHolds)
	}
	return slices.ContainsFunc(got, c.matchesAny) != c.op.negated
}

// valueHolds is the operator's verdict on one of the request's values.
func (c condition) valueHolds(got string) bool { return c.matchesAny(got) != c.op.negated }

// matchesAny compares one value of the request with the policy's values, before negation.
func (c condition) matchesAny(got string) bool {
	return slices.ContainsFunc(c.values, func(want string) bool {
		switch c.op.compare {
		case compareEquals:
			return want == got
		case compareEqualsIgnoreCase:
			return strings.EqualFold(want, got)
		case compareLike:
			return matchGlob(want, got)
		case compareARN:
			return matchARN(want, got)
		}
		return false
	})
}

// String is the condition as a message shows it: StringEquals ec2:CreateAction [CreateFleet].
func (c condition) String() string {
	return fmt.Sprintf("%s %s %v", c.op.name, c.key, c.values)
}
