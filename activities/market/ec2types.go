package market

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// instanceTypeScheme splits a type's name as Karpenter's AWS provider does: the category
// letters, an optional "-Ntb" (high-memory types), then the generation digits.
var instanceTypeScheme = regexp.MustCompile(`^([a-z]+)(-[0-9]+tb)?([0-9]+).*\.`)

// typeFromEC2 derives a catalog record from what DescribeInstanceTypes says of a type, with
// the label values Karpenter's AWS provider derives (computeRequirements). Its Allocatable is
// left empty: the catalog sizes such a type by its formulas. ok is false for a type that
// cannot be a node: no name, no vCPUs or no memory.
func typeFromEC2(info ec2types.InstanceTypeInfo) (catalog.Type, bool) {
	name := string(info.InstanceType)
	t := catalog.Type{
		Name:       name,
		Hypervisor: string(info.Hypervisor),
		BareMetal:  aws.ToBool(info.BareMetal),
		Burstable:  aws.ToBool(info.BurstablePerformanceSupported),
	}
	if info.VCpuInfo != nil {
		t.VCPU = int(aws.ToInt32(info.VCpuInfo.DefaultVCpus))
	}
	if info.MemoryInfo != nil {
		t.MemoryMiB = aws.ToInt64(info.MemoryInfo.SizeInMiB)
	}
	if name == "" || t.VCPU <= 0 || t.MemoryMiB <= 0 {
		return catalog.Type{}, false
	}
	t.Family, t.Size, _ = strings.Cut(name, ".")
	if parts := instanceTypeScheme.FindStringSubmatch(name); parts != nil {
		t.Category = parts[1]
		t.Generation, _ = strconv.Atoi(parts[3])
	}
	if p := info.ProcessorInfo; p != nil {
		t.CPUManufacturer = lowerKebabCase(aws.ToString(p.Manufacturer))
		for _, a := range p.SupportedArchitectures {
			t.Architectures = append(t.Architectures, string(a))
		}
	}
	for _, c := range info.SupportedUsageClasses {
		t.UsageClasses = append(t.UsageClasses, string(c))
	}
	t.GPU = gpuFromEC2(info.GpuInfo)
	t.Accelerators = acceleratorFromEC2(info)
	if s := info.InstanceStorageInfo; s != nil && s.NvmeSupport != ec2types.EphemeralNvmeSupportUnsupported {
		t.LocalNVMeGiB = aws.ToInt64(s.TotalSizeInGB)
	}
	setNetwork(&t, info.NetworkInfo)
	t.MaxPods = int(catalog.ENILimitedPods(t))
	return t, true
}

// gpuFromEC2 is the type's GPU as Karpenter labels it: only a type with one kind of GPU.
func gpuFromEC2(info *ec2types.GpuInfo) *catalog.GPU {
	if info == nil || len(info.Gpus) != 1 {
		return nil
	}
	g := info.Gpus[0]
	out := &catalog.GPU{
		Count:        int(aws.ToInt32(g.Count)),
		Name:         lowerKebabCase(aws.ToString(g.Name)),
		Manufacturer: lowerKebabCase(aws.ToString(g.Manufacturer)),
	}
	if g.MemoryInfo != nil {
		out.MemoryMiB = int64(aws.ToInt32(g.MemoryInfo.SizeInMiB))
	}
	return out
}

// acceleratorFromEC2 is the type's Neuron device (Inferentia, Trainium), else its one kind of
// inference accelerator, as Karpenter labels them.
func acceleratorFromEC2(info ec2types.InstanceTypeInfo) *catalog.Accelerator {
	if n := info.NeuronInfo; n != nil {
		if len(n.NeuronDevices) != 1 {
			return nil
		}
		d := n.NeuronDevices[0]
		return &catalog.Accelerator{Count: int(aws.ToInt32(d.Count)), Name: lowerKebabCase(aws.ToString(d.Name)), Manufacturer: "aws"}
	}
	if a := info.InferenceAcceleratorInfo; a != nil && len(a.Accelerators) == 1 {
		d := a.Accelerators[0]
		return &catalog.Accelerator{Count: int(aws.ToInt32(d.Count)), Name: lowerKebabCase(aws.ToString(d.Name)), Manufacturer: lowerKebabCase(aws.ToString(d.Manufacturer))}
	}
	return nil
}

// setNetwork sets the ENI figures the VPC CNI's pod count comes from and the default network
// card's baseline bandwidth.
func setNetwork(t *catalog.Type, n *ec2types.NetworkInfo) {
	if n == nil {
		return
	}
	t.MaxENI = int(aws.ToInt32(n.MaximumNetworkInterfaces))
	t.IPv4PerENI = int(aws.ToInt32(n.Ipv4AddressesPerInterface))
	t.NetworkCards = int(aws.ToInt32(n.MaximumNetworkCards))
	cards := slices.Clone(n.NetworkCards)
	slices.SortFunc(cards, func(a, b ec2types.NetworkCardInfo) int {
		return int(aws.ToInt32(a.NetworkCardIndex) - aws.ToInt32(b.NetworkCardIndex))
	})
	if len(cards) > 0 {
		t.NetworkBandwidthGbps = aws.ToFloat64(cards[0].BaselineBandwidthInGbps)
	}
}

// lowerKebabCase is Karpenter's spelling of EC2's names in label values: "NVIDIA" is
// "nvidia", "Radeon Pro V520" is "radeon-pro-v520".
func lowerKebabCase(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", "-"))
}
