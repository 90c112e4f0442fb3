package clusterpolicy

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nodewright/nodewright/apis/v1alpha1"
	"github.com/nodewright/nodewright/schedulerengine"
)

func ptr[T any](v T) *T { return &v }

func TestLimitsLaysThePolicyOverTheFlags(t *testing.T) {
	flags := schedulerengine.ClusterLimits{
		Resources:     corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("512"), "nodes": resource.MustParse("100")},
		MaxHourlyCost: ptr(40.0),
	}
	tests := []struct {
		name        string
		spec        v1alpha1.ClusterPolicySpec
		flags       schedulerengine.ClusterLimits
		wantRes     map[corev1.ResourceName]string
		wantCost    *float64
		wantInError []string
	}{
		{name: "empty policy keeps the flags", flags: flags,
			wantRes: map[corev1.ResourceName]string{"cpu": "512", "nodes": "100"}, wantCost: ptr(40.0)},
		{name: "empty policy, no flags: no limits"},
		{name: "cpu wins over the flag", flags: flags, spec: v1alpha1.ClusterPolicySpec{Limits: v1alpha1.Limits{"cpu": resource.MustParse("64")}},
			wantRes: map[corev1.ResourceName]string{"cpu": "64", "nodes": "100"}, wantCost: ptr(40.0)},
		{name: "memory added to the flags", flags: flags, spec: v1alpha1.ClusterPolicySpec{Limits: v1alpha1.Limits{"memory": resource.MustParse("2Ti")}},
			wantRes: map[corev1.ResourceName]string{"cpu": "512", "memory": "2Ti", "nodes": "100"}, wantCost: ptr(40.0)},
		{name: "nodes without flags", spec: v1alpha1.ClusterPolicySpec{Limits: v1alpha1.Limits{"nodes": resource.MustParse("3")}},
			wantRes: map[corev1.ResourceName]string{"nodes": "3"}},
		{name: "zero is a limit", spec: v1alpha1.ClusterPolicySpec{Limits: v1alpha1.Limits{"nodes": resource.MustParse("0")}},
			wantRes: map[corev1.ResourceName]string{"nodes": "0"}},
		{name: "maxHourlyCost wins over the flag", flags: flags, spec: v1alpha1.ClusterPolicySpec{MaxHourlyCost: "0.25"},
			wantRes: map[corev1.ResourceName]string{"cpu": "512", "nodes": "100"}, wantCost: ptr(0.25)},
		{name: "maxHourlyCost without flags", spec: v1alpha1.ClusterPolicySpec{MaxHourlyCost: "12"}, wantCost: ptr(12.0)},
		{name: "dollar sign refused", flags: flags, spec: v1alpha1.ClusterPolicySpec{MaxHourlyCost: "$12"},
			wantInError: []string{"spec.maxHourlyCost", `"12.50"`}},
		{name: "exponent refused", spec: v1alpha1.ClusterPolicySpec{MaxHourlyCost: "1e3"},
			wantInError: []string{"spec.maxHourlyCost"}},
		{name: "negative quantity refused", spec: v1alpha1.ClusterPolicySpec{Limits: v1alpha1.Limits{"cpu": resource.MustParse("-1")}},
			wantInError: []string{"spec.limits.cpu", "negative"}},
		{name: "unknown limit refused", spec: v1alpha1.ClusterPolicySpec{Limits: v1alpha1.Limits{"nvidia.com/gpu": resource.MustParse("8")}},
			wantInError: []string{"spec.limits.nvidia.com/gpu", "cpu, memory or nodes"}},
		{name: "every bad field named", spec: v1alpha1.ClusterPolicySpec{Limits: v1alpha1.Limits{"memory": resource.MustParse("-1Gi")}, MaxHourlyCost: "ten"},
			wantInError: []string{"spec.limits.memory", "spec.maxHourlyCost"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := describe(tt.flags)
			got, err := Limits(tt.spec, tt.flags)
			if describe(tt.flags) != before {
				t.Errorf("the flags' limits were changed: %s, were %s", describe(tt.flags), before)
			}
			if len(tt.wantInError) > 0 {
				if err == nil {
					t.Fatalf("no error, got %s", describe(got))
				}
				for _, want := range tt.wantInError {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Resources) != len(tt.wantRes) {
				t.Errorf("resources %v, want %v", got.Resources, tt.wantRes)
			}
			for name, want := range tt.wantRes {
				if q, ok := got.Resources[name]; !ok || q.Cmp(resource.MustParse(want)) != 0 {
					t.Errorf("%s = %v, want %s", name, got.Resources[name], want)
				}
			}
			if (got.MaxHourlyCost == nil) != (tt.wantCost == nil) || got.MaxHourlyCost != nil && *got.MaxHourlyCost != *tt.wantCost {
				t.Errorf("max hourly cost %v, want %v", got.MaxHourlyCost, tt.wantCost)
			}
		})
	}
}
