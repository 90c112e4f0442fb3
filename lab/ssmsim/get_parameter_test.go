package ssmsim_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/nodewright/nodewright/lab/ssmsim"
)

const recommendedAL2023 = "/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"

func TestGetParameterReturnsTheParameterAsSSMDescribesIt(t *testing.T) {
	tests := []struct {
		name, parameter, wantARN string
	}{
		{"a public AWS parameter has no account in its ARN", recommendedAL2023,
			"arn:aws:ssm:eu-west-1::parameter" + recommendedAL2023},
		{"a path parameter of the account", "/lab/cluster-name",
			"arn:aws:ssm:eu-west-1:111122223333:parameter/lab/cluster-name"},
		{"a flat name gains a slash in its ARN", "cluster-name",
			"arn:aws:ssm:eu-west-1:111122223333:parameter/cluster-name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := clientFor(t, newSim(t, map[string]string{tc.parameter: "ami-0123456789abcdef0"}))
			out, err := client.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String(tc.parameter), WithDecryption: aws.Bool(true)})
			if err != nil {
				t.Fatalf("get parameter %s: %v", tc.parameter, err)
			}
			p := out.Parameter
			if aws.ToString(p.Name) != tc.parameter || aws.ToString(p.Value) != "ami-0123456789abcdef0" || p.Version != 1 {
				t.Errorf("parameter %s came back as %s = %s version %d, want its value at version 1", tc.parameter, aws.ToString(p.Name), aws.ToString(p.Value), p.Version)
			}
			if p.Type != types.ParameterTypeString || aws.ToString(p.DataType) != "text" {
				t.Errorf("parameter %s has type %s and data type %s, want String and text", tc.parameter, p.Type, aws.ToString(p.DataType))
			}
			if aws.ToString(p.ARN) != tc.wantARN {
				t.Errorf("parameter %s has ARN %s, want %s", tc.parameter, aws.ToString(p.ARN), tc.wantARN)
			}
			if p.LastModifiedDate == nil || !p.LastModifiedDate.Equal(modifiedAt) {
				t.Errorf("parameter %s was last modified at %v, want %v", tc.parameter, p.LastModifiedDate, modifiedAt)
			}
		})
	}
}

func TestGetParameterWithAVersionSelectorReadsThatVersion(t *testing.T) {
	sim := newSim(t, map[string]string{"/lab/ami": "ami-old"})
	if err := sim.Put("/lab/ami", "ami-new"); err != nil {
		t.Fatalf("put /lab/ami: %v", err)
	}
	out, err := clientFor(t, sim).GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/lab/ami:1")})
	if err != nil {
		t.Fatalf("get /lab/ami:1: %v", err)
	}
	p := out.Parameter
	if aws.ToString(p.Name) != "/lab/ami" || aws.ToString(p.Selector) != ":1" || aws.ToString(p.Value) != "ami-old" || p.Version != 1 {
		t.Errorf("/lab/ami:1 came back as %s%s = %s version %d, want /lab/ami:1 = ami-old version 1",
			aws.ToString(p.Name), aws.ToString(p.Selector), aws.ToString(p.Value), p.Version)
	}
}

func TestGetParameterRefusesWhatSSMRefuses(t *testing.T) {
	tests := []struct {
		name, parameter, wantCode string
		isTyped                   func(error) bool
	}{
		{"an unknown name", "/lab/missing", ssmsim.CodeParameterNotFound, isA[*types.ParameterNotFound]},
		{"an unknown flat name", "missing", ssmsim.CodeParameterNotFound, isA[*types.ParameterNotFound]},
		{"a version it never had", "/lab/ami:2", ssmsim.CodeParameterVersionNotFound, isA[*types.ParameterVersionNotFound]},
		{"version zero", "/lab/ami:0", ssmsim.CodeParameterVersionNotFound, isA[*types.ParameterVersionNotFound]},
		{"a label, since no version carries one", "/lab/ami:prod", ssmsim.CodeParameterVersionNotFound, isA[*types.ParameterVersionNotFound]},
		{"an empty name", "", ssmsim.CodeValidationException, isA[*types.ValidationException]},
		{"a path that does not start with a slash", "lab/ami", ssmsim.CodeValidationException, isA[*types.ValidationException]},
		{"a path with an empty level", "/lab//ami", ssmsim.CodeValidationException, isA[*types.ValidationException]},
		{"a path ending in a slash", "/lab/", ssmsim.CodeValidationException, isA[*types.ValidationException]},
		{"a name with a space", "/lab/my ami", ssmsim.CodeValidationException, isA[*types.ValidationException]},
		{"a name over 2048 characters", "/" + strings.Repeat("a", 2048), ssmsim.CodeValidationException, isA[*types.ValidationException]},
		{"a path 16 levels deep", strings.Repeat("/a", 16), ssmsim.CodeValidationException, isA[*types.ValidationException]},
	}
	client := clientFor(t, newSim(t, map[string]string{"/lab/ami": "ami-1"}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String(tc.parameter)})
			if got := errorCode(t, err); got != tc.wantCode {
				t.Fatalf("get %q failed with %s (%v), want %s", tc.parameter, got, err, tc.wantCode)
			}
			if !tc.isTyped(err) {
				t.Errorf("get %q failed with %T, want the SDK's typed %s", tc.parameter, err, tc.wantCode)
			}
		})
	}
}
