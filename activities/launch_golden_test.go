package activities

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodewright/nodewright/activities/bootstrap"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/launch/*.golden from what Launch sends")

// AMIs as the al2023@latest and bottlerocket@latest aliases resolve them.
func aliasAMIs(prefix string) []awsv1.AMI {
	arch := func(a string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: v1.LabelArch, Operator: corev1.NodeSelectorOpIn, Values: []string{a}}
	}
	gpu := func(op corev1.NodeSelectorOperator) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: catalog.LabelInstanceGPUCount, Operator: op}
	}
	return []awsv1.AMI{
		{ID: prefix + "-amd64", Requirements: []corev1.NodeSelectorRequirement{arch("amd64"), gpu(corev1.NodeSelectorOpDoesNotExist)}},
		{ID: prefix + "-arm64", Requirements: []corev1.NodeSelectorRequirement{arch("arm64"), gpu(corev1.NodeSelectorOpDoesNotExist)}},
		{ID: prefix + "-nvidia", Requirements: []corev1.NodeSelectorRequirement{arch("amd64"), gpu(corev1.NodeSelectorOpExists)}},
	}
}

// The requests Launch sends for a few NodePool/EC2NodeClass pairs, and the user data the
// nodes boot from, recorded in testdata/launch. Run with -update after a deliberate change,
// and read the diff.
func TestLaunchRequestsMatchTheirGoldenFiles(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]map[string]string{}
	for _, it := range catalog.InstanceTypes(types, []string{"us-east-1a"}) {
		labels[it.Name] = it.Labels
	}
	bottlerocket := func(c *awsv1.EC2NodeClass) {
		c.Spec.AMISelectorTerms = []awsv1.AMISelectorTerm{{Alias: "bottlerocket@latest"}}
		c.Status.AMIs = aliasAMIs("ami-br")
		c.Spec.UserData = aws.String("[settings.host-containers.admin]\nenabled = true\n")
	}
	tuned := func(c *awsv1.EC2NodeClass) {
		c.Spec.Kubelet = &awsv1.KubeletConfiguration{
			MaxPods: aws.Int32(58), SystemReserved: map[string]string{"cpu": "100m", "memory": "200Mi"},
			EvictionHard: map[string]string{"memory.available": "5%"},
		}
		c.Spec.UserData = aws.String("#!/bin/bash\necho hello from the class\n")
		size := resource.MustParse("100Gi")
		c.Spec.BlockDeviceMappings = []*awsv1.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), RootVolume: true,
			EBS: &awsv1.BlockDevice{VolumeSize: &size, VolumeType: aws.String("gp3"), IOPS: aws.Int64(4000), Encrypted: aws.Bool(true)}}}
		c.Spec.MetadataOptions = &awsv1.MetadataOptions{HTTPPutResponseHopLimit: aws.Int64(2)}
		c.Spec.DetailedMonitoring = aws.Bool(true)
	}
	tests := []struct {
		name  string
		types []string
		class func(*awsv1.EC2NodeClass)
		claim claimOption
	}{
		{name: "amd64", types: []string{"m6a.large", "m5.large"}},
		{name: "arm64", types: []string{"m7g.large", "c7g.xlarge"}, claim: withCapacityTypes("on-demand")},
		{name: "mixed", types: []string{"m7g.large", "m6a.large", "c7g.large"}, claim: withTaints(
			corev1.Taint{Key: "dedicated", Value: "batch", Effect: corev1.TaintEffectNoSchedule})},
		{name: "gpu", types: []string{"g5.xlarge", "g4dn.xlarge"}},
		{name: "bottlerocket", types: []string{"m6a.large", "m7g.large"}, class: bottlerocket},
		{name: "tuned", types: []string{"m6a.large"}, class: tuned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class := &awsv1.EC2NodeClass{
				ObjectMeta: metav1.ObjectMeta{Name: "default"},
				Spec: awsv1.EC2NodeClassSpec{
					AMISelectorTerms: []awsv1.AMISelectorTerm{{Alias: "al2023@latest"}},
					Role:             "KarpenterNodeRole-lab", Tags: map[string]string{"team": "platform"},
				},
				Status: awsv1.EC2NodeClassStatus{
					Subnets:        []awsv1.Subnet{{ID: "subnet-0a", Zone: "us-east-1a"}, {ID: "subnet-0b", Zone: "us-east-1b"}},
					SecurityGroups: []awsv1.SecurityGroup{{ID: "sg-0c0ffee0d15c0ffee"}},
					AMIs:           aliasAMIs("ami-al2023"), InstanceProfile: "lab_0123456789abcdef",
				},
			}
			if tt.class != nil {
				tt.class(class)
			}
			api := &fakeEC2{fleetOut: launched("i-1", tt.types[0], "us-east-1a", "")}
			e := &EC2{
				API: api, ClusterName: "lab", Classes: staticClasses{"default": class},
				Cluster:            bootstrap.Cluster{Name: "lab", Endpoint: "https://127.0.0.1:6443", CABundle: "Y2EtYnVuZGxlCg==", ServiceCIDR: "10.96.0.0/16"},
				InstanceTypeLabels: func(t string) map[string]string { return labels[t] },
			}
			c := claim(withZones("us-east-1a", "us-east-1b"), withLabels(map[string]string{
				"team": "web", v1.LabelZone: "us-east-1a",
			}), func(c *Claim) { c.InstanceTypes = tt.types })
			if tt.claim != nil {
				tt.claim(&c)
			}
			if _, err := e.Launch(context.Background(), launchRequest(c)); err != nil {
				t.Fatalf("launch: %v", err)
			}
			got := goldenText(t, api)
			path := filepath.Join("testdata", "launch", tt.name+".golden")
			if *updateGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read %s (run with -update to write it): %v", path, err)
			}
			if got != string(want) {
				t.Errorf("requests differ from %s (run with -update and read the diff):\n%s", path, got)
			}
		})
	}
}

// goldenText shows each launch template made, with its user data decoded, then the fleet.
func goldenText(t *testing.T, api *fakeEC2) string {
	t.Helper()
	var b strings.Builder
	show := func(title string, v any) {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var generic any
		if err := json.Unmarshal(raw, &generic); err != nil {
			t.Fatal(err)
		}
		if raw, err = json.MarshalIndent(withoutUnset(generic), "", "  "); err != nil {
			t.Fatal(err)
		}
		b.WriteString("### " + title + "\n" + string(raw) + "\n")
	}
	for _, lt := range api.templateCalls {
		data := *lt.LaunchTemplateData
		userData, err := base64.StdEncoding.DecodeString(aws.ToString(data.UserData))
		if err != nil {
			t.Fatalf("user data of %s is not base64: %v", aws.ToString(lt.LaunchTemplateName), err)
		}
		data.UserData = aws.String("(below)")
		lt := *lt
		lt.LaunchTemplateData = &data
		show("CreateLaunchTemplate", lt)
		b.WriteString("### user data\n" + string(userData) + "\n")
	}
	for _, in := range api.fleetCalls {
		show("CreateFleet", in)
	}
	return b.String()
}

// withoutUnset drops the fields a request leaves unset (null, "", empty lists and objects),
// which the SDK's structs show by the dozen.
func withoutUnset(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if x = withoutUnset(x); x != nil {
				out[k] = x
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, x := range v {
			if x = withoutUnset(x); x != nil {
				out = append(out, x)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if v == "" {
			return nil
		}
	}
	return v
}

// The plan is never given an instance type no AMI of the class suits: with the al2023 alias
// an arm64 GPU type (g5g) has no NVIDIA image, so Launch could never start it.
func TestTypesNoAMISuitsAreLeftOutOfThePlan(t *testing.T) {
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	its := catalog.InstanceTypes(types, []string{"us-east-1a"})
	suited, unsuited := typesSuited(aliasAMIs("ami"), its)
	if !slices.Contains(unsuited, "g5g.xlarge") || len(unsuited) > 40 {
		t.Fatalf("left out %v, want the arm64 GPU types only", unsuited)
	}
	for _, name := range []string{"m6a.large", "m7g.large", "g5.xlarge"} {
		if !slices.Contains(suited, name) {
			t.Errorf("%s left out; an AMI of the alias suits it", name)
		}
	}
	if slices.Contains(suited, "g5g.xlarge") {
		t.Error("g5g.xlarge kept: no arm64 NVIDIA AMI suits it")
	}
	if _, unsuited := typesSuited([]awsv1.AMI{{ID: "ami-any"}}, its); len(unsuited) != 0 {
		t.Errorf("an AMI without requirements suits every type; %v left out", unsuited)
	}
}
