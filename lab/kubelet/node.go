package kubelet

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// Tag keys through which the launcher passes kubelet flags, standing in for EC2 user data.
const (
	TagNodeLabels = "nodewright.io/node-labels" // kubelet --node-labels format: k=v,k2=v2
	TagNodeTaints = "nodewright.io/node-taints" // kubelet --register-with-taints format: k=v:Effect,...
)

// Machine is what the stand-in needs to know about a booted instance.
type Machine struct {
	InstanceID   string
	Type         string
	Zone         string
	CapacityType string
	Hostname     string
	PrivateIP    string
	Tags         map[string]string
}

// ProviderID is the AWS cloud provider's node identity for an instance.
func ProviderID(zone, instanceID string) string {
	return fmt.Sprintf("aws:///%s/%s", zone, instanceID)
}

// newNode builds the Node a kubelet on this machine registers: well-known labels, labels and
// taints from its flags, capacity from the instance type, and not yet Ready.
func newNode(m Machine, it catalog.Type) (*corev1.Node, error) {
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
	extra, err := parseLabels(m.Tags[TagNodeLabels])
	if err != nil {
		return nil, fmt.Errorf("instance %s tag %s: %w", m.InstanceID, TagNodeLabels, err)
	}
	for k, v := range extra {
		labels[k] = v
	}
	taints, err := parseTaints(m.Tags[TagNodeTaints])
	if err != nil {
		return nil, fmt.Errorf("instance %s tag %s: %w", m.InstanceID, TagNodeTaints, err)
	}
	capacity, allocatable, err := resources(it)
	if err != nil {
		return nil, fmt.Errorf("instance type %s: %w", it.Name, err)
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.NodeSpec{
			ProviderID: ProviderID(m.Zone, m.InstanceID),
			Taints:     taints,
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

func resources(it catalog.Type) (capacity, allocatable corev1.ResourceList, err error) {
	cpu, err := resource.ParseQuantity(it.Allocatable.CPU)
	if err != nil {
		return nil, nil, fmt.Errorf("allocatable cpu %q: %w", it.Allocatable.CPU, err)
	}
	mem, err := resource.ParseQuantity(it.Allocatable.Memory)
	if err != nil {
		return nil, nil, fmt.Errorf("allocatable memory %q: %w", it.Allocatable.Memory, err)
	}
	eph, err := resource.ParseQuantity(it.Allocatable.EphemeralStorage)
	if err != nil {
		return nil, nil, fmt.Errorf("allocatable ephemeral storage %q: %w", it.Allocatable.EphemeralStorage, err)
	}
	capacity = corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(it.VCPU), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(it.MemoryMiB*1024*1024, resource.BinarySI),
		corev1.ResourceEphemeralStorage: resource.MustParse("20Gi"),
		corev1.ResourcePods:             *resource.NewQuantity(int64(it.MaxPods), resource.DecimalSI),
	}
	allocatable = corev1.ResourceList{
		corev1.ResourceCPU:              cpu,
		corev1.ResourceMemory:           mem,
		corev1.ResourceEphemeralStorage: eph,
		corev1.ResourcePods:             *resource.NewQuantity(int64(it.Allocatable.Pods), resource.DecimalSI),
	}
	if it.GPU != nil && it.GPU.Count > 0 && strings.EqualFold(it.GPU.Manufacturer, "nvidia") {
		n := *resource.NewQuantity(int64(it.GPU.Count), resource.DecimalSI)
		capacity["nvidia.com/gpu"] = n
		allocatable["nvidia.com/gpu"] = n
	}
	if it.Accelerators != nil && it.Accelerators.Count > 0 && strings.EqualFold(it.Accelerators.Manufacturer, "aws") {
		n := *resource.NewQuantity(int64(it.Accelerators.Count), resource.DecimalSI)
		capacity["aws.amazon.com/neuron"] = n
		allocatable["aws.amazon.com/neuron"] = n
	}
	return capacity, allocatable, nil
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

// parseLabels reads kubelet's --node-labels format.
func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("label %q is not key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// parseTaints reads kubelet's --register-with-taints format: key[=value]:Effect.
func parseTaints(s string) ([]corev1.Taint, error) {
	if s == "" {
		return nil, nil
	}
	var out []corev1.Taint
	for _, spec := range strings.Split(s, ",") {
		kv, effect, ok := strings.Cut(spec, ":")
		if !ok {
			return nil, fmt.Errorf("taint %q has no :Effect", spec)
		}
		switch corev1.TaintEffect(effect) {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("taint %q effect %q is not NoSchedule, PreferNoSchedule or NoExecute", spec, effect)
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
