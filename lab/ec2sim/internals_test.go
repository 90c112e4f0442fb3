package ec2sim

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
)

func TestMembersComeInNumericOrder(t *testing.T) {
	p := params(url.Values{
		"InstanceId.10": {"i-ten"},
		"InstanceId.2":  {"i-two"},
		"InstanceId.1":  {"i-one"},
		"LaunchTemplateConfigs.1.Overrides.2.Xtype": {"x"},
		"LaunchTemplateConfigs.1.Overrides.1.Xtype": {"y"},
	})
	if got, want := p.strings("InstanceId"), []string{"i-one", "i-two", "i-ten"}; !slices.Equal(got, want) {
		t.Errorf("InstanceId list is %v, want %v", got, want)
	}
	want := []string{"LaunchTemplateConfigs.1.Overrides.1", "LaunchTemplateConfigs.1.Overrides.2"}
	if got := p.members("LaunchTemplateConfigs.1.Overrides"); !slices.Equal(got, want) {
		t.Errorf("override members are %v, want %v", got, want)
	}
}

func TestWildcardsMatchLikeEC2Filters(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"general", "general", true},
		{"general", "generals", false},
		{"gen*", "general", true},
		{"*ral", "general", true},
		{"g*n*l", "general", true},
		{"g?neral", "general", true},
		{"g?neral", "gneral", false},
		{"*", "", true},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"m5.*", "m5d.large", false},
	}
	for _, tc := range tests {
		if got := matchWildcard(tc.pattern, tc.value); got != tc.want {
			t.Errorf("pattern %q on %q matched %v, want %v", tc.pattern, tc.value, got, tc.want)
		}
	}
}

// BenchmarkParseBlockDevicesOfAFleet reads the block devices of each of 60 overrides, as a
// CreateFleet of the worker's asks for them: members scans every key of the request per call.
func BenchmarkParseBlockDevicesOfAFleet(b *testing.B) {
	p := params{}
	for i := 1; i <= 60; i++ {
		o := fmt.Sprintf("LaunchTemplateConfigs.1.Overrides.%d", i)
		for k, v := range map[string]string{"InstanceType": "m5.large", "SubnetId": "subnet-1", "Priority": "1",
			"BlockDeviceMapping.1.DeviceName": "/dev/xvda", "BlockDeviceMapping.1.Ebs.VolumeSize": "20",
			"BlockDeviceMapping.1.Ebs.VolumeType": "gp3", "BlockDeviceMapping.1.Ebs.Encrypted": "true"} {
			p[o+"."+k] = []string{v}
		}
	}
	for b.Loop() {
		for _, m := range p.members("LaunchTemplateConfigs.1.Overrides") {
			if _, err := parseBlockDevices(p, m+".BlockDeviceMapping"); err != nil {
				b.Fatal(err)
			}
		}
	}
}
