package kubelet

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// Machine is what the stand-in needs to know about a booted instance.
type Machine struct {
	InstanceID   string
	Type         string
	Zone         string
	CapacityType string
	Hostname     string
	PrivateIP    string
	// UserData is the instance's user data, decoded from the base64 EC2 carries it in. It is
	// all the node knows of its cluster, labels and taints, as on EKS.
	UserData string
	// InstanceProfile is the instance profile (name or ARN) the instance runs with: the IAM
	// identity its kubelet authenticates to the cluster as.
	InstanceProfile string
	// RootDevice is the device the instance boots from and Volumes the size of each EBS volume
	// it was launched with, by device. The node's ephemeral storage is the volume its kubelet's
	// files live on (nodeFSVolume); without one the node reports the AMIs' default.
	RootDevice string
	Volumes    map[string]resource.Quantity
}

// ProviderID is the AWS cloud provider's node identity for an instance.
func ProviderID(zone, instanceID string) string {
	return fmt.Sprintf("aws:///%s/%s", zone, instanceID)
}

// newNode builds the Node a kubelet on this machine registers: well-known labels, labels and
// taints from its user data, capacity from the instance type and user data, and not yet Ready.
func newNode(m Machine, it catalog.Type, cfg bootConfig) (*corev1.Node, error) {
	name := m.Hostname
	if name == "" {
		name = m.InstanceID
	}
	labels := map[string]string{
		v1.LabelInstanceType:               m.Type,
		"beta.kubernetes.io/instance-type": m.Type,
		v1.LabelZone:                       m.Zone,
		v1.LabelRegion:                     regionOf(m.Zone),
		v1.LabelArch:                       archLabel(it.Architectures),
		v1.LabelOS:                         "linux",
		v1.LabelHostname:                   name,
		v1.LabelCapacityType:               m.CapacityType,
	}
	// The kubelet's --node-labels override the labels it would set itself.
	maps.Copy(labels, cfg.Labels)
	capacity, allocatable, err := resources(it, m, cfg)
	if err != nil {
		return nil, fmt.Errorf("instance type %s: %w", it.Name, err)
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.NodeSpec{
			ProviderID: ProviderID(m.Zone, m.InstanceID),
			Taints:     slices.Clone(cfg.Taints),
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: allocatable,
			Addresses:   addresses(m, name),
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionFalse,
				Reason: "KubeletNotReady", Message: "container runtime is starting",
			}},
			NodeInfo: corev1.NodeSystemInfo{
				Architecture: archLabel(it.Architectures), OperatingSystem: "linux",
				KubeletVersion: "v1.37.2", ContainerRuntimeVersion: "containerd://2.1.0",
			},
		},
	}, nil
}

func addresses(m Machine, hostname string) []corev1.NodeAddress {
	out := []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: hostname}}
	if m.PrivateIP != "" {
		out = append(out, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: m.PrivateIP})
	}
	if m.Hostname != "" {
		out = append(out, corev1.NodeAddress{Type: corev1.NodeInternalDNS, Address: m.Hostname})
	}
	return out
}

func archLabel(archs []string) string {
	for _, a := range archs {
		if a == "arm64" {
			return "arm64"
		}
	}
	return "amd64"
}

// regionOf strips the zone letter: us-east-1a → us-east-1.
func regionOf(zone string) string {
	if zone == "" {
		return ""
	}
	return zone[:len(zone)-1]
}
