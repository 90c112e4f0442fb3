package iamsim_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/nodewright/nodewright/lab/iamsim"
)

func TestCreateRoleDescribesTheRoleAsIAMDoes(t *testing.T) {
	_, client := newLab(t)
	out, err := client.CreateRole(t.Context(), &iam.CreateRoleInput{
		RoleName:                 aws.String("NodeRole"),
		Path:                     aws.String("/karpenter/"),
		AssumeRolePolicyDocument: aws.String(trustEC2),
		Tags:                     []types.Tag{{Key: aws.String("team"), Value: aws.String("nodes")}},
	})
	if err != nil {
		t.Fatalf("create role NodeRole: %v", err)
	}
	r := out.Role
	roleIDPattern := regexp.MustCompile(`^AROA[A-Z2-7]{17}$`)
	if got := aws.ToString(r.Arn); got != "arn:aws:iam::111122223333:role/karpenter/NodeRole" {
		t.Errorf("role ARN is %s, want its path in it", got)
	}
	if !roleIDPattern.MatchString(aws.ToString(r.RoleId)) {
		t.Errorf("role id %s is not AROA and 17 base32 characters", aws.ToString(r.RoleId))
	}
	if !r.CreateDate.Equal(createdAt) || aws.ToString(r.Path) != "/karpenter/" || tagMap(r.Tags)["team"] != "nodes" {
		t.Errorf("role came back created %v at path %s with tags %v", r.CreateDate, aws.ToString(r.Path), tagMap(r.Tags))
	}
	// IAM returns policy documents percent-encoded; decoding must give back what was sent.
	doc, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
	if err != nil || doc != trustEC2 || !strings.HasPrefix(aws.ToString(r.AssumeRolePolicyDocument), "%7B") {
		t.Errorf("trust policy came back as %q, want %q percent-encoded", aws.ToString(r.AssumeRolePolicyDocument), trustEC2)
	}
}

func TestGetRoleFindsRolesWhateverTheCase(t *testing.T) {
	tests := []struct{ name, ask string }{
		{"a role seeded through Options, by its name", nodeRole},
		{"the same role in other case", strings.ToUpper(nodeRole)},
	}
	_, client := newLab(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(tc.ask)})
			if err != nil {
				t.Fatalf("get role %s: %v", tc.ask, err)
			}
			if got := aws.ToString(out.Role.RoleName); got != nodeRole || aws.ToInt32(out.Role.MaxSessionDuration) != 3600 {
				t.Errorf("get role %s found %s with max session %d, want %s with IAM's default 3600",
					tc.ask, got, aws.ToInt32(out.Role.MaxSessionDuration), nodeRole)
			}
		})
	}
}

func TestRoleActionsRefuseWhatIAMRefuses(t *testing.T) {
	create := func(name, path, policy string) func(*iam.Client) error {
		return func(c *iam.Client) error {
			in := &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(policy)}
			if path != "" {
				in.Path = aws.String(path)
			}
			_, err := c.CreateRole(t.Context(), in)
			return err
		}
	}
	tests := []struct {
		name string
		call func(*iam.Client) error
		want string
	}{
		{"a role name taken in other case", create(strings.ToLower(nodeRole), "", trustEC2), iamsim.CodeEntityAlreadyExists},
		{"a role name over 64 characters", create(strings.Repeat("r", 65), "", trustEC2), iamsim.CodeValidationError},
		{"a role name with a space", create("node role", "", trustEC2), iamsim.CodeValidationError},
		{"a path that does not end in a slash", create("r", "/karpenter", trustEC2), iamsim.CodeValidationError},
		{"a trust policy that is not JSON", create("r", "", "{not json"), iamsim.CodeMalformedPolicyDocument},
		{"a session over twelve hours", func(c *iam.Client) error {
			_, err := c.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustEC2), MaxSessionDuration: aws.Int32(43201)})
			return err
		}, iamsim.CodeValidationError},
		{"getting an unknown role", func(c *iam.Client) error {
			_, err := c.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String("nobody")})
			return err
		}, iamsim.CodeNoSuchEntity},
	}
	_, client := newLab(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectRefusal(t, tc.name, tc.call(client), tc.want)
		})
	}
}
