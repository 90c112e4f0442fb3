package catalog

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// With Karpenter's default settings the formulas give the allocatable its docs print for every
// type of the catalog: the catalog's karpenterAllocatable is that table.
func TestNodeResourcesReproduceKarpenterDocumentedAllocatable(t *testing.T) {
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range types {
		_, allocatable, err := NodeResources(it, KubeletSettings{})
		if err != nil {
			t.Fatalf("%s: %v", it.Name, err)
		}
		documented := map[corev1.ResourceName]string{
			corev1.ResourceCPU:              it.Allocatable.CPU,
			corev1.ResourceMemory:           it.Allocatable.Memory,
			corev1.ResourceEphemeralStorage: it.Allocatable.EphemeralStorage,
			corev1.ResourcePods:             resource.NewQuantity(int64(it.Allocatable.Pods), resource.DecimalSI).String(),
		}
		for name, want := range documented {
			if got := allocatable[name]; got.Cmp(resource.MustParse(want)) != 0 {
				t.Errorf("%s allocatable %s = %s, Karpenter documents %s", it.Name, name, got.String(), want)
			}
		}
	}
}

func TestNodeResourcesFollowKubeletSettings(t *testing.T) {
	// m5.large: 2 vCPU, 8192 MiB, 3 ENIs × 10 addresses (29 pods); 7577Mi after the VM
	// overhead, less 574Mi kube-reserved and 100Mi eviction is 6903Mi.
	tests := []struct {
		name     string
		typ      string
		settings KubeletSettings
		capacity map[corev1.ResourceName]string
		want     map[corev1.ResourceName]string // allocatable
	}{
		{name: "defaults: the VM overhead comes off capacity, the AMI's reservations off allocatable", typ: "m5.large",
			capacity: map[corev1.ResourceName]string{"cpu": "2", "memory": "7577Mi", "ephemeral-storage": "20Gi", "pods": "29"},
			want:     map[corev1.ResourceName]string{"cpu": "1930m", "memory": "6903Mi", "ephemeral-storage": "17Gi", "pods": "29"}},
		{name: "maxPods replaces the ENI-limited pods; AL2023 still reserves memory for the ENI-limited count", typ: "m5.large",
			settings: KubeletSettings{AMIFamily: "AL2023", MaxPods: ptr.To[int32](110)},
			capacity: map[corev1.ResourceName]string{"pods": "110"},
			want:     map[corev1.ResourceName]string{"cpu": "1930m", "memory": "6903Mi", "pods": "110"}},
		{name: "Bottlerocket reserves memory for the pods maxPods allows", typ: "m5.large",
			settings: KubeletSettings{AMIFamily: "Bottlerocket", MaxPods: ptr.To[int32](110)},
			want:     map[corev1.ResourceName]string{"memory": "6012Mi", "pods": "110"}},
		{name: "podsPerCore caps pods at so many a vCPU", typ: "m5.large",
			settings: KubeletSettings{MaxPods: ptr.To[int32](110), PodsPerCore: ptr.To[int32](5)},
			want:     map[corev1.ResourceName]string{"pods": "10"}},
		{name: "Bottlerocket has no podsPerCore", typ: "m5.large",
			settings: KubeletSettings{AMIFamily: "Bottlerocket", PodsPerCore: ptr.To[int32](5)},
			want:     map[corev1.ResourceName]string{"pods": "29"}},
		{name: "prefix delegation gives 110 pods by default", typ: "m5.large",
			settings: KubeletSettings{PrefixDelegation: true},
			want:     map[corev1.ResourceName]string{"memory": "6903Mi", "pods": "110"}},
		{name: "maxPods wins over prefix delegation", typ: "m5.large",
			settings: KubeletSettings{PrefixDelegation: true, MaxPods: ptr.To[int32](50)},
			want:     map[corev1.ResourceName]string{"pods": "50"}},
		{name: "kubeReserved replaces the default it names and keeps the others", typ: "m5.large",
			settings: KubeletSettings{KubeReserved: map[string]string{"memory": "1Gi"}},
			want:     map[corev1.ResourceName]string{"cpu": "1930m", "memory": "6453Mi", "ephemeral-storage": "17Gi"}},
		{name: "systemReserved comes on top of kube-reserved", typ: "m5.large",
			settings: KubeletSettings{SystemReserved: map[string]string{"cpu": "100m", "memory": "100Mi", "ephemeral-storage": "1Gi", "pid": "1000"}},
			want:     map[corev1.ResourceName]string{"cpu": "1830m", "memory": "6803Mi", "ephemeral-storage": "16Gi"}},
		{name: "evictionHard memory.available replaces the 100Mi default", typ: "m5.large",
			settings: KubeletSettings{EvictionHard: map[string]string{"memory.available": "500Mi"}},
			want:     map[corev1.ResourceName]string{"memory": "6503Mi", "ephemeral-storage": "17Gi"}},
		{name: "evictionHard as a percentage of capacity", typ: "m5.large",
			settings: KubeletSettings{EvictionHard: map[string]string{"nodefs.available": "15%"}},
			want:     map[corev1.ResourceName]string{"memory": "6903Mi", "ephemeral-storage": "16Gi"}},
		{name: "evictionHard at 100% disables the signal", typ: "m5.large",
			settings: KubeletSettings{EvictionHard: map[string]string{"memory.available": "100%"}},
			want:     map[corev1.ResourceName]string{"memory": "7003Mi"}},
		{name: "a larger root volume gives more ephemeral storage, less its 10% threshold", typ: "m5.large",
			settings: KubeletSettings{RootVolume: ptr.To(resource.MustParse("100Gi"))},
			capacity: map[corev1.ResourceName]string{"ephemeral-storage": "100Gi"},
			want:     map[corev1.ResourceName]string{"ephemeral-storage": "89Gi"}},
		{name: "a smaller VM overhead leaves more memory", typ: "m5.large",
			settings: KubeletSettings{VMMemoryOverheadPercent: 0.05},
			capacity: map[corev1.ResourceName]string{"memory": "7782Mi"},
			want:     map[corev1.ResourceName]string{"memory": "7108Mi"}},
		{name: "Graviton keeps 64 MiB for its CMA before the VM overhead", typ: "a1.large",
			capacity: map[corev1.ResourceName]string{"memory": "3729Mi"},
			want:     map[corev1.ResourceName]string{"memory": "3055Mi"}},
		{name: "a type of many network cards counts the default card's ENIs only", typ: "p5.48xlarge",
			capacity: map[corev1.ResourceName]string{"pods": "100", "nvidia.com/gpu": "8"},
			want:     map[corev1.ResourceName]string{"pods": "100", "nvidia.com/gpu": "8"}},
		{name: "reservations larger than the machine leave nothing, not less", typ: "m5.large",
			settings: KubeletSettings{SystemReserved: map[string]string{"cpu": "4"}},
			want:     map[corev1.ResourceName]string{"cpu": "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			capacity, allocatable, err := NodeResources(catalogType(t, tt.typ), tt.settings)
			if err != nil {
				t.Fatalf("NodeResources: %v", err)
			}
			expectQuantities(t, "capacity", capacity, tt.capacity)
			expectQuantities(t, "allocatable", allocatable, tt.want)
		})
	}
}

func TestNodeResourcesRefuseBadSettingsNamingThem(t *testing.T) {
	tests := []struct {
		name     string
		settings KubeletSettings
		wantErr  string
	}{
		{name: "a reservation that is no quantity", settings: KubeletSettings{KubeReserved: map[string]string{"memory": "lots"}},
			wantErr: `kubeReserved memory: "lots" is not a quantity`},
		{name: "a negative reservation", settings: KubeletSettings{SystemReserved: map[string]string{"cpu": "-1"}},
			wantErr: `systemReserved cpu: "-1" is negative`},
		{name: "a percentage over 100", settings: KubeletSettings{EvictionHard: map[string]string{"nodefs.available": "110%"}},
			wantErr: `evictionHard nodefs.available: "110%" is not a percentage`},
		{name: "a threshold that is neither", settings: KubeletSettings{EvictionHard: map[string]string{"memory.available": "half"}},
			wantErr: `evictionHard memory.available: "half" is neither a quantity`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NodeResources(catalogType(t, "m5.large"), tt.settings)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NodeResources error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestKubeReservedCPUFollowsTheAMILadder(t *testing.T) {
	tests := []struct {
		vcpu int
		want int64
	}{{1, 60}, {2, 70}, {4, 80}, {8, 90}, {96, 310}}
	for _, tt := range tests {
		if got := KubeReservedCPU(tt.vcpu); got != tt.want {
			t.Errorf("KubeReservedCPU(%d) = %dm, want %dm", tt.vcpu, got, tt.want)
		}
	}
}

func catalogType(t *testing.T, name string) Type {
	t.Helper()
	types, err := Load()
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	it, ok := Index(types)[name]
	if !ok {
		t.Fatalf("instance type %s not in the catalog", name)
	}
	return it
}

func expectQuantities(t *testing.T, what string, got corev1.ResourceList, want map[corev1.ResourceName]string) {
	t.Helper()
	for name, w := range want {
		if q, ok := got[name]; !ok || q.Cmp(resource.MustParse(w)) != 0 {
			t.Errorf("%s %s = %s, want %s", what, name, q.String(), w)
		}
	}
}
