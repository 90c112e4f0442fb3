package ec2sim_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

func TestCreateLaunchTemplateAnswersAsTheSDKReadsIt(t *testing.T) {
	client := newClient(t, newSim(t), 1)
	out, err := client.CreateLaunchTemplate(context.Background(), template("nodewright/abc123",
		withTemplateTags(map[string]string{"karpenter.k8s.aws/cluster": "lab"})))
	if err != nil {
		t.Fatal(err)
	}
	lt := out.LaunchTemplate
	if id := aws.ToString(lt.LaunchTemplateId); !strings.HasPrefix(id, "lt-") || len(id) != len("lt-")+17 {
		t.Errorf("template id %q is not lt- plus 17 hex digits", id)
	}
	if aws.ToString(lt.LaunchTemplateName) != "nodewright/abc123" || !aws.ToTime(lt.CreateTime).Equal(launchedAt) ||
		aws.ToString(lt.CreatedBy) == "" || aws.ToInt64(lt.DefaultVersionNumber) != 1 || aws.ToInt64(lt.LatestVersionNumber) != 1 {
		t.Errorf("template %+v: want its name, the sim's clock as create time, a creator and version 1 as default and latest", lt)
	}
	if tags := tagMap(lt.Tags); len(tags) != 1 || tags["karpenter.k8s.aws/cluster"] != "lab" {
		t.Errorf("template tags %v, want karpenter.k8s.aws/cluster=lab", tags)
	}
}

func TestDescribeLaunchTemplates(t *testing.T) {
	client := newClient(t, newSim(t), 1)
	ids := map[string]string{}
	for _, name := range []string{"nodewright/general", "nodewright/gpu", "other-team"} {
		team := "nodes"
		if name == "other-team" {
			team = "web"
		}
		ids[name] = createTemplate(t, client, template(name, withTemplateTags(map[string]string{"team": team})))
	}
	tests := []struct {
		name     string
		in       *ec2.DescribeLaunchTemplatesInput
		want     []string // template names, in creation order
		wantCode string
	}{
		{name: "everything", in: &ec2.DescribeLaunchTemplatesInput{}, want: []string{"nodewright/general", "nodewright/gpu", "other-team"}},
		{name: "by name", in: &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"nodewright/gpu"}}, want: []string{"nodewright/gpu"}},
		{name: "by id", in: &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{ids["other-team"]}}, want: []string{"other-team"}},
		{name: "by name filter with a wildcard", in: &ec2.DescribeLaunchTemplatesInput{Filters: []types.Filter{filter("launch-template-name", "nodewright/*")}},
			want: []string{"nodewright/general", "nodewright/gpu"}},
		{name: "by tag", in: &ec2.DescribeLaunchTemplatesInput{Filters: []types.Filter{filter("tag:team", "web")}}, want: []string{"other-team"}},
		{name: "by tag key", in: &ec2.DescribeLaunchTemplatesInput{Filters: []types.Filter{filter("tag-key", "team")}},
			want: []string{"nodewright/general", "nodewright/gpu", "other-team"}},
		{name: "a filter matching nothing is an empty answer", in: &ec2.DescribeLaunchTemplatesInput{Filters: []types.Filter{filter("launch-template-name", "nope")}}},
		{name: "an unknown name is not found", in: &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"nodewright/gpu", "nope"}},
			wantCode: ec2sim.CodeInvalidLaunchTemplateNameNotFound},
		{name: "an unknown id is not found", in: &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-0123456789abcdef0"}},
			wantCode: ec2sim.CodeInvalidLaunchTemplateIDNotFound},
		{name: "an unknown filter", in: &ec2.DescribeLaunchTemplatesInput{Filters: []types.Filter{filter("colour", "blue")}}, wantCode: ec2sim.CodeInvalidParameterValue},
		{name: "MaxResults above 200", in: &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(201)}, wantCode: ec2sim.CodeInvalidParameterValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.DescribeLaunchTemplates(context.Background(), tt.in)
			var names []string
			if err == nil {
				for _, lt := range out.LaunchTemplates {
					names = append(names, aws.ToString(lt.LaunchTemplateName))
				}
			}
			expectIDs(t, names, err, tt.want, tt.wantCode)
		})
	}
}

func TestDescribeLaunchTemplatesPagesInCreationOrder(t *testing.T) {
	client := newClient(t, newSim(t), 1)
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("template-%d", i)
		createTemplate(t, client, template(name))
		want = append(want, name)
	}
	pages := ec2.NewDescribeLaunchTemplatesPaginator(client, &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(2)})
	var names []string
	calls := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("page %d: %v", calls+1, err)
		}
		calls++
		for _, lt := range page.LaunchTemplates {
			names = append(names, aws.ToString(lt.LaunchTemplateName))
		}
	}
	if calls != 3 || !slices.Equal(names, want) {
		t.Errorf("%d pages holding %v, want 3 pages holding %v", calls, names, want)
	}
}

func TestDeleteLaunchTemplate(t *testing.T) {
	tests := []struct {
		name     string
		in       func(id string) *ec2.DeleteLaunchTemplateInput
		wantCode string
	}{
		{name: "by name", in: func(string) *ec2.DeleteLaunchTemplateInput {
			return &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("doomed")}
		}},
		{name: "by id", in: func(id string) *ec2.DeleteLaunchTemplateInput {
			return &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(id)}
		}},
		{name: "an unknown name is not found", wantCode: ec2sim.CodeInvalidLaunchTemplateNameNotFound, in: func(string) *ec2.DeleteLaunchTemplateInput {
			return &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("nope")}
		}},
		{name: "an unknown id is not found", wantCode: ec2sim.CodeInvalidLaunchTemplateIDNotFound, in: func(string) *ec2.DeleteLaunchTemplateInput {
			return &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String("lt-0123456789abcdef0")}
		}},
		{name: "naming neither is a missing parameter", wantCode: ec2sim.CodeMissingParameter, in: func(string) *ec2.DeleteLaunchTemplateInput {
			return &ec2.DeleteLaunchTemplateInput{}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(t, newSim(t), 1)
			id := createTemplate(t, client, template("doomed"))
			out, err := client.DeleteLaunchTemplate(context.Background(), tt.in(id))
			if tt.wantCode != "" {
				if code := errorCode(t, err); code != tt.wantCode {
					t.Errorf("error code %s, want %s", code, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(out.LaunchTemplate.LaunchTemplateId); got != id {
				t.Errorf("deleted template %s, want %s", got, id)
			}
			_, err = client.DescribeLaunchTemplates(context.Background(), &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"doomed"}})
			if code := errorCode(t, err); code != ec2sim.CodeInvalidLaunchTemplateNameNotFound {
				t.Errorf("describing the deleted template gave %s, want %s", code, ec2sim.CodeInvalidLaunchTemplateNameNotFound)
			}
			createTemplate(t, client, template("doomed")) // the name is free again
		})
	}
}

func tagMap(tags []types.Tag) map[string]string {
	out := map[string]string{}
	for _, tag := range tags {
		out[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return out
}
