package ec2sim_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

func loadCatalog(t *testing.T) []catalog.Type {
	t.Helper()
	all, err := catalog.Load()
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	return all
}

func TestDescribeInstanceTypesPaginatorReturnsEveryType(t *testing.T) {
	all := loadCatalog(t)
	client := newClient(t, newSim(t, func(o *ec2sim.Options) { o.Types = all }), 1)

	pages := ec2.NewDescribeInstanceTypesPaginator(client, &ec2.DescribeInstanceTypesInput{})
	var names []string
	pageCount := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("page %d: %v", pageCount+1, err)
		}
		pageCount++
		for _, it := range page.InstanceTypes {
			names = append(names, string(it.InstanceType))
		}
	}
	var want []string
	for _, typ := range all {
		want = append(want, typ.Name)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("paginator listed %d types, want the catalog's %d in name order", len(names), len(want))
	}
	if wantPages := (len(all) + 99) / 100; pageCount != wantPages {
		t.Errorf("%d types came in %d pages, want %d pages of 100", len(all), pageCount, wantPages)
	}
}

func TestDescribeInstanceTypesDescribesTheCatalogRecord(t *testing.T) {
	all := loadCatalog(t)
	index := catalog.Index(all)
	client := newClient(t, newSim(t, func(o *ec2sim.Options) { o.Types = all }), 1)

	var withGPU catalog.Type
	for _, typ := range all {
		if typ.GPU != nil {
			withGPU = typ
			break
		}
	}
	out, err := client.DescribeInstanceTypes(context.Background(), &ec2.DescribeInstanceTypesInput{
		InstanceTypes: []types.InstanceType{types.InstanceType(withGPU.Name), "m5.large"},
	})
	if err != nil {
		t.Fatalf("describe instance types: %v", err)
	}
	if len(out.InstanceTypes) != 2 {
		t.Fatalf("asked for 2 types, got %d", len(out.InstanceTypes))
	}
	for _, info := range out.InstanceTypes {
		want := index[string(info.InstanceType)]
		if aws.ToInt32(info.VCpuInfo.DefaultVCpus) != int32(want.VCPU) || aws.ToInt64(info.MemoryInfo.SizeInMiB) != want.MemoryMiB {
			t.Errorf("%s has %d vCPU %d MiB, catalog says %d vCPU %d MiB", want.Name,
				aws.ToInt32(info.VCpuInfo.DefaultVCpus), aws.ToInt64(info.MemoryInfo.SizeInMiB), want.VCPU, want.MemoryMiB)
		}
		var arches []string
		for _, a := range info.ProcessorInfo.SupportedArchitectures {
			arches = append(arches, string(a))
		}
		if !slices.Equal(arches, want.Architectures) {
			t.Errorf("%s architectures are %v, catalog says %v", want.Name, arches, want.Architectures)
		}
		if (info.GpuInfo != nil) != (want.GPU != nil) {
			t.Errorf("%s gpu info is %+v, catalog gpu is %+v", want.Name, info.GpuInfo, want.GPU)
		}
		if info.GpuInfo != nil {
			gpu := info.GpuInfo.Gpus[0]
			if aws.ToInt32(gpu.Count) != int32(want.GPU.Count) || aws.ToString(gpu.Name) != want.GPU.Name || aws.ToInt32(gpu.MemoryInfo.SizeInMiB) != int32(want.GPU.MemoryMiB) {
				t.Errorf("%s gpu is %d×%s %d MiB, catalog says %+v", want.Name, aws.ToInt32(gpu.Count), aws.ToString(gpu.Name), aws.ToInt32(gpu.MemoryInfo.SizeInMiB), *want.GPU)
			}
		}
	}
}

func TestDescribeInstanceTypesFiltersAndRefusals(t *testing.T) {
	tests := []struct {
		name      string
		in        *ec2.DescribeInstanceTypesInput
		wantTypes []string
		wantCode  string
	}{
		{name: "an architecture filter keeps only that architecture",
			in:        &ec2.DescribeInstanceTypesInput{Filters: []types.Filter{{Name: aws.String("processor-info.supported-architecture"), Values: []string{"arm64"}}}},
			wantTypes: []string{"m7g.large"}},
		{name: "an instance-type filter takes wildcards",
			in:        &ec2.DescribeInstanceTypesInput{Filters: []types.Filter{{Name: aws.String("instance-type"), Values: []string{"m5.*"}}}},
			wantTypes: []string{"m5.large", "m5.xlarge"}},
		{name: "an unknown type is refused",
			in:       &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"z9.imaginary"}},
			wantCode: ec2sim.CodeInvalidInstanceType},
		{name: "an unknown filter is refused",
			in:       &ec2.DescribeInstanceTypesInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"blue"}}}},
			wantCode: ec2sim.CodeInvalidParameterValue},
		{name: "a page larger than EC2 allows is refused",
			in:       &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(500)},
			wantCode: ec2sim.CodeInvalidParameterValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := newClient(t, newSim(t), 1)
			out, err := client.DescribeInstanceTypes(context.Background(), tc.in)
			if tc.wantCode != "" {
				if code := errorCode(t, err); code != tc.wantCode {
					t.Errorf("error code is %s, want %s", code, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("describe instance types: %v", err)
			}
			var got []string
			for _, it := range out.InstanceTypes {
				got = append(got, string(it.InstanceType))
			}
			if !slices.Equal(got, tc.wantTypes) {
				t.Errorf("listed %v, want %v", got, tc.wantTypes)
			}
		})
	}
}
