package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

func TestKubeReservedCPUFollowsTheAMILadder(t *testing.T) {
	tests := []struct {
		vcpu int
		want int64
	}{{1, 60}, {2, 70}, {4, 80}, {8, 90}, {96, 310}}
	for _, tt := range tests {
		if got := kubeReservedCPU(tt.vcpu); got != tt.want {
			t.Errorf("kubeReservedCPU(%d) = %dm, want %dm", tt.vcpu, got, tt.want)
		}
	}
}

func TestResourcesFollowUserData(t *testing.T) {
	m5large := catalogType(t, "m5.large") // catalog allocatable 1930m, 6903Mi, 17Gi, 29 pods
	tests := []struct {
		name    string
		cfg     bootConfig
		want    map[corev1.ResourceName]string // allocatable
		wantCap string                         // pods capacity
	}{
		{name: "no settings: the catalog's allocatable", cfg: boot(),
			want: map[corev1.ResourceName]string{"cpu": "1930m", "memory": "6903Mi", "ephemeral-storage": "17Gi", "pods": "29"}, wantCap: "29"},
		{name: "maxPods replaces the ENI-limited pods", cfg: boot(withMaxPods(110)),
			want: map[corev1.ResourceName]string{"cpu": "1930m", "memory": "6903Mi", "pods": "110"}, wantCap: "110"},
		{name: "podsPerCore caps pods at so many a vCPU", cfg: boot(withMaxPods(110), withPodsPerCore(5)),
			want: map[corev1.ResourceName]string{"pods": "10"}, wantCap: "10"},
		{name: "systemReserved comes on top of the default kube-reserved", cfg: boot(withSystemReserved("cpu", "100m", "memory", "100Mi", "ephemeral-storage", "1Gi")),
			want: map[corev1.ResourceName]string{"cpu": "1830m", "memory": "6803Mi", "ephemeral-storage": "16Gi"}},
		{name: "kubeReserved replaces the default it names and keeps the others", cfg: boot(withKubeReserved("memory", "1Gi")),
			want: map[corev1.ResourceName]string{"cpu": "1930m", "memory": "6453Mi", "ephemeral-storage": "17Gi"}},
		{name: "evictionHard memory.available replaces the 100Mi default", cfg: boot(withEvictionHard("memory.available", "500Mi")),
			want: map[corev1.ResourceName]string{"memory": "6503Mi", "ephemeral-storage": "17Gi"}},
		{name: "evictionHard nodefs.available as a percentage of the disk", cfg: boot(withEvictionHard("nodefs.available", "15%")),
			want: map[corev1.ResourceName]string{"memory": "6903Mi", "ephemeral-storage": "16Gi"}},
		{name: "evictionHard at 100% is ignored, as the kubelet ignores it", cfg: boot(withEvictionHard("memory.available", "100%")),
			want: map[corev1.ResourceName]string{"memory": "7003Mi"}},
		{name: "reservations larger than the machine leave nothing, not less", cfg: boot(withSystemReserved("cpu", "4")),
			want: map[corev1.ResourceName]string{"cpu": "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			capacity, allocatable, err := resources(m5large, tt.cfg)
			if err != nil {
				t.Fatalf("resources: %v", err)
			}
			for name, want := range tt.want {
				if got := allocatable[name]; got.Cmp(resource.MustParse(want)) != 0 {
					t.Errorf("allocatable %s = %s, want %s", name, got.String(), want)
				}
			}
			if tt.wantCap != "" {
				if got := capacity[corev1.ResourcePods]; got.Cmp(resource.MustParse(tt.wantCap)) != 0 {
					t.Errorf("pods capacity = %s, want %s", got.String(), tt.wantCap)
				}
			}
		})
	}
}

func catalogType(t *testing.T, name string) catalog.Type {
	t.Helper()
	types, err := catalog.Load()
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	it, ok := catalog.Index(types)[name]
	if !ok {
		t.Fatalf("instance type %s not in the catalog", name)
	}
	return it
}
