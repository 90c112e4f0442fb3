package iamsim_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/nodewright/nodewright/lab/iamsim"
)

func tags(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func TestTaggingAProfileAddsReplacesAndRemovesTags(t *testing.T) {
	sim, client := newLab(t)
	createProfile(t, client, "node", taggedWith("Team", "old"), taggedWith("drop", "me"))
	if _, err := client.TagInstanceProfile(t.Context(), &iam.TagInstanceProfileInput{
		InstanceProfileName: aws.String("node"), Tags: tags("team", "new", "cluster", "lab"),
	}); err != nil {
		t.Fatalf("tag profile node: %v", err)
	}
	if _, err := client.UntagInstanceProfile(t.Context(), &iam.UntagInstanceProfileInput{
		InstanceProfileName: aws.String("node"), TagKeys: []string{"DROP", "never-there"},
	}); err != nil {
		t.Fatalf("untag profile node: %v", err)
	}
	want := map[string]string{"team": "new", "cluster": "lab"}
	out, err := client.ListInstanceProfileTags(t.Context(), &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String("node")})
	if err != nil {
		t.Fatalf("list tags of profile node: %v", err)
	}
	if got := tagMap(out.Tags); !maps.Equal(got, want) || out.IsTruncated {
		t.Errorf("profile node is tagged %v (truncated %v), want %v: keys ignore case, so team replaced Team", got, out.IsTruncated, want)
	}
	if held, _ := sim.InstanceProfile("node"); !maps.Equal(held.Tags, want) {
		t.Errorf("the sim says profile node is tagged %v, want %v", held.Tags, want)
	}
}

func TestListInstanceProfileTagsPagesByMarker(t *testing.T) {
	_, client := newLab(t)
	var kv []string
	for i := range 5 {
		kv = append(kv, fmt.Sprintf("k%d", i), "v")
	}
	if _, err := client.CreateInstanceProfile(t.Context(), &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("node"), Tags: tags(kv...)}); err != nil {
		t.Fatalf("create profile node with 5 tags: %v", err)
	}
	var keys []string
	var pages int
	in := &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String("node"), MaxItems: aws.Int32(2)}
	for {
		out, err := client.ListInstanceProfileTags(t.Context(), in)
		if err != nil {
			t.Fatalf("list tags page %d: %v", pages+1, err)
		}
		pages++
		for _, tg := range out.Tags {
			keys = append(keys, aws.ToString(tg.Key))
		}
		if !out.IsTruncated {
			break
		}
		in.Marker = out.Marker
	}
	if fmt.Sprint(keys) != "[k0 k1 k2 k3 k4]" || pages != 3 {
		t.Errorf("paging two at a time read %v in %d pages, want [k0 k1 k2 k3 k4] in 3", keys, pages)
	}
}

func TestTaggingRefusesWhatIAMRefuses(t *testing.T) {
	tag := func(profile string, tg []types.Tag) func(*iam.Client) error {
		return func(c *iam.Client) error {
			_, err := c.TagInstanceProfile(t.Context(), &iam.TagInstanceProfileInput{InstanceProfileName: aws.String(profile), Tags: tg})
			return err
		}
	}
	var fortyNine, fiftyOne []string
	for i := range 51 {
		if i < 49 {
			fortyNine = append(fortyNine, fmt.Sprintf("n%d", i), "v")
		}
		fiftyOne = append(fiftyOne, fmt.Sprintf("n%d", i), "v")
	}
	tests := []struct {
		name string
		call func(*iam.Client) error
		want string
	}{
		{"tagging an unknown profile", tag("ghost", tags("a", "b")), iamsim.CodeNoSuchEntity},
		{"going over 50 tags on the profile", tag("busy", tags("x", "1", "y", "2")), iamsim.CodeLimitExceeded},
		{"51 tags in one request", tag("node", tags(fiftyOne...)), iamsim.CodeValidationError},
		{"the same key twice in other case", tag("node", tags("Env", "a", "env", "b")), iamsim.CodeInvalidInput},
		{"a key over 128 characters", tag("node", tags(fmt.Sprintf("%0129d", 0), "v")), iamsim.CodeValidationError},
		{"a value over 256 characters", tag("node", tags("k", fmt.Sprintf("%0257d", 0))), iamsim.CodeValidationError},
		{"untagging an unknown profile", func(c *iam.Client) error {
			_, err := c.UntagInstanceProfile(t.Context(), &iam.UntagInstanceProfileInput{InstanceProfileName: aws.String("ghost"), TagKeys: []string{"a"}})
			return err
		}, iamsim.CodeNoSuchEntity},
		{"listing the tags of an unknown profile", func(c *iam.Client) error {
			_, err := c.ListInstanceProfileTags(t.Context(), &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String("ghost")})
			return err
		}, iamsim.CodeNoSuchEntity},
	}
	_, client := newLab(t)
	createProfile(t, client, "node")
	if _, err := client.CreateInstanceProfile(t.Context(), &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("busy"), Tags: tags(fortyNine...)}); err != nil {
		t.Fatalf("create profile busy with 49 tags: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectRefusal(t, tc.name, tc.call(client), tc.want)
		})
	}
	if held := profileTags(t, client, "busy"); len(held) != 49 {
		t.Errorf("after the refused tagging profile busy has %d tags, want its 49", len(held))
	}
}

// profileTags reads a profile's tags through the SDK.
func profileTags(t *testing.T, client *iam.Client, name string) map[string]string {
	t.Helper()
	out, err := client.ListInstanceProfileTags(t.Context(), &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		t.Fatalf("list tags of profile %s: %v", name, err)
	}
	return tagMap(out.Tags)
}
