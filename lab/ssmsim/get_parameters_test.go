package ssmsim_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/nodewright/nodewright/lab/ssmsim"
)

func TestGetParametersSplitsFoundFromInvalidNames(t *testing.T) {
	tests := []struct {
		name        string
		names       []string
		wantFound   []string // "name=value"
		wantInvalid []string
	}{
		{"every name known", []string{"/lab/a", "/lab/b"}, []string{"/lab/a=1", "/lab/b=2"}, nil},
		{"an unknown name is listed, not fatal", []string{"/lab/a", "/lab/missing"}, []string{"/lab/a=1"}, []string{"/lab/missing"}},
		{"a version it never had is listed", []string{"/lab/a:7"}, nil, []string{"/lab/a:7"}},
		{"a repeated name is answered once", []string{"/lab/b", "/lab/b"}, []string{"/lab/b=2"}, nil},
		{"nothing known", []string{"/x", "/y"}, nil, []string{"/x", "/y"}},
	}
	client := clientFor(t, newSim(t, map[string]string{"/lab/a": "1", "/lab/b": "2"}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.GetParameters(t.Context(), &ssm.GetParametersInput{Names: tc.names})
			if err != nil {
				t.Fatalf("get parameters %v: %v", tc.names, err)
			}
			var found []string
			for _, p := range out.Parameters {
				found = append(found, aws.ToString(p.Name)+"="+aws.ToString(p.Value))
			}
			if !slices.Equal(found, tc.wantFound) || !slices.Equal(out.InvalidParameters, tc.wantInvalid) {
				t.Errorf("get parameters %v found %v and listed %v as invalid, want %v and %v",
					tc.names, found, out.InvalidParameters, tc.wantFound, tc.wantInvalid)
			}
		})
	}
}

func TestGetParametersRefusesWhatSSMRefuses(t *testing.T) {
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("/lab/p%d", i)
	}
	tests := []struct {
		name  string
		names []string
	}{
		{"no names", []string{}},
		{"more than ten names", eleven},
		{"an empty name among good ones", []string{"/lab/a", ""}},
		{"a path without its leading slash", []string{"/lab/a", "lab/a"}},
	}
	client := clientFor(t, newSim(t, map[string]string{"/lab/a": "1"}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.GetParameters(t.Context(), &ssm.GetParametersInput{Names: tc.names})
			if got := errorCode(t, err); got != ssmsim.CodeValidationException || !isA[*types.ValidationException](err) {
				t.Errorf("get parameters %v failed with %s (%T), want the SDK's ValidationException", tc.names, got, err)
			}
		})
	}
}
