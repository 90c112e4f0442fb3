package iamsim_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/nodewright/nodewright/lab/iamsim"
)

func TestCreateInstanceProfileDescribesTheProfileAsIAMDoes(t *testing.T) {
	tests := []struct {
		name    string
		opts    []profileOption
		wantARN string
	}{
		{"at the default path", nil, "arn:aws:iam::111122223333:instance-profile/lab_node"},
		{"under a path", []profileOption{atPath("/karpenter/lab/")}, "arn:aws:iam::111122223333:instance-profile/karpenter/lab/lab_node"},
	}
	idPattern := regexp.MustCompile(`^AIPA[A-Z2-7]{17}$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, client := newLab(t)
			created := createProfile(t, client, "lab_node", append(tc.opts, taggedWith("karpenter.sh/managed-by", "lab"))...)
			got := getProfile(t, client, "lab_node")
			for _, p := range []struct {
				how string
				arn string
				id  string
			}{{"created", aws.ToString(created.Arn), aws.ToString(created.InstanceProfileId)}, {"read back", aws.ToString(got.Arn), aws.ToString(got.InstanceProfileId)}} {
				if p.arn != tc.wantARN || !idPattern.MatchString(p.id) {
					t.Errorf("%s profile has ARN %s and id %s, want %s and AIPA with 17 base32 characters", p.how, p.arn, p.id, tc.wantARN)
				}
			}
			if !got.CreateDate.Equal(createdAt) || len(got.Roles) != 0 || tagMap(got.Tags)["karpenter.sh/managed-by"] != "lab" {
				t.Errorf("profile read back created %v with roles %v and tags %v, want no roles and its tag", got.CreateDate, roleNames(got), tagMap(got.Tags))
			}
			held, ok := sim.InstanceProfile("LAB_NODE")
			want := iamsim.InstanceProfile{Name: "lab_node", ID: aws.ToString(got.InstanceProfileId), ARN: tc.wantARN, Path: aws.ToString(got.Path),
				Tags: map[string]string{"karpenter.sh/managed-by": "lab"}}
			if !ok || held.Name != want.Name || held.ID != want.ID || held.ARN != want.ARN || held.Path != want.Path ||
				len(held.Roles) != 0 || !maps.Equal(held.Tags, want.Tags) {
				t.Errorf("the sim holds %+v (found %v), want %+v", held, ok, want)
			}
		})
	}
}

func TestDeleteInstanceProfileRemovesIt(t *testing.T) {
	sim, client := newLab(t)
	createProfile(t, client, "gone")
	createProfile(t, client, "kept")
	if _, err := client.DeleteInstanceProfile(t.Context(), &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("GONE")}); err != nil {
		t.Fatalf("delete instance profile gone: %v", err)
	}
	_, err := client.GetInstanceProfile(t.Context(), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("gone")})
	expectRefusal(t, "get a deleted profile", err, iamsim.CodeNoSuchEntity)
	if got := sim.InstanceProfileNames(); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("after the delete the sim holds %v, want [kept]", got)
	}
}

func TestInstanceProfileActionsRefuseWhatIAMRefuses(t *testing.T) {
	createNamed := func(name string, opts ...profileOption) func(*iam.Client) error {
		return func(c *iam.Client) error {
			in := &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)}
			for _, opt := range opts {
				opt(in)
			}
			_, err := c.CreateInstanceProfile(t.Context(), in)
			return err
		}
	}
	tests := []struct {
		name string
		call func(*iam.Client) error
		want string
	}{
		{"a profile name taken in other case", createNamed("EXISTING"), iamsim.CodeEntityAlreadyExists},
		{"a profile name over 128 characters", createNamed(strings.Repeat("p", 129)), iamsim.CodeValidationError},
		{"an empty profile name", createNamed(""), iamsim.CodeValidationError},
		{"a profile name with a slash", createNamed("karpenter/node"), iamsim.CodeValidationError},
		{"a path that does not start with a slash", createNamed("p", atPath("karpenter/")), iamsim.CodeValidationError},
		{"a path with a space", createNamed("p", atPath("/my path/")), iamsim.CodeValidationError},
		{"a tag key with a comma", createNamed("p", taggedWith("a,b", "v")), iamsim.CodeValidationError},
		{"the same tag key twice in other case", createNamed("p", taggedWith("Team", "a"), taggedWith("team", "b")), iamsim.CodeInvalidInput},
		{"getting an unknown profile", func(c *iam.Client) error {
			_, err := c.GetInstanceProfile(t.Context(), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("nothing")})
			return err
		}, iamsim.CodeNoSuchEntity},
		{"deleting an unknown profile", func(c *iam.Client) error {
			_, err := c.DeleteInstanceProfile(t.Context(), &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("nothing")})
			return err
		}, iamsim.CodeNoSuchEntity},
		{"deleting a profile that still has its role", func(c *iam.Client) error {
			_, err := c.DeleteInstanceProfile(t.Context(), &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("with-role")})
			return err
		}, iamsim.CodeDeleteConflict},
	}
	_, client := newLab(t)
	createProfile(t, client, "existing")
	createProfile(t, client, "with-role")
	addRole(t, client, "with-role", nodeRole)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectRefusal(t, tc.name, tc.call(client), tc.want)
		})
	}
}
