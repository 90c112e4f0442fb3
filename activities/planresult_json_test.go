package activities

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// alikeClaims are n claims of one shape (as a large plan makes them), each with its own pods
// and requests, and one of another pool.
func alikeClaims(n int) []Claim {
	types := make([]string, 60)
	for i := range types {
		types[i] = fmt.Sprintf("m%d.large", i)
	}
	var out []Claim
	for i := range n {
		out = append(out, Claim{
			NodePool: "default", Pods: []string{fmt.Sprintf("ns/web-%d", i)}, InstanceTypes: types,
			Zones: []string{"us-east-1a", "us-east-1b"}, CapacityTypes: []string{"spot", "on-demand"},
			Labels:   map[string]string{"karpenter.sh/nodepool": "default"},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(fmt.Sprintf("%dm", 500+i))},
			Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}, PricePerHour: 0.04,
		})
	}
	return append(out, Claim{NodePool: "gpu", Pods: []string{"ns/train"}, InstanceTypes: []string{"g5.xlarge"}})
}

func TestPlanResultJSONWritesEachClaimShapeOnce(t *testing.T) {
	tests := []struct {
		name   string
		result PlanResult
		shapes int
		plain  bool // the claims in full, as before packing
	}{
		{name: "no claims", result: PlanResult{Pods: 3, OnExisting: 3}},
		{name: "alike claims share a shape", result: PlanResult{Claims: alikeClaims(300), Packed: true, More: true, Pods: 301}, shapes: 2},
		{name: "a named claim keeps its name", result: PlanResult{Claims: []Claim{{Name: "default-abcde", NodePool: "default", Pods: []string{"ns/a"}}}, Packed: true}, shapes: 1},
		{name: "claims not asked packed are written in full", result: PlanResult{Claims: alikeClaims(2), Pods: 3}, plain: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.result)
			if err != nil {
				t.Fatal(err)
			}
			var wire struct {
				Claims []Claim       `json:"claims"`
				Packed *packedClaims `json:"packedClaims"`
			}
			if err := json.Unmarshal(data, &wire); err != nil {
				t.Fatal(err)
			}
			if (wire.Claims != nil) != tt.plain || (wire.Packed == nil) != (tt.shapes == 0) || (wire.Packed != nil && len(wire.Packed.Shapes) != tt.shapes) {
				t.Fatalf("JSON %.300s…: want plain claims %v and %d shapes", data, tt.plain, tt.shapes)
			}
			var back PlanResult
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.result) {
				t.Errorf("round trip changed the result:\ngot  %+v\nwant %+v", back, tt.result)
			}
		})
	}
}

func TestPlanResultJSONIsSmallerPacked(t *testing.T) {
	claims := alikeClaims(300)
	packed, err := json.Marshal(PlanResult{Claims: claims, Packed: true})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	if len(packed)*3 > len(plain) {
		t.Errorf("300 alike claims take %d bytes packed and %d in full; want under a third", len(packed), len(plain))
	}
}

// A result recorded before packing, with every claim in full, reads as it was written.
func TestPlanResultJSONReadsClaimsInFull(t *testing.T) {
	want := PlanResult{Claims: alikeClaims(2), Pods: 3}
	type recorded PlanResult // encodes as results were encoded before packing
	data, err := json.Marshal(recorded(want))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"claims":[`) {
		t.Fatalf("recorded form %.200s has no plain claims", data)
	}
	var got PlanResult
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read %+v, want %+v", got, want)
	}
}

func TestPlanResultJSONRefusesAShapeItLacks(t *testing.T) {
	var got PlanResult
	err := json.Unmarshal([]byte(`{"packedClaims":{"shapes":[],"claims":[{"shape":2,"name":"x","pods":[]}]}}`), &got)
	if err == nil || !strings.Contains(err.Error(), "shape 2 of 0") {
		t.Errorf("error %v, want one naming the missing shape", err)
	}
}
