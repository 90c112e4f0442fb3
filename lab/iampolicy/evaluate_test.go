package iampolicy_test

import (
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/iampolicy"
)

const (
	instanceARN = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"
	volumeARN   = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0"
)

func TestEvaluateMatchesActionsAndResourcesAsIAMDoes(t *testing.T) {
	tests := []struct {
		name      string
		statement string
		request   iampolicy.Request
		want      bool
	}{
		{"an action matches without regard to case",
			`{"Effect": "Allow", "Action": "EC2:terminateinstances", "Resource": "*"}`, request("ec2:TerminateInstances", instanceARN), true},
		{"a wildcard action covers its family",
			`{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}`, request("ec2:DescribeInstances", "*"), true},
		{"a wildcard action covers nothing else",
			`{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}`, request("ec2:TerminateInstances", instanceARN), false},
		{"? stands for exactly one character",
			`{"Effect": "Allow", "Action": "ec2:Describe?mages", "Resource": "*"}`, request("ec2:DescribeImages", "*"), true},
		{"a resource pattern matches its kind",
			`{"Effect": "Allow", "Action": "ec2:*", "Resource": "arn:aws:ec2:*:*:instance/*"}`, request("ec2:TerminateInstances", instanceARN), true},
		{"a resource pattern does not match another kind",
			`{"Effect": "Allow", "Action": "ec2:*", "Resource": "arn:aws:ec2:*:*:instance/*"}`, request("ec2:DeleteVolume", volumeARN), false},
		{"a resource is case-sensitive",
			`{"Effect": "Allow", "Action": "ec2:*", "Resource": "arn:aws:ec2:*:*:Instance/*"}`, request("ec2:TerminateInstances", instanceARN), false},
		{"an empty account part matches only an empty account",
			`{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:us-east-1::image/*"}`,
			request("ec2:RunInstances", "arn:aws:ec2:us-east-1:123456789012:image/ami-1"), false},
		{"an action that names no resource matches only Resource *",
			`{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "arn:aws:ec2:*:*:instance/*"}`, request("ec2:DescribeInstances", "*"), false},
		{"NotAction allows every other action",
			`{"Effect": "Allow", "NotAction": "ec2:TerminateInstances", "Resource": "*"}`, request("ec2:DescribeInstances", "*"), true},
		{"NotAction leaves out the actions it names",
			`{"Effect": "Allow", "NotAction": "ec2:Terminate*", "Resource": "*"}`, request("ec2:TerminateInstances", instanceARN), false},
		{"NotResource allows every other resource",
			`{"Effect": "Allow", "Action": "ec2:*", "NotResource": "arn:aws:ec2:*:*:volume/*"}`, request("ec2:TerminateInstances", instanceARN), true},
		{"NotResource leaves out the resources it names",
			`{"Effect": "Allow", "Action": "ec2:*", "NotResource": "arn:aws:ec2:*:*:volume/*"}`, request("ec2:DeleteVolume", volumeARN), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := policyOf(t, tc.statement).Allowed(tc.request)
			if got != tc.want {
				t.Errorf("%s on %s: allowed %v (%s), want %v", tc.request.Action, tc.request.Resource, got, reason, tc.want)
			}
		})
	}
}

func TestEvaluateLetsAnExplicitDenyWin(t *testing.T) {
	allow := `{"Sid": "AllowAll", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"}`
	deny := `{"Sid": "KeepKarpentersOwn", "Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*",
		"Condition": {"StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}}`
	tests := []struct {
		name       string
		statements []string
		request    iampolicy.Request
		want       iampolicy.Decision
	}{
		{"a deny that applies wins over an allow before it", []string{allow, deny},
			request("ec2:TerminateInstances", instanceARN, "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass", "default"),
			iampolicy.Decision{ExplicitDeny: true, Statement: "KeepKarpentersOwn"}},
		{"a deny that applies wins over an allow after it", []string{deny, allow},
			request("ec2:TerminateInstances", instanceARN, "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass", "default"),
			iampolicy.Decision{ExplicitDeny: true, Statement: "KeepKarpentersOwn"}},
		{"a deny whose condition fails leaves the allow", []string{allow, deny},
			request("ec2:TerminateInstances", instanceARN),
			iampolicy.Decision{Allowed: true, Statement: "AllowAll"}},
		{"a statement with no Sid is named by its place", []string{`{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}`},
			request("ec2:DescribeInstances", "*"),
			iampolicy.Decision{Allowed: true, Statement: "#1"}},
		{"nothing that applies is an implicit deny", []string{deny},
			request("ec2:DescribeInstances", "*"),
			iampolicy.Decision{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := policyOf(t, tc.statements...).Evaluate(tc.request)
			if got.Allowed != tc.want.Allowed || got.ExplicitDeny != tc.want.ExplicitDeny || got.Statement != tc.want.Statement {
				t.Errorf("decision %+v, want %+v", got, tc.want)
			}
		})
	}
}

// An implicit deny says which condition of which nearly matching statement failed, so that a
// refused call in the lab reads as a fix.
func TestDecisionReasonSaysWhatWasMissing(t *testing.T) {
	p := policyOf(t,
		`{"Sid": "Terminate", "Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "arn:aws:ec2:*:*:instance/*",
		  "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/lab": "owned"}, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}}`,
		`{"Sid": "Volumes", "Effect": "Allow", "Action": "ec2:DeleteVolume", "Resource": "arn:aws:ec2:*:*:volume/*"}`,
		`{"Sid": "NoKarpenter", "Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*", "Condition": {"Null": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "false"}}}`)
	tests := []struct {
		name    string
		request iampolicy.Request
		want    string
	}{
		{"an allowed request names its statement",
			request("ec2:TerminateInstances", instanceARN, "aws:ResourceTag/kubernetes.io/cluster/lab", "owned", "aws:ResourceTag/karpenter.sh/nodepool", "default"),
			"allowed by statement Terminate"},
		{"an explicit deny names its statement",
			request("ec2:TerminateInstances", instanceARN, "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass", "default"),
			"explicitly denied by statement NoKarpenter"},
		{"a missing key is named with the statement that needed it",
			request("ec2:TerminateInstances", instanceARN, "aws:ResourceTag/karpenter.sh/nodepool", "default"),
			"no statement allows it: statement Terminate needs StringEquals aws:ResourceTag/kubernetes.io/cluster/lab [owned] (the request has no such key)"},
		{"a wrong value is shown beside the one wanted",
			request("ec2:TerminateInstances", instanceARN, "aws:ResourceTag/kubernetes.io/cluster/lab", "shared"),
			"statement Terminate needs StringEquals aws:ResourceTag/kubernetes.io/cluster/lab [owned] (the request has [shared])"},
		{"with no statement near, it says so",
			request("ec2:RunInstances", instanceARN),
			"no statement allows the action on the resource"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Evaluate(tc.request).Reason(); !strings.Contains(got, tc.want) {
				t.Errorf("reason %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
