package iampolicy_test

import (
	"testing"
)

func TestConditionsHoldAsIAMsDo(t *testing.T) {
	const key = "aws:RequestTag/team"
	tests := []struct {
		name     string
		operator string
		values   string   // the JSON of the key's values
		context  []string // alternating keys and values
		want     bool
	}{
		{"StringEquals holds for its value", "StringEquals", `"web"`, []string{key, "web"}, true},
		{"StringEquals takes any of its values", "StringEquals", `["db", "web"]`, []string{key, "web"}, true},
		{"StringEquals compares values with case", "StringEquals", `"web"`, []string{key, "Web"}, false},
		{"StringEquals needs the key", "StringEquals", `"web"`, nil, false},
		{"condition key names match without regard to case", "StringEquals", `"web"`, []string{"AWS:requestTag/TEAM", "web"}, true},
		{"StringEqualsIgnoreCase ignores the case of values", "StringEqualsIgnoreCase", `"web"`, []string{key, "WEB"}, true},
		{"StringNotEquals fails for its value", "StringNotEquals", `"web"`, []string{key, "web"}, false},
		{"StringNotEquals holds for another value", "StringNotEquals", `"web"`, []string{key, "db"}, true},
		{"StringNotEquals holds for an absent key, as negated operators do", "StringNotEquals", `"web"`, nil, true},
		{"StringLike * holds for any value", "StringLike", `"*"`, []string{key, "anything"}, true},
		{"StringLike * holds for an empty value", "StringLike", `"*"`, []string{key, ""}, true},
		{"StringLike * still needs the key", "StringLike", `"*"`, nil, false},
		{"StringLike matches a prefix", "StringLike", `"web-*"`, []string{key, "web-1"}, true},
		{"StringNotLike fails for a match", "StringNotLike", `"web-*"`, []string{key, "web-1"}, false},
		{"StringEqualsIfExists holds for an absent key", "StringEqualsIfExists", `"web"`, nil, true},
		{"StringEqualsIfExists checks a present key", "StringEqualsIfExists", `"web"`, []string{key, "db"}, false},
		{"Null true holds for an absent key", "Null", `"true"`, nil, true},
		{"Null true fails for a present key, even empty", "Null", `"true"`, []string{key, ""}, false},
		{"Null false holds for a present key", "Null", `"false"`, []string{key, "web"}, true},
		{"Null false fails for an absent key", "Null", `"false"`, nil, false},
		{"ArnLike matches part by part", "ArnLike", `"arn:aws:iam::*:role/Nodewright*"`, []string{key, "arn:aws:iam::123456789012:role/NodewrightNodeRole-lab"}, true},
		{"ArnLike's wildcards do not cross colons", "ArnLike", `"arn:aws:iam:*:role/*"`, []string{key, "arn:aws:iam::123456789012:role/x"}, false},
		{"a single-valued operator holds if any of several values matches", "StringEquals", `"web"`, []string{key, "db", key, "web"}, true},
		{"a negated single-valued operator fails if any value matches", "StringNotEquals", `"web"`, []string{key, "db", key, "web"}, false},
		{"ForAllValues holds when every value is listed", "ForAllValues:StringEquals", `["a", "b"]`, []string{key, "a", key, "b"}, true},
		{"ForAllValues fails when one value is not listed", "ForAllValues:StringEquals", `["a", "b"]`, []string{key, "a", key, "c"}, false},
		{"ForAllValues holds for an absent key", "ForAllValues:StringEquals", `["a"]`, nil, true},
		{"ForAnyValue holds when one value is listed", "ForAnyValue:StringEquals", `["a"]`, []string{key, "c", key, "a"}, true},
		{"ForAnyValue fails for an absent key", "ForAnyValue:StringEquals", `["a"]`, nil, false},
		{"ForAllValues with a negated operator needs every value unlisted", "ForAllValues:StringNotLike", `["karpenter.*"]`, []string{key, "a", key, "karpenter.sh/nodepool"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := policyOf(t, `{"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*", "Condition": {"`+tc.operator+`": {"`+key+`": `+tc.values+`}}}`)
			got, reason := p.Allowed(request("ec2:CreateTags", "*", tc.context...))
			if got != tc.want {
				t.Errorf("%s %s %s with context %v: holds %v (%s), want %v", tc.operator, key, tc.values, tc.context, got, reason, tc.want)
			}
		})
	}
}

// Every condition of a statement must hold: keys within an operator and operators alike.
func TestEveryConditionOfAStatementMustHold(t *testing.T) {
	p := policyOf(t, `{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*", "Condition": {
		"StringEquals": {"aws:RequestTag/kubernetes.io/cluster/lab": "owned", "aws:RequestTag/eks:eks-cluster-name": "lab"},
		"Null": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "true"}}}`)
	tests := []struct {
		name    string
		context []string
		want    bool
	}{
		{"all hold", []string{"aws:RequestTag/kubernetes.io/cluster/lab", "owned", "aws:RequestTag/eks:eks-cluster-name", "lab"}, true},
		{"one key of an operator fails", []string{"aws:RequestTag/kubernetes.io/cluster/lab", "owned"}, false},
		{"another operator fails", []string{"aws:RequestTag/kubernetes.io/cluster/lab", "owned", "aws:RequestTag/eks:eks-cluster-name", "lab",
			"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass", "default"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, reason := p.Allowed(request("ec2:RunInstances", "*", tc.context...)); got != tc.want {
				t.Errorf("allowed %v (%s), want %v", got, reason, tc.want)
			}
		})
	}
}
