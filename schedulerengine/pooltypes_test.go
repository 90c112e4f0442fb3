package schedulerengine

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func TestPoolInstanceTypesKeepWhatThePoolAllows(t *testing.T) {
	cases := []struct {
		name string
		pool v1.NodePool
		// want lists each allowed type with its offerings as zone/capacity-type.
		want map[string][]string
	}{
		{
			name: "a pool with no requirements allows every type and offering",
			pool: nodePool("any"),
			want: map[string][]string{
				"gpu.amd":   everyOffering(),
				"large.amd": everyOffering(),
				"small.amd": everyOffering(),
				"small.arm": everyOffering(),
			},
		},
		{
			name: "an arch requirement drops the other arch's types",
			pool: nodePool("arm", withPoolRequirement(v1.LabelArch, corev1.NodeSelectorOpIn, "arm64")),
			want: map[string][]string{"small.arm": everyOffering()},
		},
		{
			name: "a spot pool in one zone keeps only that zone's spot offerings",
			pool: nodePool("spot-a",
				withPoolRequirement(v1.LabelCapacityType, corev1.NodeSelectorOpIn, v1.CapacityTypeSpot),
				withPoolRequirement(v1.LabelZone, corev1.NodeSelectorOpIn, zoneA),
				withPoolRequirement(gpuLabel, corev1.NodeSelectorOpDoesNotExist)),
			want: map[string][]string{
				"large.amd": {zoneA + "/spot"},
				"small.amd": {zoneA + "/spot"},
				"small.arm": {zoneA + "/spot"},
			},
		},
		{
			name: "a numeric bound on an instance label is read as Solve reads it",
			pool: nodePool("big", withPoolRequirement(cpuLabel, corev1.NodeSelectorOpGt, "4")),
			want: map[string][]string{"gpu.amd": everyOffering(), "large.amd": everyOffering()},
		},
		{
			name: "a template label the types do not decide narrows nothing",
			pool: nodePool("team", withPoolLabel("team", "web")),
			want: map[string][]string{
				"gpu.amd":   everyOffering(),
				"large.amd": everyOffering(),
				"small.amd": everyOffering(),
				"small.arm": everyOffering(),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PoolInstanceTypes(&tc.pool, smallCatalog())
			if err != nil {
				t.Fatal(err)
			}
			gotOfferings := map[string][]string{}
			for _, it := range got {
				for _, o := range it.Offerings {
					gotOfferings[it.Name] = append(gotOfferings[it.Name], o.Zone+"/"+o.CapacityType)
				}
			}
			if fmt.Sprint(gotOfferings) != fmt.Sprint(tc.want) {
				t.Errorf("pool %s allows\n %v\nwant\n %v", tc.pool.Name, gotOfferings, tc.want)
			}
		})
	}
}

func TestPoolInstanceTypesLeaveOutUnavailableOfferingsAndRefuseBadRequirements(t *testing.T) {
	types := smallCatalog()
	types[0].Offerings[0].Available = false // small.amd on-demand in zone a
	pool := nodePool("od", withPoolRequirement(v1.LabelCapacityType, corev1.NodeSelectorOpIn, v1.CapacityTypeOnDemand))
	got, err := PoolInstanceTypes(&pool, types)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(got, func(it InstanceType) bool { return it.Name == "small.amd" })
	if i < 0 || len(got[i].Offerings) != 1 || got[i].Offerings[0].Zone != zoneB {
		t.Errorf("small.amd offerings = %+v, want on-demand in %s only", got, zoneB)
	}

	bad := nodePool("bad", withPoolRequirement(cpuLabel, corev1.NodeSelectorOpGt, "four"))
	if _, err := PoolInstanceTypes(&bad, types); err == nil {
		t.Error("a Gt requirement on a word was accepted")
	}
}

func everyOffering() []string {
	return []string{zoneA + "/on-demand", zoneA + "/spot", zoneB + "/on-demand", zoneB + "/spot"}
}
