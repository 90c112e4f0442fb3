package iampolicy_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/iampolicy"
)

func TestParseReadsIAMsShorthands(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []iampolicy.Statement
	}{
		{
			name: "a lone statement object is a list of one",
			doc:  `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}}`,
			want: []iampolicy.Statement{{Effect: "Allow", Action: []string{"ec2:DescribeInstances"}, Resource: []string{"*"}}},
		},
		{
			name: "actions and resources may be lists",
			doc: `{"Version": "2012-10-17", "Statement": [{"Sid": "Two", "Effect": "Deny", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
				"Resource": ["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:volume/*"]}]}`,
			want: []iampolicy.Statement{{Sid: "Two", Effect: "Deny", Action: []string{"ec2:RunInstances", "ec2:CreateFleet"},
				Resource: []string{"arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:volume/*"}}},
		},
		{
			name: "NotAction and NotResource stand in for Action and Resource",
			doc:  `{"Statement": [{"Effect": "Deny", "NotAction": "ec2:Describe*", "NotResource": "arn:aws:ec2:*:*:instance/*"}]}`,
			want: []iampolicy.Statement{{Effect: "Deny", NotAction: []string{"ec2:Describe*"}, NotResource: []string{"arn:aws:ec2:*:*:instance/*"}}},
		},
		{
			name: "condition values may be one string, a list, or Null's boolean",
			doc: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*", "Condition": {
				"StringEquals": {"ec2:CreateAction": ["RunInstances", "CreateFleet"], "aws:RequestTag/team": "web"},
				"Null": {"aws:RequestTag/owner": true}}}]}`,
			want: []iampolicy.Statement{{Effect: "Allow", Action: []string{"ec2:CreateTags"}, Resource: []string{"*"}, Condition: map[string]map[string][]string{
				"StringEquals": {"ec2:CreateAction": {"RunInstances", "CreateFleet"}, "aws:RequestTag/team": {"web"}},
				"Null":         {"aws:RequestTag/owner": {"true"}},
			}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := iampolicy.Parse([]byte(tc.doc))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			// Compare through JSON: the exported fields are the document as written.
			got, _ := json.Marshal(p.Statement)
			want, _ := json.Marshal(tc.want)
			if string(got) != string(want) {
				t.Errorf("statements are\n %s\nwant\n %s", got, want)
			}
		})
	}
}

func TestParseRefusesWhatIAMRefusesOrItDoesNotModel(t *testing.T) {
	tests := []struct {
		name        string
		statement   string // one statement; the whole document when it starts with "doc:"
		unsupported bool   // an UnsupportedError rather than a plain syntax error
		mention     string // a word the error must contain
	}{
		{"an operator it does not model is never taken as holding", `{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}`, true, "Bool"},
		{"a numeric operator is not modelled", `{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}}`, true, "NumericLessThan"},
		{"a Principal belongs in resource policies", `{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}`, true, "Principal"},
		{"a policy variable is not modelled", `{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/${aws:username}"}`, true, "${aws:username}"},
		{"a placeholder left in a condition key is caught", `{"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"}}}`, true, "${ClusterName}"},
		{"Null takes no IfExists", `{"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"NullIfExists": {"aws:RequestTag/a": "true"}}}`, false, "Null"},
		{"Null takes only true or false", `{"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"Null": {"aws:RequestTag/a": "yes"}}}`, false, "yes"},
		{"a condition needs a value", `{"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestTag/a": []}}}`, false, "no value"},
		{"Effect is Allow or Deny, spelt so", `{"Effect": "allow", "Action": "ec2:*", "Resource": "*"}`, false, "Effect"},
		{"a statement has Action or NotAction", `{"Effect": "Allow", "Resource": "*"}`, false, "Action"},
		{"not both Action and NotAction", `{"Effect": "Allow", "Action": "ec2:*", "NotAction": "ec2:RunInstances", "Resource": "*"}`, false, "NotAction"},
		{"a statement has Resource or NotResource", `{"Effect": "Allow", "Action": "ec2:*"}`, false, "Resource"},
		{"an action names its service", `{"Effect": "Allow", "Action": "RunInstances", "Resource": "*"}`, false, "service:action"},
		{"a resource is * or an ARN", `{"Effect": "Allow", "Action": "ec2:*", "Resource": "instance/*"}`, false, "ARN"},
		{"a misspelt element is refused, not ignored", `{"Effect": "Allow", "Actions": "ec2:*", "Resource": "*"}`, false, "Actions"},
		{"an empty statement list allows nothing and is refused", `doc:{"Version": "2012-10-17", "Statement": []}`, false, "empty"},
		{"a policy needs a Statement", `doc:{"Version": "2012-10-17"}`, false, "Statement"},
		{"an unknown version is refused", `doc:{"Version": "2024-01-01", "Statement": {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}}`, false, "Version"},
		{"trailing text is refused", `doc:{"Statement": {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}} {}`, false, "trailing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, whole := strings.CutPrefix(tc.statement, "doc:")
			if !whole {
				doc = `{"Version": "2012-10-17", "Statement": [` + tc.statement + `]}`
			}
			_, err := iampolicy.Parse([]byte(doc))
			if err == nil {
				t.Fatalf("parsed %s, want an error", doc)
			}
			if got := iampolicy.IsUnsupported(err); got != tc.unsupported {
				t.Errorf("IsUnsupported(%v) = %v, want %v", err, got, tc.unsupported)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}

// Two parses of one document are equal, so that callers can compare statements.
func TestParseIsDeterministic(t *testing.T) {
	doc := []byte(`{"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
		"Condition": {"StringEquals": {"b": "1", "a": "2"}, "StringLike": {"c": "*"}, "Null": {"d": "true"}}}]}`)
	first, err := iampolicy.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := iampolicy.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("two parses of one document differ:\n%+v\n%+v", first, again)
		}
	}
}
