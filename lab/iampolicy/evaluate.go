package iampolicy

import (
	"fmt"
	"slices"
	"strings"
)

// Request is one authorisation IAM makes: an action on a resource, with the request context.
type Request struct {
	Action   string              // service:action, such as ec2:CreateFleet
	Resource string              // an ARN, or "*" for an action that names no resource
	Context  map[string][]string // condition key → its values; an absent key is not present
}

// Decision is IAM's answer to a Request, with what a message needs to say why.
type Decision struct {
	Allowed bool
	// ExplicitDeny is set when a Deny statement applied; it wins over any Allow.
	ExplicitDeny bool
	// Statement names the statement that decided (its Sid, or #N by its place): the Deny that
	// applied, or else the first Allow that did. It is empty for an implicit deny.
	Statement string
	// Unmet explains an implicit deny: each Allow statement whose action and resource match
	// the request, with the first of its conditions that does not hold.
	Unmet []Unmet
}

// Unmet is an Allow statement that matched a request's action and resource but not its
// conditions.
type Unmet struct {
	Statement string
	Condition string   // the first condition that fails, as the policy writes it
	Got       []string // the request's values for that key; nil when it has none
}

// Evaluate decides a request as IAM does for an identity-based policy alone: an explicit Deny
// wins, else an Allow that applies allows, else the request is implicitly denied.
func (p *Policy) Evaluate(r Request) Decision {
	context := lowerKeys(r.Context)
	var d Decision
	for i, s := range p.Statement {
		if !s.MatchesAction(r.Action) || !s.matchesResource(r.Resource) {
			continue
		}
		failed, ok := s.firstFailing(context)
		name := statementName(s.Sid, i)
		switch {
		case ok && s.Effect == Deny:
			return Decision{ExplicitDeny: true, Statement: name}
		case ok && !d.Allowed:
			d = Decision{Allowed: true, Statement: name}
		case !ok && s.Effect == Allow:
			d.Unmet = append(d.Unmet, Unmet{Statement: name, Condition: failed.String(), Got: slices.Clone(context[failed.lookup])})
		}
	}
	if d.Allowed {
		d.Unmet = nil
	}
	return d
}

// Allowed is Evaluate's verdict and its reason in words.
func (p *Policy) Allowed(r Request) (bool, string) {
	d := p.Evaluate(r)
	return d.Allowed, d.Reason()
}

// Reason says in words why the decision went as it did.
func (d Decision) Reason() string {
	switch {
	case d.Allowed:
		return "allowed by statement " + d.Statement
	case d.ExplicitDeny:
		return "explicitly denied by statement " + d.Statement
	case len(d.Unmet) == 0:
		return "no statement allows the action on the resource"
	}
	var parts []string
	for _, u := range d.Unmet {
		got := "the request has no such key"
		if u.Got != nil {
			got = fmt.Sprintf("the request has %v", u.Got)
		}
		parts = append(parts, fmt.Sprintf("statement %s needs %s (%s)", u.Statement, u.Condition, got))
	}
	return "no statement allows it: " + strings.Join(parts, "; ")
}

// MatchesAction reports whether the statement's Action (or NotAction) covers the action,
// whatever its effect, resources and conditions: for callers that inspect which statements
// speak of an action.
func (s Statement) MatchesAction(action string) bool {
	if len(s.NotAction) > 0 {
		return !slices.ContainsFunc(s.NotAction, func(p string) bool { return matchAction(p, action) })
	}
	return slices.ContainsFunc(s.Action, func(p string) bool { return matchAction(p, action) })
}

func (s Statement) matchesResource(resource string) bool {
	if len(s.NotResource) > 0 {
		return !slices.ContainsFunc(s.NotResource, func(p string) bool { return matchResource(p, resource) })
	}
	return slices.ContainsFunc(s.Resource, func(p string) bool { return matchResource(p, resource) })
}

// firstFailing returns the first condition that does not hold, or ok when all hold.
func (s Statement) firstFailing(context map[string][]string) (failed condition, ok bool) {
	for _, c := range s.conditions {
		if !c.holds(context) {
			return c, false
		}
	}
	return condition{}, true
}

// lowerKeys lower-cases the context's keys, since IAM matches key names without regard to
// case; values of keys that differ only in case are pooled.
func lowerKeys(context map[string][]string) map[string][]string {
	out := make(map[string][]string, len(context))
	for k, v := range context {
		lk := strings.ToLower(k)
		out[lk] = append(out[lk], v...)
	}
	return out
}
