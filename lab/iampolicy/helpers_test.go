package iampolicy_test

import (
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/iampolicy"
)

// policyOf parses a policy made of the given statements, each a JSON object.
func policyOf(t *testing.T, statements ...string) *iampolicy.Policy {
	t.Helper()
	doc := `{"Version": "2012-10-17", "Statement": [` + strings.Join(statements, ",") + `]}`
	p, err := iampolicy.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse policy %s: %v", doc, err)
	}
	return p
}

// request builds a Request; context alternates keys and values, a key repeated for each of
// its values.
func request(action, resource string, context ...string) iampolicy.Request {
	r := iampolicy.Request{Action: action, Resource: resource, Context: map[string][]string{}}
	for i := 0; i+1 < len(context); i += 2 {
		r.Context[context[i]] = append(r.Context[context[i]], context[i+1])
	}
	return r
}
