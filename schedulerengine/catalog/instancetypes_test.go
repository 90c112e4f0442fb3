package catalog

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/schedulerengine"
)

var testZones = []string{"us-east-1c", "us-east-1a", "us-east-1b"}

func convertedByName(t *testing.T) map[string]schedulerengine.InstanceType {
	t.Helper()
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]schedulerengine.InstanceType{}
	for _, it := range InstanceTypes(types, testZones) {
		out[it.Name] = it
	}
	return out
}

func TestInstanceTypesLabelsFollowKarpenterFormats(t *testing.T) {
	byName := convertedByName(t)
	tests := []struct {
		name   string
		typ    string
		labels map[string]string
		absent []string
	}{
		{
			name: "an x86 general purpose type carries memory in MiB and bandwidth in Mbps",
			typ:  "m5.large",
			labels: map[string]string{
				v1.LabelInstanceType:    "m5.large",
				v1.LabelArch:            "amd64",
				v1.LabelOS:              "linux",
				v1.LabelRegion:          "us-east-1",
				LabelInstanceCategory:   "m",
				LabelInstanceFamily:     "m5",
				LabelInstanceGeneration: "5",
				LabelInstanceSize:       "large",
				LabelInstanceCPU:        "2",
				LabelInstanceMemory:     "8192",
				LabelInstanceHypervisor: "nitro",
				LabelInstanceNetworkBW:  "750",
			},
			absent: []string{LabelInstanceGPUName, LabelInstanceLocalNVMe},
		},
		{
			name:   "a Graviton type is arm64",
			typ:    "a1.large",
			labels: map[string]string{v1.LabelArch: "arm64", LabelInstanceNetworkBW: "750"},
		},
		{
			name: "an NVIDIA GPU type has GPU labels and local NVMe in GiB",
			typ:  "p4d.24xlarge",
			labels: map[string]string{
				LabelInstanceGPUName:         "a100",
				LabelInstanceGPUManufacturer: "nvidia",
				LabelInstanceGPUCount:        "8",
				LabelInstanceGPUMemory:       "40960",
				LabelInstanceLocalNVMe:       "8000",
				LabelInstanceNetworkBW:       "400000",
			},
		},
		{
			name:   "an Inferentia type has accelerator labels and no GPU labels",
			typ:    "inf2.xlarge",
			labels: map[string]string{LabelInstanceAcceleratorName: "inferentia2", LabelInstanceAcceleratorCnt: "1", LabelInstanceNetworkBW: "2083"},
			absent: []string{LabelInstanceGPUName},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, ok := byName[tc.typ]
			if !ok {
				t.Fatalf("%s missing from converted catalog", tc.typ)
			}
			for k, want := range tc.labels {
				if got, ok := it.Labels[k]; !ok || got != want {
					t.Errorf("%s label %s = %q (present %v), want %q", tc.typ, k, got, ok, want)
				}
			}
			for _, k := range tc.absent {
				if v, ok := it.Labels[k]; ok {
					t.Errorf("%s should have no %s label, has %q", tc.typ, k, v)
				}
			}
		})
	}
}

func TestInstanceTypesResources(t *testing.T) {
	byName := convertedByName(t)
	tests := []struct {
		name        string
		typ         string
		capacity    map[corev1.ResourceName]string
		allocatable map[corev1.ResourceName]string
		absent      []corev1.ResourceName
	}{
		{
			name:        "capacity is the machine as its kubelet reports it (memory less the 7.5% VM overhead) and allocatable Karpenter's figure",
			typ:         "m5.large",
			capacity:    map[corev1.ResourceName]string{corev1.ResourceCPU: "2", corev1.ResourceMemory: "7577Mi", corev1.ResourcePods: "29"},
			allocatable: map[corev1.ResourceName]string{corev1.ResourceCPU: "1930m", corev1.ResourcePods: "29", corev1.ResourceEphemeralStorage: "17Gi"},
			absent:      []corev1.ResourceName{ResourceNVIDIAGPU},
		},
		{
			name:        "NVIDIA GPUs are nvidia.com/gpu in capacity and allocatable",
			typ:         "p4d.24xlarge",
			capacity:    map[corev1.ResourceName]string{ResourceNVIDIAGPU: "8"},
			allocatable: map[corev1.ResourceName]string{ResourceNVIDIAGPU: "8"},
		},
		{
			name:        "Inferentia chips are aws.amazon.com/neuron",
			typ:         "inf2.xlarge",
			capacity:    map[corev1.ResourceName]string{ResourceAWSNeuron: "1"},
			allocatable: map[corev1.ResourceName]string{ResourceAWSNeuron: "1"},
			absent:      []corev1.ResourceName{ResourceNVIDIAGPU},
		},
		{
			name:     "AMD GPUs are not counted as NVIDIA GPUs",
			typ:      "g4ad.xlarge",
			capacity: map[corev1.ResourceName]string{ResourceAMDGPU: "1"},
			absent:   []corev1.ResourceName{ResourceNVIDIAGPU},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := byName[tc.typ]
			for name, want := range tc.capacity {
				assertQuantity(t, tc.typ+" capacity", it.Capacity, name, want)
			}
			for name, want := range tc.allocatable {
				assertQuantity(t, tc.typ+" allocatable", it.Allocatable, name, want)
			}
			for _, name := range tc.absent {
				if _, ok := it.Capacity[name]; ok {
					t.Errorf("%s capacity should have no %s", tc.typ, name)
				}
			}
		})
	}
}

func assertQuantity(t *testing.T, what string, rl corev1.ResourceList, name corev1.ResourceName, want string) {
	t.Helper()
	got, ok := rl[name]
	if !ok {
		t.Errorf("%s has no %s, want %s", what, name, want)
		return
	}
	if got.Cmp(resource.MustParse(want)) != 0 {
		t.Errorf("%s %s = %s, want %s", what, name, got.String(), want)
	}
}

func TestInstanceTypesOffersEveryZoneOnDemandAndSpotWhereSold(t *testing.T) {
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	raw := Index(types)
	for _, it := range InstanceTypes(types, testZones) {
		rec := raw[it.Name]
		want := len(testZones)
		if rec.SupportsSpot() {
			want *= 2
		}
		if len(it.Offerings) != want {
			t.Fatalf("%s has %d offerings, want %d", it.Name, len(it.Offerings), want)
		}
		for i, o := range it.Offerings {
			if !o.Available {
				t.Errorf("%s offering %d not available", it.Name, i)
			}
			wantPrice := rec.OnDemandPrice
			if o.CapacityType == v1.CapacityTypeSpot {
				wantPrice = rec.SpotPrice()
			}
			if o.PricePerHour != wantPrice {
				t.Errorf("%s %s in %s costs %v, want %v", it.Name, o.CapacityType, o.Zone, o.PricePerHour, wantPrice)
			}
		}
		if first := it.Offerings[0]; first.Zone != "us-east-1a" || first.CapacityType != v1.CapacityTypeOnDemand {
			t.Errorf("%s offerings start with %s/%s, want us-east-1a/on-demand (sorted)", it.Name, first.Zone, first.CapacityType)
		}
	}
}

func TestInstanceTypesAllocatableParsesForEveryRecord(t *testing.T) {
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	converted := InstanceTypes(types, testZones)
	if len(converted) != len(types) {
		t.Fatalf("converted %d of %d types", len(converted), len(types))
	}
	for i, it := range converted {
		if i > 0 && converted[i-1].Name >= it.Name {
			t.Fatalf("types not sorted by name: %s before %s", converted[i-1].Name, it.Name)
		}
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourcePods} {
			q, ok := it.Allocatable[name]
			if !ok || q.Sign() <= 0 {
				t.Errorf("%s allocatable %s = %v (present %v), want a positive figure", it.Name, name, q.String(), ok)
			}
		}
		if it.Labels[v1.LabelArch] == "" {
			t.Errorf("%s has no architecture label", it.Name)
		}
	}
}

func TestEveryInstanceTypeCarriesTheWellKnownLabels(t *testing.T) {
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	raw := Index(types)
	always := []string{v1.LabelInstanceType, v1.LabelArch, v1.LabelOS, v1.LabelRegion, LabelInstanceCategory, LabelInstanceFamily,
		LabelInstanceGeneration, LabelInstanceSize, LabelInstanceCPU, LabelInstanceMemory, LabelInstancePods}
	gpu := []string{LabelInstanceGPUName, LabelInstanceGPUCount, LabelInstanceGPUManufacturer, LabelInstanceGPUMemory}
	for _, it := range InstanceTypes(types, testZones) {
		rec := raw[it.Name]
		want := slices.Clone(always)
		if rec.GPU != nil && rec.GPU.Count > 0 {
			want = append(want, gpu...)
		}
		if rec.LocalNVMeGiB > 0 {
			want = append(want, LabelInstanceLocalNVMe)
		}
		if rec.Hypervisor != "" {
			want = append(want, LabelInstanceHypervisor)
		}
		if rec.NetworkBandwidthGbps > 0 {
			want = append(want, LabelInstanceNetworkBW)
		}
		for _, k := range want {
			if it.Labels[k] == "" {
				t.Errorf("%s has no %s label", it.Name, k)
			}
		}
	}
}

// A record without documented allocatable (one derived from EC2) is sized as Karpenter sizes
// its default node, not left with no CPU or memory to place a pod on.
func TestInstanceTypesSizeARecordWithoutDocumentedAllocatable(t *testing.T) {
	types, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	documented := Index(types)["m5.large"]
	derived := documented
	derived.Allocatable = Allocatable{}
	_, want, err := NodeResources(derived, KubeletSettings{})
	if err != nil {
		t.Fatal(err)
	}
	got := InstanceTypes([]Type{derived}, testZones)
	if len(got) != 1 {
		t.Fatalf("got %d types, want m5.large", len(got))
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourcePods} {
		q, ok := got[0].Allocatable[name]
		if w := want[name]; !ok || q.Cmp(w) != 0 || q.IsZero() {
			t.Errorf("allocatable %s = %v (present %v), want %v from NodeResources", name, q.String(), ok, w.String())
		}
	}
	// Karpenter's formulas give the documented figures for the documented node.
	if q, doc := got[0].Allocatable[corev1.ResourceMemory], resource.MustParse(documented.Allocatable.Memory); q.Cmp(doc) != 0 {
		t.Errorf("memory %v, want the documented %v", q.String(), doc.String())
	}
}
