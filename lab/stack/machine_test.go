package stack

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

// The kubelet of a running instance learns the volumes it was launched with, in the units
// the node reports them in.
func TestMachineOfCarriesTheInstancesVolumes(t *testing.T) {
	tests := []struct {
		name        string
		volumes     []ec2sim.Volume
		wantVolumes map[string]resource.Quantity
	}{
		{name: "a 100 GiB root volume", volumes: []ec2sim.Volume{{DeviceName: "/dev/xvda", SizeGiB: 100}},
			wantVolumes: map[string]resource.Quantity{"/dev/xvda": resource.MustParse("100Gi")}},
		{name: "Bottlerocket's OS and data volumes", volumes: []ec2sim.Volume{{DeviceName: "/dev/xvda", SizeGiB: 4}, {DeviceName: "/dev/xvdb", SizeGiB: 100}},
			wantVolumes: map[string]resource.Quantity{"/dev/xvda": resource.MustParse("4Gi"), "/dev/xvdb": resource.MustParse("100Gi")}},
		{name: "a volume without a size is left out", volumes: []ec2sim.Volume{{DeviceName: "/dev/xvda", SizeGiB: 20}, {DeviceName: "/dev/xvdc"}},
			wantVolumes: map[string]resource.Quantity{"/dev/xvda": resource.MustParse("20Gi")}},
		{name: "no volumes", wantVolumes: map[string]resource.Quantity{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := machineOf(ec2sim.Instance{ID: "i-0123", RootDeviceName: "/dev/xvda", Volumes: tt.volumes})
			if m.InstanceID != "i-0123" || m.RootDevice != "/dev/xvda" {
				t.Errorf("machine %s boots from %q, want i-0123 from /dev/xvda", m.InstanceID, m.RootDevice)
			}
			if !equality.Semantic.DeepEqual(m.Volumes, tt.wantVolumes) {
				t.Errorf("machine volumes %v, want %v", m.Volumes, tt.wantVolumes)
			}
		})
	}
}
