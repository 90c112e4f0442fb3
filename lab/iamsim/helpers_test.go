package iamsim_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/nodewright/nodewright/lab/iamsim"
	"github.com/nodewright/nodewright/lab/localhttp"
)

// createdAt is the fixed clock's reading; IAM reports timestamps to the second.
var createdAt = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const nodeRole = "KarpenterNodeRole-lab"

// trustEC2 is a trust policy with characters IAM percent-encodes when it returns the document.
const trustEC2 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// newSim builds a sim on the fixed clock with the node role already created.
func newSim(t *testing.T) *iamsim.Sim {
	t.Helper()
	sim, err := iamsim.New(iamsim.Options{Roles: []string{nodeRole}, Clock: func() time.Time { return createdAt }})
	if err != nil {
		t.Fatalf("build iam sim: %v", err)
	}
	return sim
}

// clientFor serves sim on loopback until the test ends and returns the real SDK client aimed at it.
func clientFor(t *testing.T, sim *iamsim.Sim) *iam.Client {
	t.Helper()
	url, err := sim.Serve(t.Context(), "")
	if err != nil {
		t.Fatalf("serve iam sim: %v", err)
	}
	return iam.NewFromConfig(localhttp.SDKConfig("us-east-1", url))
}

// newLab is a sim with the node role and a client aimed at it.
func newLab(t *testing.T) (*iamsim.Sim, *iam.Client) {
	t.Helper()
	sim := newSim(t)
	return sim, clientFor(t, sim)
}

type profileOption func(*iam.CreateInstanceProfileInput)

func atPath(path string) profileOption {
	return func(in *iam.CreateInstanceProfileInput) { in.Path = aws.String(path) }
}

func taggedWith(key, value string) profileOption {
	return func(in *iam.CreateInstanceProfileInput) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(key), Value: aws.String(value)})
	}
}

// createProfile creates an instance profile through the SDK and returns it as IAM described it.
func createProfile(t *testing.T, client *iam.Client, name string, opts ...profileOption) types.InstanceProfile {
	t.Helper()
	in := &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)}
	for _, opt := range opts {
		opt(in)
	}
	out, err := client.CreateInstanceProfile(t.Context(), in)
	if err != nil {
		t.Fatalf("create instance profile %s: %v", name, err)
	}
	return *out.InstanceProfile
}

func addRole(t *testing.T, client *iam.Client, profile, role string) {
	t.Helper()
	_, err := client.AddRoleToInstanceProfile(t.Context(), &iam.AddRoleToInstanceProfileInput{
		InstanceProfileName: aws.String(profile), RoleName: aws.String(role),
	})
	if err != nil {
		t.Fatalf("add role %s to instance profile %s: %v", role, profile, err)
	}
}

// getProfile reads a profile through the SDK.
func getProfile(t *testing.T, client *iam.Client, name string) types.InstanceProfile {
	t.Helper()
	out, err := client.GetInstanceProfile(t.Context(), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		t.Fatalf("get instance profile %s: %v", name, err)
	}
	return *out.InstanceProfile
}

func roleNames(p types.InstanceProfile) []string {
	var out []string
	for _, r := range p.Roles {
		out = append(out, aws.ToString(r.RoleName))
	}
	return out
}

func tagMap(tags []types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// expectRefusal fails unless err carries the code want and is the SDK's typed error for it.
func expectRefusal(t *testing.T, what string, err error, want string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("%s: want IAM to refuse with %s, got %v", what, want, err)
	}
	if apiErr.ErrorCode() != want || !isTypedAs(err, want) {
		t.Errorf("%s: refused with %s (%T: %v), want the SDK's %s", what, apiErr.ErrorCode(), apiErr, err, want)
	}
}

// isTypedAs reports whether err is the SDK's type for code. ValidationError and InvalidAction are
// not in IAM's model, so the SDK reports them as generic API errors.
func isTypedAs(err error, code string) bool {
	switch code {
	case iamsim.CodeNoSuchEntity:
		return isA[*types.NoSuchEntityException](err)
	case iamsim.CodeEntityAlreadyExists:
		return isA[*types.EntityAlreadyExistsException](err)
	case iamsim.CodeDeleteConflict:
		return isA[*types.DeleteConflictException](err)
	case iamsim.CodeLimitExceeded:
		return isA[*types.LimitExceededException](err)
	case iamsim.CodeInvalidInput:
		return isA[*types.InvalidInputException](err)
	case iamsim.CodeMalformedPolicyDocument:
		return isA[*types.MalformedPolicyDocumentException](err)
	}
	return isA[*smithy.GenericAPIError](err)
}

// isA reports whether err is, or wraps, the error type T.
func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}
