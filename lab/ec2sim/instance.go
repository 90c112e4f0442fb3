package ec2sim

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Instance states, with EC2's numeric codes in stateCode.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
)

func stateCode(state string) int {
	switch state {
	case StateRunning:
		return 16
	case StateShuttingDown:
		return 32
	case StateTerminated:
		return 48
	}
	return 0 // pending
}

// Capacity types, as CreateFleet and SetCapacity spell them.
const (
	CapacitySpot     = "spot"
	CapacityOnDemand = "on-demand"
)

// Instance is a snapshot of one simulated instance.
type Instance struct {
	ID             string
	Type           string
	Zone           string
	SubnetID       string
	CapacityType   string // CapacitySpot or CapacityOnDemand
	State          string
	PrivateDNSName string
	PrivateIP      string
	LaunchTime     time.Time
	Tags           map[string]string
	PricePerHour   float64

	// What the instance was launched with, from its launch template and fleet override.
	ImageID            string
	UserData           string   // decoded from the template's base64; "" when it had none
	SecurityGroupIDs   []string // the template's groups, or its primary interface's
	InstanceProfile    string   // name or ARN, as the template gave it; "" when it had none
	LaunchTemplateID   string
	LaunchTemplateName string
	// RootDeviceName is the device the instance boots from, its image's; Volumes the EBS
	// volumes it was launched with: the image's block device mappings, each device the launch
	// template or fleet override maps taking its size from them.
	RootDeviceName string
	Volumes        []Volume
}

// Volume is an EBS volume by the device it is attached at.
type Volume struct {
	DeviceName string
	SizeGiB    int // 0 when neither the launch nor the image gave a size
}

// RootVolumeGiB is the size of the instance's root volume, 0 when it has none.
func (i Instance) RootVolumeGiB() int {
	gib, _ := i.VolumeGiB(i.RootDeviceName)
	return gib
}

// VolumeGiB is the size of the volume attached at device, and whether there is one.
func (i Instance) VolumeGiB(device string) (int, bool) {
	at := slices.IndexFunc(i.Volumes, func(v Volume) bool { return v.DeviceName == device })
	if at < 0 {
		return 0, false
	}
	return i.Volumes[at].SizeGiB, true
}

// record is the simulator's own view of an instance: the public snapshot plus what only the API
// responses need.
type record struct {
	Instance
	seq           int // launch order, also the DescribeInstances page cursor
	reservationID string
	architecture  string
	spotRequestID string
	// templateVersion is the version launched from, as a number; metadata the template's
	// instance metadata options.
	templateVersion string
	metadata        metadataOptions
}

// snapshot copies the record so callers cannot reach the simulator's maps.
func (r *record) snapshot() Instance {
	out := r.Instance
	out.Tags = maps.Clone(r.Tags)
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	out.SecurityGroupIDs = slices.Clone(r.SecurityGroupIDs)
	out.Volumes = slices.Clone(r.Volumes)
	return out
}

// privateAddress numbers instances through 10.0.0.0/16, skipping .0 and .255.
func privateAddress(seq int) (ip, dnsName string) {
	third, fourth := (seq/254)%256, seq%254+1
	ip = fmt.Sprintf("10.0.%d.%d", third, fourth)
	return ip, fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", third, fourth)
}

// subnetFor names the default world's subnet in a zone.
func subnetFor(zone string) string { return "subnet-" + zone }

func (s *Sim) zoneOfSubnet(subnetID string) (string, bool) {
	sn, ok := s.subnetByID(subnetID)
	return sn.Zone, ok
}
