package catalog

import "testing"

func TestLoadHasPricedTypesWithAllocatable(t *testing.T) {
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(types) < 1000 {
		t.Fatalf("catalog has %d types, want the us-east-1 price list (over 1000)", len(types))
	}
	byName := Index(types)
	m5, ok := byName["m5.large"]
	if !ok {
		t.Fatal("m5.large missing from catalog")
	}
	if m5.VCPU != 2 || m5.MemoryMiB != 8192 || m5.OnDemandPrice <= 0 {
		t.Errorf("m5.large = %d vCPU, %d MiB, $%v/h; want 2 vCPU, 8192 MiB, a price", m5.VCPU, m5.MemoryMiB, m5.OnDemandPrice)
	}
	if sp := m5.SpotPrice(); sp <= 0 || sp >= m5.OnDemandPrice {
		t.Errorf("m5.large spot price %v should be below on-demand %v", sp, m5.OnDemandPrice)
	}
	for _, ty := range types {
		if ty.Allocatable.CPU == "" || ty.Allocatable.Memory == "" || ty.Allocatable.Pods == 0 {
			t.Errorf("%s has no allocatable figures", ty.Name)
		}
	}
}
