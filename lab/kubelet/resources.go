package kubelet

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// resources are the Node's capacity and allocatable as an EKS kubelet reports them: memory as
// EC2 leaves it to the OS (less the VM overhead), ephemeral storage from the volume its files
// live on, pods from the user data's maxPods or the ENIs, and the AMI's bootstrap reservations
// with the user data's own, by the formulas the planner sizes nodes with. Everything comes
// from the machine and its user data, nothing from the node class.
func resources(it catalog.Type, m Machine, cfg bootConfig) (capacity, allocatable corev1.ResourceList, err error) {
	k := kubeletSettings(cfg)
	k.RootVolume = nodeFSVolume(m, k.AMIFamily)
	return catalog.NodeResources(it, k)
}

// bottlerocketDataDevice is Bottlerocket's data volume, where its kubelet's files live
// (Karpenter's ephemeral block device for the family).
const bottlerocketDataDevice = "/dev/xvdb"

// nodeFSVolume is the size of the volume the kubelet's files live on: Bottlerocket's data
// volume, any other family's root volume. Nil, the AMIs' default, when the machine does not
// say.
func nodeFSVolume(m Machine, family string) *resource.Quantity {
	device := m.RootDevice
	if family == awsv1.AMIFamilyBottlerocket {
		device = bottlerocketDataDevice
	}
	size, ok := m.Volumes[device]
	if !ok || size.Sign() <= 0 {
		return nil
	}
	return &size
}

// kubeletSettings are the sizing parts of what the node read from its user data.
func kubeletSettings(cfg bootConfig) catalog.KubeletSettings {
	k := catalog.KubeletSettings{
		AMIFamily:      awsv1.AMIFamilyAL2023,
		KubeReserved:   quantityStrings(cfg.KubeReserved),
		SystemReserved: quantityStrings(cfg.SystemReserved),
		EvictionHard:   cfg.EvictionHard,
	}
	if cfg.Format == formatBottlerocket {
		k.AMIFamily = awsv1.AMIFamilyBottlerocket
	}
	if cfg.MaxPods > 0 {
		k.MaxPods = &cfg.MaxPods
	}
	if cfg.PodsPerCore > 0 {
		k.PodsPerCore = &cfg.PodsPerCore
	}
	return k
}

func quantityStrings(rl corev1.ResourceList) map[string]string {
	if len(rl) == 0 {
		return nil
	}
	out := make(map[string]string, len(rl))
	for name, q := range rl {
		out[string(name)] = q.String()
	}
	return out
}

// reservedResources parses a kubelet reservation (systemReserved, kubeReserved). The kubelet
// refuses to start on a quantity it cannot parse or a resource it cannot reserve.
func reservedResources(m map[string]string) (corev1.ResourceList, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		switch corev1.ResourceName(name) {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, "pid":
		default:
			return nil, fmt.Errorf("cannot reserve %q resource", name)
		}
		q, err := resource.ParseQuantity(m[name])
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", name, m[name], err)
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("%s %q is negative", name, m[name])
		}
		out[corev1.ResourceName(name)] = q
	}
	return out, nil
}

// checkEvictionThresholds refuses what the kubelet refuses in evictionHard: an unknown signal,
// or a threshold that is neither a quantity nor a percentage.
func checkEvictionThresholds(m map[string]string) error {
	for _, signal := range slices.Sorted(maps.Keys(m)) {
		switch signal {
		case "memory.available", "allocatableMemory.available", "nodefs.available", "nodefs.inodesFree",
			"imagefs.available", "imagefs.inodesFree", "containerfs.available", "containerfs.inodesFree", "pid.available":
		default:
			return fmt.Errorf("unsupported eviction signal %q", signal)
		}
		if _, err := catalog.EvictionThreshold(resource.Quantity{}, m[signal]); err != nil {
			return fmt.Errorf("%s: %w", signal, err)
		}
	}
	return nil
}
