package ec2sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

type describeInstanceTypesResponse struct {
	XMLName       struct{}          `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeInstanceTypesResponse"`
	RequestID     string            `xml:"requestId"`
	InstanceTypes []instanceTypeXML `xml:"instanceTypeSet>item"`
	NextToken     string            `xml:"nextToken,omitempty"`
}

type instanceTypeXML struct {
	InstanceType                  string           `xml:"instanceType"`
	SupportedUsageClasses         []string         `xml:"supportedUsageClasses>item"`
	BareMetal                     bool             `xml:"bareMetal"`
	Hypervisor                    string           `xml:"hypervisor,omitempty"`
	ProcessorInfo                 processorInfoXML `xml:"processorInfo"`
	VCPUInfo                      vcpuInfoXML      `xml:"vCpuInfo"`
	MemoryInfo                    memoryInfoXML    `xml:"memoryInfo"`
	InstanceStorageSupported      bool             `xml:"instanceStorageSupported"`
	InstanceStorageInfo           *storageInfoXML  `xml:"instanceStorageInfo,omitempty"`
	GPUInfo                       *gpuInfoXML      `xml:"gpuInfo,omitempty"`
	BurstablePerformanceSupported bool             `xml:"burstablePerformanceSupported"`
}

type processorInfoXML struct {
	SupportedArchitectures []string `xml:"supportedArchitectures>item"`
}

type vcpuInfoXML struct {
	DefaultVCpus int `xml:"defaultVCpus"`
}

type memoryInfoXML struct {
	SizeInMiB int64 `xml:"sizeInMiB"`
}

type storageInfoXML struct {
	TotalSizeInGB int64 `xml:"totalSizeInGB"`
}

type gpuInfoXML struct {
	GPUs                []gpuDeviceXML `xml:"gpus>item"`
	TotalGPUMemoryInMiB int64          `xml:"totalGpuMemoryInMiB"`
}

type gpuDeviceXML struct {
	Name         string        `xml:"name"`
	Manufacturer string        `xml:"manufacturer"`
	Count        int           `xml:"count"`
	MemoryInfo   memoryInfoXML `xml:"memoryInfo"`
}

// describeInstanceTypes pages in name order, 100 to a page by default as EC2 does, so callers
// must follow NextToken (the SDK paginator does).
func (s *Sim) describeInstanceTypes(p params, requestID string) (any, *apiError) {
	names := p.strings("InstanceType")
	if err := s.checkTypesExist(names); err != nil {
		return nil, err
	}
	match, err := parseFilters(p, instanceTypeFilterField)
	if err != nil {
		return nil, err
	}
	limit, err := pageSize(p, 5, 100, 100)
	if err != nil {
		return nil, err
	}
	after := ""
	if token := p.str("NextToken"); token != "" {
		if after, err = decodeToken(token); err != nil {
			return nil, err
		}
	}
	resp := describeInstanceTypesResponse{RequestID: requestID}
	for _, name := range s.typeNames {
		t := s.types[name]
		if name <= after || (len(names) > 0 && !slices.Contains(names, name)) || !match.match(t) {
			continue
		}
		if len(resp.InstanceTypes) == limit {
			resp.NextToken = encodeToken(resp.InstanceTypes[limit-1].InstanceType)
			break
		}
		resp.InstanceTypes = append(resp.InstanceTypes, toInstanceTypeXML(t))
	}
	return resp, nil
}

func (s *Sim) checkTypesExist(names []string) *apiError {
	var unknown []string
	for _, name := range names {
		if _, ok := s.types[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		return newAPIError(CodeInvalidInstanceType, "The following supplied instance types do not exist: [%s]", strings.Join(unknown, ", "))
	}
	return nil
}

func toInstanceTypeXML(t catalog.Type) instanceTypeXML {
	x := instanceTypeXML{
		InstanceType:                  t.Name,
		SupportedUsageClasses:         t.UsageClasses,
		BareMetal:                     t.BareMetal,
		Hypervisor:                    t.Hypervisor,
		ProcessorInfo:                 processorInfoXML{SupportedArchitectures: t.Architectures},
		VCPUInfo:                      vcpuInfoXML{DefaultVCpus: t.VCPU},
		MemoryInfo:                    memoryInfoXML{SizeInMiB: t.MemoryMiB},
		InstanceStorageSupported:      t.LocalNVMeGiB > 0,
		BurstablePerformanceSupported: t.Burstable,
	}
	if t.LocalNVMeGiB > 0 {
		x.InstanceStorageInfo = &storageInfoXML{TotalSizeInGB: t.LocalNVMeGiB}
	}
	if g := t.GPU; g != nil {
		x.GPUInfo = &gpuInfoXML{
			GPUs:                []gpuDeviceXML{{Name: g.Name, Manufacturer: g.Manufacturer, Count: g.Count, MemoryInfo: memoryInfoXML{SizeInMiB: g.MemoryMiB}}},
			TotalGPUMemoryInMiB: int64(g.Count) * g.MemoryMiB,
		}
	}
	return x
}

// instanceTypeFilterField names the DescribeInstanceTypes filters the simulator understands.
func instanceTypeFilterField(name string) (filterField[catalog.Type], bool) {
	switch name {
	case "instance-type":
		return func(t catalog.Type) []string { return []string{t.Name} }, true
	case "processor-info.supported-architecture":
		return func(t catalog.Type) []string { return t.Architectures }, true
	case "supported-usage-class":
		return func(t catalog.Type) []string { return t.UsageClasses }, true
	case "hypervisor":
		return func(t catalog.Type) []string { return []string{t.Hypervisor} }, true
	case "bare-metal":
		return func(t catalog.Type) []string { return []string{fmt.Sprint(t.BareMetal)} }, true
	case "burstable-performance-supported":
		return func(t catalog.Type) []string { return []string{fmt.Sprint(t.Burstable)} }, true
	case "vcpu-info.default-vcpus":
		return func(t catalog.Type) []string { return []string{fmt.Sprint(t.VCPU)} }, true
	case "memory-info.size-in-mib":
		return func(t catalog.Type) []string { return []string{fmt.Sprint(t.MemoryMiB)} }, true
	}
	return nil, false
}
