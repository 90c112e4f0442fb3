package iampolicy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/iampolicy"
)

func TestSubstituteFillsPlaceholdersAsFnSubDoes(t *testing.T) {
	vars := map[string]string{"ClusterName": "lab", "AWS::Region": "us-east-1"}
	tests := []struct {
		name, doc, want string
		missing         string // a name the error must give; "" when none is missing
	}{
		{"a placeholder becomes its value", `arn:aws:ec2:${AWS::Region}:*:instance/*`, `arn:aws:ec2:us-east-1:*:instance/*`, ""},
		{"keys are filled as values are", `{"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"}`, `{"aws:ResourceTag/kubernetes.io/cluster/lab": "owned"}`, ""},
		{"every occurrence is filled", `${ClusterName}-${ClusterName}`, `lab-lab`, ""},
		{"${!Name} is the literal ${Name}", `${!aws:username} in ${AWS::Region}`, `${aws:username} in us-east-1`, ""},
		{"an unclosed ${ is left as text", `cost: ${ClusterName`, `cost: ${ClusterName`, ""},
		{"a placeholder with no value is an error", `${ClusterName} ${AWS::AccountId}`, "", "AWS::AccountId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := iampolicy.Substitute(tc.doc, vars)
			if tc.missing != "" {
				if err == nil || !strings.Contains(err.Error(), tc.missing) {
					t.Fatalf("Substitute(%q) = %q, %v; want an error naming %s", tc.doc, got, err, tc.missing)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Substitute(%q) = %q, %v; want %q", tc.doc, got, err, tc.want)
			}
		})
	}
}

func TestPlaceholdersListsEachNameOnce(t *testing.T) {
	got := iampolicy.Placeholders(`${ClusterName} ${AWS::Region} ${ClusterName} ${!Literal} ${NodeRoleName}`)
	if want := []string{"AWS::Region", "ClusterName", "NodeRoleName"}; !slices.Equal(got, want) {
		t.Errorf("Placeholders = %v, want %v", got, want)
	}
}
