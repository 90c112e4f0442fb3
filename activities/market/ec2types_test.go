package market

import (
	"context"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// The records derived from the recorded DescribeInstanceTypes answer carry the labels the
// embedded catalog gives the same types, GPU and local NVMe included.
func TestTypeFromEC2LabelsAsTheCatalog(t *testing.T) {
	f := newFixtureAWS(t)
	ec2c, _ := f.clients()
	infos, err := fetchInstanceTypes(context.Background(), ec2c)
	if err != nil {
		t.Fatal(err)
	}
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	known := catalog.Index(types)
	for name, info := range infos {
		t.Run(name, func(t *testing.T) {
			derived, ok := typeFromEC2(info)
			if !ok {
				t.Fatal("not derived")
			}
			want, got := catalog.Labels(known[name], "us-east-1"), catalog.Labels(derived, "us-east-1")
			if !maps.Equal(got, want) {
				t.Errorf("labels differ from the catalog's:\n got %v\nwant %v", got, want)
			}
			if derived.MaxPods != known[name].MaxPods || derived.Burstable != known[name].Burstable || derived.BareMetal != known[name].BareMetal {
				t.Errorf("max pods %d burstable %v bare metal %v, want the catalog's %d %v %v", derived.MaxPods, derived.Burstable, derived.BareMetal,
					known[name].MaxPods, known[name].Burstable, known[name].BareMetal)
			}
			if derived.Allocatable != (catalog.Allocatable{}) {
				t.Errorf("allocatable %+v, want none documented", derived.Allocatable)
			}
		})
	}
	if len(infos) != 5 {
		t.Errorf("%d types in the fixtures, want 5", len(infos))
	}
}

func TestTypeFromEC2SplitsNamesAsKarpenter(t *testing.T) {
	tests := []struct {
		name, family, category, size string
		generation                   int
	}{
		{"u7i-12tb.224xlarge", "u7i-12tb", "u", "224xlarge", 7},
		{"u-12tb1.112xlarge", "u-12tb1", "u", "112xlarge", 1},
		{"m7i-flex.large", "m7i-flex", "m", "large", 7},
		{"c6gn.16xlarge", "c6gn", "c", "16xlarge", 6},
		{"mac2.metal", "mac2", "mac", "metal", 2},
		{"x8aedz.24xlarge", "x8aedz", "x", "24xlarge", 8},
		{"inf2.xlarge", "inf2", "inf", "xlarge", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := typeFromEC2(ec2types.InstanceTypeInfo{
				InstanceType: ec2types.InstanceType(tt.name),
				VCpuInfo:     &ec2types.VCpuInfo{DefaultVCpus: aws.Int32(2)},
				MemoryInfo:   &ec2types.MemoryInfo{SizeInMiB: aws.Int64(4096)},
			})
			if !ok {
				t.Fatal("not derived")
			}
			if got.Family != tt.family || got.Category != tt.category || got.Generation != tt.generation || got.Size != tt.size {
				t.Errorf("family %q category %q generation %d size %q, want %q %q %d %q",
					got.Family, got.Category, got.Generation, got.Size, tt.family, tt.category, tt.generation, tt.size)
			}
		})
	}
}

func TestTypeFromEC2Accelerators(t *testing.T) {
	tests := []struct {
		name string
		info ec2types.InstanceTypeInfo
		want *catalog.Accelerator
	}{
		{
			name: "a Neuron device is AWS's",
			info: ec2types.InstanceTypeInfo{NeuronInfo: &ec2types.NeuronInfo{NeuronDevices: []ec2types.NeuronDeviceInfo{{Count: aws.Int32(1), Name: aws.String("Inferentia2")}}}},
			want: &catalog.Accelerator{Count: 1, Name: "inferentia2", Manufacturer: "aws"},
		},
		{
			name: "an inference accelerator keeps its maker",
			info: ec2types.InstanceTypeInfo{InferenceAcceleratorInfo: &ec2types.InferenceAcceleratorInfo{Accelerators: []ec2types.InferenceDeviceInfo{{Count: aws.Int32(4), Name: aws.String("Inferentia"), Manufacturer: aws.String("AWS")}}}},
			want: &catalog.Accelerator{Count: 4, Name: "inferentia", Manufacturer: "aws"},
		},
		{name: "none", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := acceleratorFromEC2(tt.info)
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Errorf("accelerator %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTypeFromEC2RefusesATypeWithoutCPUOrMemory(t *testing.T) {
	for _, info := range []ec2types.InstanceTypeInfo{
		{InstanceType: "z9x.large", MemoryInfo: &ec2types.MemoryInfo{SizeInMiB: aws.Int64(4096)}},
		{InstanceType: "z9x.large", VCpuInfo: &ec2types.VCpuInfo{DefaultVCpus: aws.Int32(2)}},
	} {
		if got, ok := typeFromEC2(info); ok {
			t.Errorf("derived %+v from a type without vCPUs or memory", got)
		}
	}
}
