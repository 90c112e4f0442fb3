package awsquery_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/nodewright/nodewright/lab/awsquery"
)

func TestMembersListsEachNumberedMemberOnceInNumericOrder(t *testing.T) {
	tests := []struct {
		name   string
		form   url.Values
		prefix string
		want   []string
	}{
		{"EC2's flat list of scalars", url.Values{"InstanceId.2": {"i-2"}, "InstanceId.1": {"i-1"}}, "InstanceId",
			[]string{"InstanceId.1", "InstanceId.2"}},
		{"IAM's member list of structures, ten after nine", url.Values{
			"Tags.member.10.Key": {"k"}, "Tags.member.10.Value": {"v"}, "Tags.member.9.Key": {"k"},
		}, "Tags.member", []string{"Tags.member.9", "Tags.member.10"}},
		{"no member 0, no unnumbered key and no longer name with the same start", url.Values{
			"Tags.member.0.Key": {"k"}, "Tags.member.x": {"k"}, "TagsExtra.member.1": {"k"}, "Tags.member": {"k"},
		}, "Tags.member", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := awsquery.Params(tc.form).Members(tc.prefix); !slices.Equal(got, tc.want) {
				t.Errorf("members of %s are %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}
}

func TestLookupTellsAnEmptyParameterFromAnAbsentOne(t *testing.T) {
	p := awsquery.Params(url.Values{"Path": {""}, "Marker": {}})
	if v, ok := p.Lookup("Path"); !ok || v != "" {
		t.Errorf("an empty Path read as %q, %v; want present and empty", v, ok)
	}
	for _, key := range []string{"Marker", "PathPrefix"} {
		if _, ok := p.Lookup(key); ok {
			t.Errorf("%s, with no value, read as present", key)
		}
	}
	if got := p.Get("PathPrefix"); got != "" {
		t.Errorf("an absent parameter reads %q, want empty", got)
	}
}
