package iamsim_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/nodewright/nodewright/lab/iamsim"
)

func TestListInstanceProfilesFiltersByPathAndPages(t *testing.T) {
	_, client := newLab(t)
	for i := range 5 {
		createProfile(t, client, fmt.Sprintf("lab_%d", i), atPath("/karpenter/lab/"))
	}
	createProfile(t, client, "other_cluster", atPath("/karpenter/other/"))
	createProfile(t, client, "unrelated")
	addRole(t, client, "lab_3", nodeRole)

	tests := []struct {
		name     string
		prefix   string
		maxItems int32
		want     []string
		wantPage int
	}{
		{"one cluster's profiles two at a time", "/karpenter/lab/", 2, []string{"lab_0", "lab_1", "lab_2", "lab_3", "lab_4"}, 3},
		{"every Karpenter profile in one page", "/karpenter/", 100, []string{"lab_0", "lab_1", "lab_2", "lab_3", "lab_4", "other_cluster"}, 1},
		{"everything, by default prefix", "", 4, []string{"lab_0", "lab_1", "lab_2", "lab_3", "lab_4", "other_cluster", "unrelated"}, 2},
		{"a prefix nothing has", "/nothing/", 10, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &iam.ListInstanceProfilesInput{MaxItems: aws.Int32(tc.maxItems)}
			if tc.prefix != "" {
				in.PathPrefix = aws.String(tc.prefix)
			}
			var got []string
			pages := 0
			for paginator := iam.NewListInstanceProfilesPaginator(client, in); paginator.HasMorePages(); {
				out, err := paginator.NextPage(t.Context())
				if err != nil {
					t.Fatalf("list page %d: %v", pages+1, err)
				}
				pages++
				for _, p := range out.InstanceProfiles {
					got = append(got, aws.ToString(p.InstanceProfileName))
					if aws.ToString(p.InstanceProfileName) == "lab_3" && len(p.Roles) != 1 {
						t.Errorf("lab_3 is listed with roles %v, want its role", roleNames(p))
					}
				}
			}
			if !slices.Equal(got, tc.want) || pages != tc.wantPage {
				t.Errorf("listed %v in %d pages, want %v in %d", got, pages, tc.want, tc.wantPage)
			}
		})
	}
}

func TestListingResumesAfterTheMarkerEvenWhenProfilesGo(t *testing.T) {
	_, client := newLab(t)
	for _, name := range []string{"a", "b", "c", "d"} {
		createProfile(t, client, name)
	}
	first, err := client.ListInstanceProfiles(t.Context(), &iam.ListInstanceProfilesInput{MaxItems: aws.Int32(2)})
	if err != nil {
		t.Fatalf("list the first page: %v", err)
	}
	if _, err := client.DeleteInstanceProfile(t.Context(), &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("a")}); err != nil {
		t.Fatalf("delete profile a: %v", err)
	}
	second, err := client.ListInstanceProfiles(t.Context(), &iam.ListInstanceProfilesInput{MaxItems: aws.Int32(2), Marker: first.Marker})
	if err != nil {
		t.Fatalf("list the second page: %v", err)
	}
	var got []string
	for _, p := range second.InstanceProfiles {
		got = append(got, aws.ToString(p.InstanceProfileName))
	}
	if !slices.Equal(got, []string{"c", "d"}) || second.IsTruncated {
		t.Errorf("the second page is %v (truncated %v), want [c d] and no more", got, second.IsTruncated)
	}
}

func TestListingRefusesWhatIAMRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   iam.ListInstanceProfilesInput
	}{
		{"MaxItems of zero", iam.ListInstanceProfilesInput{MaxItems: aws.Int32(0)}},
		{"MaxItems over 1000", iam.ListInstanceProfilesInput{MaxItems: aws.Int32(1001)}},
		{"a marker it never issued", iam.ListInstanceProfilesInput{Marker: aws.String("not-a-marker")}},
		{"a path prefix without its slash", iam.ListInstanceProfilesInput{PathPrefix: aws.String("karpenter/")}},
	}
	_, client := newLab(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.ListInstanceProfiles(t.Context(), &tc.in)
			expectRefusal(t, tc.name, err, iamsim.CodeValidationError)
		})
	}
}
