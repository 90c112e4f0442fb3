package iamsim_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/nodewright/nodewright/lab/iamsim"
)

func TestARoleAddedToAProfileShowsInItUntilRemoved(t *testing.T) {
	sim, client := newLab(t)
	createProfile(t, client, "node")
	addRole(t, client, "node", strings.ToLower(nodeRole))

	got := getProfile(t, client, "node")
	if !slices.Equal(roleNames(got), []string{nodeRole}) || !strings.HasSuffix(aws.ToString(got.Roles[0].Arn), ":role/"+nodeRole) {
		t.Fatalf("profile node has roles %v, want [%s] with its ARN", roleNames(got), nodeRole)
	}
	if held, _ := sim.InstanceProfile("node"); !slices.Equal(held.Roles, []string{nodeRole}) {
		t.Errorf("the sim says profile node has roles %v, want [%s]", held.Roles, nodeRole)
	}

	if _, err := client.RemoveRoleFromInstanceProfile(t.Context(), &iam.RemoveRoleFromInstanceProfileInput{
		InstanceProfileName: aws.String("node"), RoleName: aws.String(nodeRole),
	}); err != nil {
		t.Fatalf("remove role %s from profile node: %v", nodeRole, err)
	}
	if got := getProfile(t, client, "node"); len(got.Roles) != 0 {
		t.Errorf("after removing its role profile node still has %v", roleNames(got))
	}
	if _, err := client.DeleteInstanceProfile(t.Context(), &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("node")}); err != nil {
		t.Errorf("delete profile node once its role is gone: %v", err)
	}
}

func TestRoleMembershipRefusesWhatIAMRefuses(t *testing.T) {
	add := func(profile, role string) func(*iam.Client) error {
		return func(c *iam.Client) error {
			_, err := c.AddRoleToInstanceProfile(t.Context(), &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(profile), RoleName: aws.String(role)})
			return err
		}
	}
	remove := func(profile, role string) func(*iam.Client) error {
		return func(c *iam.Client) error {
			_, err := c.RemoveRoleFromInstanceProfile(t.Context(), &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(profile), RoleName: aws.String(role)})
			return err
		}
	}
	tests := []struct {
		name        string
		call        func(*iam.Client) error
		want        string
		wantMessage string
	}{
		{"adding an unknown role", add("empty", "ghost"), iamsim.CodeNoSuchEntity, "The role with name ghost cannot be found."},
		{"adding to an unknown profile", add("ghost", nodeRole), iamsim.CodeNoSuchEntity, "Instance Profile ghost cannot be found."},
		{"adding a second role", add("full", "OtherRole"), iamsim.CodeLimitExceeded, "Cannot exceed quota for InstanceRolesPerInstanceProfile: 1"},
		{"adding the role it already has", add("full", nodeRole), iamsim.CodeLimitExceeded, "Cannot exceed quota for InstanceRolesPerInstanceProfile: 1"},
		{"adding a role with an invalid name", add("empty", "bad role"), iamsim.CodeValidationError, ""},
		{"removing a role the profile does not have", remove("empty", nodeRole), iamsim.CodeNoSuchEntity, ""},
		{"removing an unknown role", remove("full", "ghost"), iamsim.CodeNoSuchEntity, "The role with name ghost cannot be found."},
		{"removing from an unknown profile", remove("ghost", nodeRole), iamsim.CodeNoSuchEntity, "Instance Profile ghost cannot be found."},
	}
	_, client := newLab(t)
	if _, err := client.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String("OtherRole"), AssumeRolePolicyDocument: aws.String(trustEC2)}); err != nil {
		t.Fatalf("create role OtherRole: %v", err)
	}
	createProfile(t, client, "empty")
	createProfile(t, client, "full")
	addRole(t, client, "full", nodeRole)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(client)
			expectRefusal(t, tc.name, err, tc.want)
			if tc.wantMessage != "" && !strings.Contains(err.Error(), tc.wantMessage) {
				t.Errorf("%s: refused with %q, want the message %q", tc.name, err, tc.wantMessage)
			}
		})
	}
	if got := getProfile(t, client, "full"); !slices.Equal(roleNames(got), []string{nodeRole}) {
		t.Errorf("after the refusals profile full has roles %v, want only [%s]", roleNames(got), nodeRole)
	}
}
