package schedulerengine

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestPodRequestsFollowTheKubeSchedulerFormula(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		cpu  string
	}{
		{name: "containers are summed", pod: pod(withCPU("1")), cpu: "1"},
		{name: "the largest init container wins when larger", pod: pod(withCPU("1"), withInitContainer("3"), withInitContainer("2")), cpu: "3"},
		{name: "sidecars add to containers", pod: pod(withCPU("1"), withSidecar("500m")), cpu: "1500m"},
		{name: "an init container after a sidecar runs beside it", pod: pod(withCPU("1"), withSidecar("1"), withInitContainer("3")), cpu: "4"},
		{name: "overhead is added", pod: pod(withCPU("1"), withOverhead("250m")), cpu: "1250m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PodRequests(tc.pod)
			if cpu := got[corev1.ResourceCPU]; cpu.Cmp(resource.MustParse(tc.cpu)) != 0 {
				t.Errorf("cpu = %s, want %s", cpu.String(), tc.cpu)
			}
			if pods := got[corev1.ResourcePods]; pods.Value() != 1 {
				t.Errorf("pods = %s, want 1 slot", pods.String())
			}
		})
	}
}
