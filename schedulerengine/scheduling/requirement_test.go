package scheduling

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

func mustReq(t *testing.T, key string, op corev1.NodeSelectorOperator, values ...string) Requirement {
	t.Helper()
	r, err := NewRequirement(key, op, values...)
	if err != nil {
		t.Fatalf("build %s %s %v: %v", key, op, values, err)
	}
	return r
}

func TestRequirementOperatorsAdmitTheRightValues(t *testing.T) {
	tests := []struct {
		name    string
		op      corev1.NodeSelectorOperator
		values  []string
		admits  []string
		rejects []string
		absent  bool
	}{
		{name: "In admits only its values", op: corev1.NodeSelectorOpIn, values: []string{"a", "b"}, admits: []string{"a", "b"}, rejects: []string{"c"}},
		{name: "NotIn admits everything else and absence", op: corev1.NodeSelectorOpNotIn, values: []string{"a"}, admits: []string{"b"}, rejects: []string{"a"}, absent: true},
		{name: "Exists admits any value but not absence", op: corev1.NodeSelectorOpExists, admits: []string{"x", ""}},
		{name: "DoesNotExist admits only absence", op: corev1.NodeSelectorOpDoesNotExist, rejects: []string{"x"}, absent: true},
		{name: "Gt is exclusive and numeric", op: corev1.NodeSelectorOpGt, values: []string{"4"}, admits: []string{"5", "100"}, rejects: []string{"4", "3", "five"}},
		{name: "Lt is exclusive", op: corev1.NodeSelectorOpLt, values: []string{"4"}, admits: []string{"3", "-2"}, rejects: []string{"4"}},
		{name: "Gte includes its value", op: v1.NodeSelectorOpGte, values: []string{"4"}, admits: []string{"4", "5"}, rejects: []string{"3"}},
		{name: "Lte includes its value", op: v1.NodeSelectorOpLte, values: []string{"4"}, admits: []string{"4", "3"}, rejects: []string{"5"}},
		{name: "Gt the largest integer admits nothing", op: corev1.NodeSelectorOpGt, values: []string{"9223372036854775807"}, rejects: []string{"9223372036854775807", "0"}},
		{name: "Lt the smallest integer admits nothing", op: corev1.NodeSelectorOpLt, values: []string{"-9223372036854775808"}, rejects: []string{"-9223372036854775808", "0"}},
		{name: "Gte the smallest integer admits every integer but no word", op: v1.NodeSelectorOpGte, values: []string{"-9223372036854775808"},
			admits: []string{"-9223372036854775808", "0", "9223372036854775807"}, rejects: []string{"x"}},
		{name: "Lte the largest integer admits the largest integer", op: v1.NodeSelectorOpLte, values: []string{"9223372036854775807"}, admits: []string{"9223372036854775807"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustReq(t, "k", tc.op, tc.values...)
			for _, v := range tc.admits {
				if !r.Has(v) {
					t.Errorf("%s should admit %q", r, v)
				}
			}
			for _, v := range tc.rejects {
				if r.Has(v) {
					t.Errorf("%s should reject %q", r, v)
				}
			}
			if r.AllowsAbsence() != tc.absent {
				t.Errorf("%s AllowsAbsence = %v, want %v", r, r.AllowsAbsence(), tc.absent)
			}
		})
	}
}

func TestRequirementRejectsMalformedNumericOperators(t *testing.T) {
	for _, tc := range []struct {
		name   string
		op     corev1.NodeSelectorOperator
		values []string
	}{
		{"Gt with a word", corev1.NodeSelectorOpGt, []string{"x"}},
		{"Lt with two values", corev1.NodeSelectorOpLt, []string{"1", "2"}},
		{"an unknown operator", "Near", []string{"1"}},
		{"In without values", corev1.NodeSelectorOpIn, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRequirement("k", tc.op, tc.values...); err == nil {
				t.Fatal("built a requirement that cannot be evaluated")
			}
		})
	}
}

func TestRequirementIntersect(t *testing.T) {
	tests := []struct {
		name   string
		a, b   Requirement
		admits []string
		empty  bool
	}{
		{name: "In and In keep the common values", a: In("k", "a", "b"), b: In("k", "b", "c"), admits: []string{"b"}},
		{name: "In and NotIn drop the excluded values", a: In("k", "a", "b"), b: mustReq(t, "k", corev1.NodeSelectorOpNotIn, "a"), admits: []string{"b"}},
		{name: "Gt and Lt leave a range", a: mustReq(t, "k", corev1.NodeSelectorOpGt, "2"), b: mustReq(t, "k", corev1.NodeSelectorOpLt, "6"), admits: []string{"3", "5"}},
		{name: "Gt above Lt is empty", a: mustReq(t, "k", corev1.NodeSelectorOpGt, "5"), b: mustReq(t, "k", corev1.NodeSelectorOpLt, "6"), empty: true},
		{name: "a one-value range whose value is excluded is empty", a: mustReq(t, "k", corev1.NodeSelectorOpGt, "3"), b: NewRequirements(mustReq(t, "k", corev1.NodeSelectorOpLt, "5"), mustReq(t, "k", corev1.NodeSelectorOpNotIn, "4"))[0], empty: true},
		{name: "In and Gt keep the numbers above", a: In("k", "2", "8", "x"), b: mustReq(t, "k", corev1.NodeSelectorOpGt, "4"), admits: []string{"8"}},
		{name: "two wide complements always share a value", a: mustReq(t, "k", corev1.NodeSelectorOpNotIn, "a"), b: mustReq(t, "k", corev1.NodeSelectorOpGt, "1"), admits: []string{"2"}},
		{name: "a two-value range with one value excluded keeps the other", a: mustReq(t, "k", corev1.NodeSelectorOpGt, "3"), b: NewRequirements(mustReq(t, "k", corev1.NodeSelectorOpLt, "6"), mustReq(t, "k", corev1.NodeSelectorOpNotIn, "4"))[0], admits: []string{"5"}},
		{name: "In and DoesNotExist is empty", a: In("k", "a"), b: mustReq(t, "k", corev1.NodeSelectorOpDoesNotExist), empty: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.a.Intersect(tc.b)
			if got.IsEmpty() != tc.empty || tc.a.Intersects(tc.b) == tc.empty {
				t.Fatalf("%s ∩ %s = %s (empty %v, Intersects %v), want empty %v", tc.a, tc.b, got, got.IsEmpty(), tc.a.Intersects(tc.b), tc.empty)
			}
			for _, v := range tc.admits {
				if !got.Has(v) {
					t.Errorf("%s should admit %q", got, v)
				}
			}
			if back := tc.b.Intersect(tc.a); back.String() != got.String() {
				t.Errorf("intersection is not symmetric: %s vs %s", got, back)
			}
		})
	}
}

func TestRequirementsCompatible(t *testing.T) {
	undefinedIsInstanceTypeKey := func(k string) bool { return k == v1.LabelArch }
	node := NewRequirements(In("team", "a"), mustReq(t, "gpu", corev1.NodeSelectorOpDoesNotExist))
	tests := []struct {
		name     string
		incoming Requirements
		ok       bool
	}{
		{name: "the same value is compatible", incoming: NewRequirements(In("team", "a", "b")), ok: true},
		{name: "a different value conflicts", incoming: NewRequirements(In("team", "b")), ok: false},
		{name: "a key nobody defines fails when the pod needs it", incoming: NewRequirements(In("zone-group", "x")), ok: false},
		{name: "a key nobody defines is fine when absence satisfies the pod", incoming: NewRequirements(mustReq(t, "zone-group", corev1.NodeSelectorOpNotIn, "x")), ok: true},
		{name: "a key the instance type decides is left to it", incoming: NewRequirements(In(v1.LabelArch, "arm64")), ok: true},
		{name: "NotIn against DoesNotExist both accept absence", incoming: NewRequirements(mustReq(t, "gpu", corev1.NodeSelectorOpNotIn, "t4")), ok: true},
		{name: "Exists against DoesNotExist conflicts", incoming: NewRequirements(mustReq(t, "gpu", corev1.NodeSelectorOpExists)), ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := node.Compatible(tc.incoming, undefinedIsInstanceTypeKey)
			if (err == nil) != tc.ok || node.IsCompatible(tc.incoming, undefinedIsInstanceTypeKey) != tc.ok {
				t.Fatalf("Compatible(%s, %s) = %v, want ok=%v", node, tc.incoming, err, tc.ok)
			}
		})
	}
}

func TestRequirementsStaySortedAndPinLabels(t *testing.T) {
	rs := NewRequirements(In("b", "1"), In("a", "x", "y"), In("a", "x"))
	keys := []string{rs[0].Key, rs[1].Key}
	if !slices.Equal(keys, []string{"a", "b"}) {
		t.Fatalf("keys %v not sorted or not merged", keys)
	}
	pinned := rs.PinnedLabels()
	if pinned["a"] != "x" || pinned["b"] != "1" || len(pinned) != 2 {
		t.Fatalf("pinned = %v, want a=x b=1", pinned)
	}
}

func TestRequirementIntersectAllowsAbsenceOnlyWhenBothDo(t *testing.T) {
	tests := []struct {
		name   string
		a, b   Requirement
		absent bool
		empty  bool
	}{
		{name: "NotIn and DoesNotExist both accept a node without the label", a: mustReq(t, "k", corev1.NodeSelectorOpNotIn, "a"), b: mustReq(t, "k", corev1.NodeSelectorOpDoesNotExist), absent: true, empty: true},
		{name: "Exists and NotIn need the label", a: mustReq(t, "k", corev1.NodeSelectorOpExists), b: mustReq(t, "k", corev1.NodeSelectorOpNotIn, "a"), absent: false},
		{name: "two disjoint In sets are impossible, not DoesNotExist", a: In("k", "a"), b: In("k", "b"), absent: false, empty: true},
		{name: "an empty numeric range is impossible", a: mustReq(t, "k", corev1.NodeSelectorOpGt, "5"), b: mustReq(t, "k", corev1.NodeSelectorOpLt, "6"), absent: false, empty: true},
		{name: "NotIn and a bound need the label", a: mustReq(t, "k", corev1.NodeSelectorOpNotIn, "4"), b: mustReq(t, "k", v1.NodeSelectorOpGte, "2"), absent: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.a.Intersect(tc.b)
			if got.AllowsAbsence() != tc.absent || got.IsEmpty() != tc.empty {
				t.Fatalf("%s ∩ %s = %s: allows absence %v, empty %v; want %v, %v", tc.a, tc.b, got, got.AllowsAbsence(), got.IsEmpty(), tc.absent, tc.empty)
			}
			compatible := NewRequirements(tc.a).IsCompatible(NewRequirements(tc.b), func(string) bool { return false })
			if compatible != (!tc.empty || tc.absent) {
				t.Errorf("Compatible(%s, %s) = %v, want %v", tc.a, tc.b, compatible, !tc.empty || tc.absent)
			}
		})
	}
}

func TestRequirementKeepsTheLargerMinValues(t *testing.T) {
	a := mustReq(t, v1.LabelInstanceType, corev1.NodeSelectorOpExists).WithMinValues(3)
	b := mustReq(t, v1.LabelInstanceType, corev1.NodeSelectorOpNotIn, "x").WithMinValues(5)
	if got := a.Intersect(b); got.MinValues() != 5 || !strings.HasSuffix(got.String(), "minValues 5") {
		t.Fatalf("%s ∩ %s = %s with minValues %d, want 5", a, b, got, got.MinValues())
	}
}

func TestBetaLabelKeysAreNormalised(t *testing.T) {
	tests := []struct{ beta, ga string }{
		{"beta.kubernetes.io/arch", v1.LabelArch},
		{"beta.kubernetes.io/os", v1.LabelOS},
		{"beta.kubernetes.io/instance-type", v1.LabelInstanceType},
		{"failure-domain.beta.kubernetes.io/zone", v1.LabelZone},
		{"failure-domain.beta.kubernetes.io/region", v1.LabelRegion},
		{"example.com/team", "example.com/team"},
	}
	for _, tc := range tests {
		t.Run(tc.beta+" becomes "+tc.ga, func(t *testing.T) {
			if r := mustReq(t, tc.beta, corev1.NodeSelectorOpIn, "x"); r.Key != tc.ga {
				t.Fatalf("requirement on %s has key %s, want %s", tc.beta, r.Key, tc.ga)
			}
			labels := NormalizedLabels(map[string]string{tc.beta: "x"})
			if labels[tc.ga] != "x" || labels[tc.beta] != "x" {
				t.Fatalf("labels %v should carry both %s and %s", labels, tc.beta, tc.ga)
			}
		})
	}
}

// NormalizedLabels copies only when it has a GA key to add; the GA value wins when both are
// set, and the input is never modified.
func TestNormalizedLabelsCopiesOnlyToAdd(t *testing.T) {
	tests := []struct {
		name     string
		labels   map[string]string
		want     map[string]string
		wantSame bool // the input map itself comes back
	}{
		{name: "GA keys only", labels: map[string]string{v1.LabelZone: "a"}, want: map[string]string{v1.LabelZone: "a"}, wantSame: true},
		{name: "a kubelet's labels, beta and GA side by side",
			labels:   map[string]string{labelBetaZone: "a", v1.LabelZone: "a", labelBetaArch: "amd64", v1.LabelArch: "amd64"},
			want:     map[string]string{labelBetaZone: "a", v1.LabelZone: "a", labelBetaArch: "amd64", v1.LabelArch: "amd64"},
			wantSame: true},
		{name: "the GA value wins", labels: map[string]string{labelBetaZone: "old", v1.LabelZone: "new"},
			want: map[string]string{labelBetaZone: "old", v1.LabelZone: "new"}, wantSame: true},
		{name: "a beta key alone gains its GA key", labels: map[string]string{labelBetaZone: "a", v1.LabelArch: "arm64"},
			want: map[string]string{labelBetaZone: "a", v1.LabelZone: "a", v1.LabelArch: "arm64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := maps.Clone(tt.labels)
			got := NormalizedLabels(tt.labels)
			if !maps.Equal(got, tt.want) {
				t.Errorf("NormalizedLabels = %v, want %v", got, tt.want)
			}
			if !maps.Equal(tt.labels, before) {
				t.Errorf("input changed to %v", tt.labels)
			}
			same := reflect.ValueOf(got).UnsafePointer() == reflect.ValueOf(tt.labels).UnsafePointer()
			if same != tt.wantSame {
				t.Errorf("input map returned as is: %v, want %v", same, tt.wantSame)
			}
		})
	}
}
