package catalog

import (
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// Label keys of the AWS provider, spelled as Karpenter's karpenter.k8s.aws labels so that pod
// specs written for Karpenter select the same types.
const (
	LabelInstanceCategory        = "karpenter.k8s.aws/instance-category"
	LabelInstanceFamily          = "karpenter.k8s.aws/instance-family"
	LabelInstanceGeneration      = "karpenter.k8s.aws/instance-generation"
	LabelInstanceSize            = "karpenter.k8s.aws/instance-size"
	LabelInstanceCPU             = "karpenter.k8s.aws/instance-cpu"
	LabelInstanceCPUManufacturer = "karpenter.k8s.aws/instance-cpu-manufacturer"
	LabelInstanceMemory          = "karpenter.k8s.aws/instance-memory"
	LabelInstanceHypervisor      = "karpenter.k8s.aws/instance-hypervisor"
	LabelInstanceGPUName         = "karpenter.k8s.aws/instance-gpu-name"
	LabelInstanceGPUCount        = "karpenter.k8s.aws/instance-gpu-count"
	LabelInstanceGPUManufacturer = "karpenter.k8s.aws/instance-gpu-manufacturer"
	LabelInstanceGPUMemory       = "karpenter.k8s.aws/instance-gpu-memory"
	LabelInstanceAcceleratorName = "karpenter.k8s.aws/instance-accelerator-name"
	LabelInstanceAcceleratorMfr  = "karpenter.k8s.aws/instance-accelerator-manufacturer"
	LabelInstanceAcceleratorCnt  = "karpenter.k8s.aws/instance-accelerator-count"
	LabelInstanceLocalNVMe       = "karpenter.k8s.aws/instance-local-nvme"
	LabelInstanceNetworkBW       = "karpenter.k8s.aws/instance-network-bandwidth"
	LabelInstancePods            = "karpenter.k8s.aws/instance-pods"
)

// Extended resources the device plugins of GPU and accelerator makers advertise.
const (
	ResourceNVIDIAGPU   corev1.ResourceName = "nvidia.com/gpu"
	ResourceAMDGPU      corev1.ResourceName = "amd.com/gpu"
	ResourceHabanaGaudi corev1.ResourceName = "habana.ai/gaudi"
	ResourceAWSNeuron   corev1.ResourceName = "aws.amazon.com/neuron"
)

// InstanceTypes converts catalog records into the scheduler's instance types as sold in
// the given us-east-1 zones at the records' own prices: each type on-demand in every zone and,
// where it is sold as spot, spot at the modelled price. Tests and tools use it; the worker
// asks InstanceTypesIn with the market it sees.
func InstanceTypes(types []Type, zones []string) []schedulerengine.InstanceType {
	m, err := NewFallback(types, DefaultRegion, zones)
	if err != nil {
		panic(err) // DefaultRegion's prices are the records' own: this cannot fail
	}
	return InstanceTypesIn(types, regionOf(m.zones), m)
}

// InstanceTypesIn converts catalog records into the scheduler's instance types, labelled with
// the region, with an offering wherever the market sells them: on-demand in each zone that
// offers the type at a known price, spot there too where the type is sold as spot and the
// zone has a spot price. A type with no offering is left out, as it cannot be launched. The
// result is sorted by name and each type's offerings by zone, then on-demand before spot, so
// the same records and market always yield the same slice.
func InstanceTypesIn(types []Type, region string, m Market) []schedulerengine.InstanceType {
	out := make([]schedulerengine.InstanceType, 0, len(types))
	for _, t := range types {
		offers := offerings(t, m)
		if len(offers) == 0 {
			continue
		}
		extended := extendedResources(t)
		out = append(out, schedulerengine.InstanceType{
			Name:        t.Name,
			Labels:      Labels(t, region),
			Capacity:    capacity(t, extended),
			Allocatable: allocatable(t, extended),
			Offerings:   offers,
		})
	}
	slices.SortFunc(out, func(a, b schedulerengine.InstanceType) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Labels are the well-known labels every node of the type carries in the region
// (karpenter.k8s.aws/instance-*, instance type, arch, os, region where not empty).
func Labels(t Type, region string) map[string]string {
	l := labels(t)
	if region != "" {
		l[v1.LabelRegion] = region
	}
	return l
}

// labels follows Karpenter's AWS provider: memory and GPU memory in MiB, network bandwidth in
// Mbps, local NVMe in GiB, and GPU, accelerator, NVMe and bandwidth labels only where the
// type has them.
func labels(t Type) map[string]string {
	l := map[string]string{
		v1.LabelInstanceType:    t.Name,
		v1.LabelOS:              "linux",
		LabelInstanceCategory:   t.Category,
		LabelInstanceFamily:     t.Family,
		LabelInstanceGeneration: strconv.Itoa(t.Generation),
		LabelInstanceSize:       t.Size,
		LabelInstanceCPU:        strconv.Itoa(t.VCPU),
		LabelInstanceMemory:     strconv.FormatInt(t.MemoryMiB, 10),
		LabelInstancePods:       strconv.Itoa(t.MaxPods),
	}
	if arch := kubeArch(t.Architectures); arch != "" {
		l[v1.LabelArch] = arch
	}
	setIfSet(l, LabelInstanceCPUManufacturer, t.CPUManufacturer)
	setIfSet(l, LabelInstanceHypervisor, t.Hypervisor)
	if g := t.GPU; g != nil && g.Count > 0 {
		l[LabelInstanceGPUName] = strings.ToLower(g.Name)
		l[LabelInstanceGPUManufacturer] = strings.ToLower(g.Manufacturer)
		l[LabelInstanceGPUCount] = strconv.Itoa(g.Count)
		l[LabelInstanceGPUMemory] = strconv.FormatInt(g.MemoryMiB, 10)
	}
	if a := t.Accelerators; a != nil && a.Count > 0 {
		l[LabelInstanceAcceleratorName] = strings.ToLower(a.Name)
		l[LabelInstanceAcceleratorMfr] = strings.ToLower(a.Manufacturer)
		l[LabelInstanceAcceleratorCnt] = strconv.Itoa(a.Count)
	}
	if t.LocalNVMeGiB > 0 {
		l[LabelInstanceLocalNVMe] = strconv.FormatInt(t.LocalNVMeGiB, 10)
	}
	if t.NetworkBandwidthGbps > 0 {
		l[LabelInstanceNetworkBW] = strconv.FormatInt(int64(math.Round(t.NetworkBandwidthGbps*1000)), 10)
	}
	return l
}

// regionOf derives the region from AWS zone names ("us-east-1a" -> "us-east-1"), or ""
// when the zones do not all name one region.
func regionOf(zones []string) string {
	region := ""
	for _, z := range zones {
		r := strings.TrimRight(z, "abcdefghijklmnopqrstuvwxyz")
		if r == "" || r == z || (region != "" && r != region) {
			return ""
		}
		region = r
	}
	return region
}

func setIfSet(l map[string]string, key, value string) {
	if value != "" {
		l[key] = value
	}
}

// kubeArch maps EC2's architecture names to Kubernetes' GOARCH names.
func kubeArch(archs []string) string {
	for _, a := range archs {
		switch a {
		case "x86_64":
			return "amd64"
		case "arm64":
			return "arm64"
		}
	}
	return ""
}

// extendedResources are the device-plugin resources the type's GPUs or accelerators provide.
func extendedResources(t Type) corev1.ResourceList {
	rl := corev1.ResourceList{}
	if g := t.GPU; g != nil && g.Count > 0 {
		switch strings.ToLower(g.Manufacturer) {
		case "nvidia":
			rl[ResourceNVIDIAGPU] = *resource.NewQuantity(int64(g.Count), resource.DecimalSI)
		case "amd":
			rl[ResourceAMDGPU] = *resource.NewQuantity(int64(g.Count), resource.DecimalSI)
		case "habana":
			rl[ResourceHabanaGaudi] = *resource.NewQuantity(int64(g.Count), resource.DecimalSI)
		}
	}
	if a := t.Accelerators; a != nil && a.Count > 0 && isNeuron(a.Name) {
		rl[ResourceAWSNeuron] = *resource.NewQuantity(int64(a.Count), resource.DecimalSI)
	}
	return rl
}

// isNeuron reports whether an accelerator is one of AWS's Inferentia or Trainium chips,
// which the Neuron device plugin advertises as aws.amazon.com/neuron.
func isNeuron(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "inferentia") || strings.HasPrefix(n, "trainium")
}

// capacity is what a node of the type reports: its memory as the OS sees it, less the VM
// overhead, as the kubelet reports it and pool limits count it once the node registers.
func capacity(t Type, extended corev1.ResourceList) corev1.ResourceList {
	rl := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(t.VCPU), resource.DecimalSI),
		corev1.ResourceMemory: KubeletSettings{}.memory(t),
		corev1.ResourcePods:   *resource.NewQuantity(int64(t.MaxPods), resource.DecimalSI),
	}
	for name, q := range extended {
		rl[name] = q.DeepCopy()
	}
	return rl
}

// allocatable is the record's karpenterAllocatable. A figure that does not parse is left out,
// so no pod needing that resource is placed on the type (the catalog test checks none is). A
// record without documented figures (one derived from EC2) is sized by Karpenter's formulas
// for its default node.
func allocatable(t Type, extended corev1.ResourceList) corev1.ResourceList {
	if t.Allocatable == (Allocatable{}) {
		if _, rl, err := NodeResources(t, KubeletSettings{}); err == nil {
			return rl
		}
	}
	rl := corev1.ResourceList{
		corev1.ResourcePods: *resource.NewQuantity(int64(t.Allocatable.Pods), resource.DecimalSI),
	}
	for name, s := range map[corev1.ResourceName]string{
		corev1.ResourceCPU:              t.Allocatable.CPU,
		corev1.ResourceMemory:           t.Allocatable.Memory,
		corev1.ResourceEphemeralStorage: t.Allocatable.EphemeralStorage,
	} {
		if q, err := resource.ParseQuantity(s); err == nil {
			rl[name] = q
		}
	}
	for name, q := range extended {
		rl[name] = q.DeepCopy()
	}
	return rl
}

func offerings(t Type, m Market) []schedulerengine.Offering {
	zones := slices.Compact(slices.Sorted(slices.Values(m.Zones(t.Name))))
	onDemand, hasOnDemand := m.OnDemandPrice(t.Name)
	spot := t.SupportsSpot()
	out := make([]schedulerengine.Offering, 0, 2*len(zones))
	for _, z := range zones {
		if hasOnDemand {
			out = append(out, schedulerengine.Offering{Zone: z, CapacityType: v1.CapacityTypeOnDemand, PricePerHour: onDemand, Available: true})
		}
		if !spot {
			continue
		}
		if price, ok := m.SpotPrice(t.Name, z); ok {
			out = append(out, schedulerengine.Offering{Zone: z, CapacityType: v1.CapacityTypeSpot, PricePerHour: price, Available: true})
		}
	}
	return out
}
