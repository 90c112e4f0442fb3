package schedulerengine

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func withClaim(name string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}})
	}
}

// testVolumes: data-b is bound to a PV in zone B; pending-a waits for its first consumer in a
// class allowed only in zone A; free has a class without topology.
func testVolumes() *Volumes {
	zoned := func(name, zone string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: v1.LabelZone, Operator: corev1.NodeSelectorOpIn, Values: []string{zone}}},
			}}}},
		}}
	}
	claim := func(name, volume, class string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volume, StorageClassName: &class}}
	}
	return &Volumes{
		Claims: map[string]*corev1.PersistentVolumeClaim{
			"default/data-b":    claim("data-b", "pv-b", "gp3"),
			"default/pending-a": claim("pending-a", "", "zone-a-only"),
			"default/free":      claim("free", "", "gp3"),
		},
		PersistentVolumes: map[string]*corev1.PersistentVolume{"pv-b": zoned("pv-b", zoneB)},
		StorageClasses: map[string]*storagev1.StorageClass{
			"gp3": {ObjectMeta: metav1.ObjectMeta{Name: "gp3"}},
			"zone-a-only": {ObjectMeta: metav1.ObjectMeta{Name: "zone-a-only"}, AllowedTopologies: []corev1.TopologySelectorTerm{{
				MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: v1.LabelZone, Values: []string{zoneA}}},
			}}},
		},
	}
}

func TestVolumeTopology(t *testing.T) {
	tests := []struct {
		name      string
		pod       *corev1.Pod
		wantZones []string // "" entries: unschedulable
		wantWhy   string
	}{
		{name: "a bound volume pins the pod to its zone", pod: pod(withName("db"), withCPU("1"), withClaim("data-b")), wantZones: []string{zoneB}},
		{name: "a claim waiting for its first consumer follows its class's allowed topologies", pod: pod(withName("new"), withCPU("1"), withClaim("pending-a")), wantZones: []string{zoneA}},
		{name: "a class without topology leaves the pod free", pod: pod(withName("any"), withCPU("1"), withClaim("free")), wantZones: []string{zoneA, zoneB}},
		{name: "the pod's own affinity and its volume must both hold", pod: pod(withName("both"), withCPU("1"), withClaim("data-b"),
			withAffinity(expr(v1.LabelZone, corev1.NodeSelectorOpIn, zoneA, zoneB))), wantZones: []string{zoneB}},
		{name: "volumes in different zones cannot be mounted together", pod: pod(withName("split"), withCPU("1"), withClaim("data-b"), withClaim("pending-a")), wantWhy: "zone"},
		{name: "a pod whose affinity excludes its volume's zone fits nowhere", pod: pod(withName("wrong"), withCPU("1"), withClaim("data-b"),
			withAffinity(expr(v1.LabelZone, corev1.NodeSelectorOpIn, zoneA))), wantWhy: "zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Solve(Input{
				Pods: []*corev1.Pod{tt.pod}, NodePools: []v1.NodePool{nodePool("default")},
				InstanceTypes: smallCatalog(), Volumes: testVolumes(),
			})
			if err != nil {
				t.Fatal(err)
			}
			key := PodKey(tt.pod)
			if tt.wantWhy != "" {
				if why, ok := plan.Unschedulable[key]; !ok || !strings.Contains(why, tt.wantWhy) {
					t.Fatalf("pod %s: unschedulable %q (plan %+v), want a reason mentioning %q", key, why, plan.NewNodes, tt.wantWhy)
				}
				return
			}
			if len(plan.NewNodes) != 1 {
				t.Fatalf("pod %s: %d new nodes (unschedulable: %v), want 1", key, len(plan.NewNodes), plan.Unschedulable)
			}
			if got := plan.NewNodes[0].Zones; !slices.Equal(got, tt.wantZones) {
				t.Errorf("pod %s: claim zones %v, want %v", key, got, tt.wantZones)
			}
		})
	}
}

func TestVolumeTopologyLeavesTheInputAlone(t *testing.T) {
	p := pod(withName("db"), withCPU("1"), withClaim("data-b"))
	if _, err := Solve(Input{Pods: []*corev1.Pod{p}, NodePools: []v1.NodePool{nodePool("default")}, InstanceTypes: smallCatalog(), Volumes: testVolumes()}); err != nil {
		t.Fatal(err)
	}
	if p.Spec.Affinity != nil {
		t.Errorf("Solve wrote the volume's topology into the caller's pod: %+v", p.Spec.Affinity)
	}
}
