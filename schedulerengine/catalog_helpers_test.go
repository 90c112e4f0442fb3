package schedulerengine_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodewright/nodewright/schedulerengine"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// These tests run on the real embedded catalog, which imports schedulerengine, so they live
// in the external test package.

func realZones() []string { return []string{"us-east-1a", "us-east-1b", "us-east-1c"} }

func realInstanceTypes(tb testing.TB) []schedulerengine.InstanceType {
	tb.Helper()
	types, err := catalog.Load()
	if err != nil {
		tb.Fatalf("load catalog: %v", err)
	}
	return catalog.InstanceTypes(types, realZones())
}

func simplePod(namespace, name, cpu, memory string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse(cpu),
				corev1.ResourceMemory: resource.MustParse(memory),
			}},
		}}},
	}
}
