package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Policy is a parsed identity-based policy. Its exported fields are the document as written,
// lists always as lists, for callers that compare or measure policies; change a policy only by
// parsing a new one, since Evaluate reads what Parse compiled from them.
type Policy struct {
	Version   string      `json:"Version,omitempty"`
	ID        string      `json:"Id,omitempty"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy. Exactly one of Action and NotAction is set, and
// exactly one of Resource and NotResource.
type Statement struct {
	Sid         string   `json:"Sid,omitempty"`
	Effect      string   `json:"Effect"`
	Action      []string `json:"Action,omitempty"`
	NotAction   []string `json:"NotAction,omitempty"`
	Resource    []string `json:"Resource,omitempty"`
	NotResource []string `json:"NotResource,omitempty"`
	// Condition maps each operator to its keys and each key to the values any of which may
	// match, as the JSON has it.
	Condition map[string]map[string][]string `json:"Condition,omitempty"`

	conditions []condition // Condition compiled, in operator then key order
}

// Effects a statement may have.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// UnsupportedError is a part of a policy that this package does not model. Parse refuses it
// rather than guess, so a policy it cannot read never allows anything by accident.
type UnsupportedError struct{ What string }

func (e *UnsupportedError) Error() string { return e.What + " is not modelled by iampolicy" }

// IsUnsupported reports whether err is, or wraps, an UnsupportedError.
func IsUnsupported(err error) bool {
	var u *UnsupportedError
	return errors.As(err, &u)
}

// rawPolicy and rawStatement are the JSON before validation. Unknown fields are refused, and
// Principal is read only to say why it is refused.
type rawPolicy struct {
	Version   string
	ID        string `json:"Id"`
	Statement json.RawMessage
}

type rawStatement struct {
	Sid          string
	Effect       string
	Principal    json.RawMessage
	NotPrincipal json.RawMessage
	Action       stringList
	NotAction    stringList
	Resource     stringList
	NotResource  stringList
	Condition    map[string]map[string]stringList
}

// Parse reads a policy document. A syntax error, an element IAM would refuse and an element
// this package does not model (IsUnsupported) are all errors.
func Parse(doc []byte) (*Policy, error) {
	var raw rawPolicy
	if err := decodeStrict(doc, &raw); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	switch raw.Version {
	case "", "2012-10-17", "2008-10-17":
	default:
		return nil, fmt.Errorf("policy: Version %q is neither 2012-10-17 nor 2008-10-17", raw.Version)
	}
	statements, err := rawStatements(raw.Statement)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p := &Policy{Version: raw.Version, ID: raw.ID}
	for i, rs := range statements {
		s, err := parseStatement(rs)
		if err != nil {
			return nil, fmt.Errorf("policy: statement %s: %w", statementName(rs.Sid, i), err)
		}
		p.Statement = append(p.Statement, s)
	}
	return p, nil
}

// rawStatements reads Statement, which IAM takes as one object or a list of them.
func rawStatements(msg json.RawMessage) ([]rawStatement, error) {
	trimmed := bytes.TrimSpace(msg)
	switch {
	case len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")):
		return nil, errors.New("it has no Statement")
	case trimmed[0] == '{':
		var one rawStatement
		if err := decodeStrict(trimmed, &one); err != nil {
			return nil, fmt.Errorf("Statement: %w", err)
		}
		return []rawStatement{one}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(trimmed, &list); err != nil {
		return nil, fmt.Errorf("Statement is neither an object nor a list: %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("its Statement list is empty")
	}
	out := make([]rawStatement, len(list))
	for i, item := range list {
		if err := decodeStrict(item, &out[i]); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	return out, nil
}

func parseStatement(rs rawStatement) (Statement, error) {
	s := Statement{Sid: rs.Sid, Effect: rs.Effect, Action: rs.Action, NotAction: rs.NotAction, Resource: rs.Resource, NotResource: rs.NotResource}
	if s.Effect != Allow && s.Effect != Deny {
		return s, fmt.Errorf("statement Effect %q is neither Allow nor Deny", s.Effect)
	}
	if rs.Principal != nil || rs.NotPrincipal != nil {
		return s, &UnsupportedError{"a Principal (it belongs in resource-based policies, not identity-based ones)"}
	}
	if err := exactlyOne("Action", s.Action, "NotAction", s.NotAction); err != nil {
		return s, err
	}
	if err := exactlyOne("Resource", s.Resource, "NotResource", s.NotResource); err != nil {
		return s, err
	}
	for _, a := range slices.Concat(s.Action, s.NotAction) {
		if err := checkAction(a); err != nil {
			return s, err
		}
	}
	for _, r := range slices.Concat(s.Resource, s.NotResource) {
		if err := checkResource(r); err != nil {
			return s, err
		}
	}
	if len(rs.Condition) > 0 {
		s.Condition = map[string]map[string][]string{}
		for op, keys := range rs.Condition {
			s.Condition[op] = map[string][]string{}
			for key, values := range keys {
				s.Condition[op][key] = values
			}
		}
	}
	var err error
	s.conditions, err = compileConditions(s.Condition)
	return s, err
}

// exactlyOne refuses a statement with both of a pair of elements, or neither.
func exactlyOne(name string, list []string, notName string, notList []string) error {
	switch {
	case len(list) > 0 && len(notList) > 0:
		return fmt.Errorf("it has both %s and %s", name, notName)
	case len(list) == 0 && len(notList) == 0:
		return fmt.Errorf("it has neither %s nor %s (or an empty one)", name, notName)
	}
	return nil
}

// checkAction accepts "*" and service:action, either part possibly with wildcards.
func checkAction(a string) error {
	if err := checkNoVariable("action", a); err != nil {
		return err
	}
	if a == "*" {
		return nil
	}
	service, name, ok := strings.Cut(a, ":")
	if !ok || service == "" || name == "" || strings.Contains(name, ":") {
		return fmt.Errorf("action %q is not service:action", a)
	}
	return nil
}

// checkResource accepts "*" and ARNs.
func checkResource(r string) error {
	if err := checkNoVariable("resource", r); err != nil {
		return err
	}
	if r != "*" && !strings.HasPrefix(r, "arn:") {
		return fmt.Errorf("resource %q is neither * nor an ARN", r)
	}
	return nil
}

// checkNoVariable refuses IAM policy variables, and with them any placeholder Substitute was
// not given: either would otherwise be compared as literal text.
func checkNoVariable(what, s string) error {
	if strings.Contains(s, "${") {
		return &UnsupportedError{fmt.Sprintf("the policy variable in %s %q (or a placeholder left unsubstituted)", what, s)}
	}
	return nil
}

// statementName is how messages name a statement: its Sid, else its place in the policy.
func statementName(sid string, index int) string {
	if sid != "" {
		return sid
	}
	return fmt.Sprintf("#%d", index+1)
}

// decodeStrict decodes one JSON value, refusing fields it does not know and trailing data.
func decodeStrict(b []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// stringList is IAM's "one value or a list of them". Scalars that are not strings (Null's
// true, a number) are kept as their JSON text, as IAM compares them as strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return err
		}
		out := make(stringList, 0, len(items))
		for _, item := range items {
			v, err := scalar(item)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		*l = out
		return nil
	}
	v, err := scalar(trimmed)
	if err != nil {
		return err
	}
	*l = stringList{v}
	return nil
}

func scalar(b json.RawMessage) (string, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '"' {
		var s string
		err := json.Unmarshal(trimmed, &s)
		return s, err
	}
	var v any
	if err := json.Unmarshal(trimmed, &v); err != nil {
		return "", err
	}
	switch v.(type) {
	case bool, float64:
		return string(trimmed), nil
	}
	return "", fmt.Errorf("%s is not a string, a number or a boolean", trimmed)
}
