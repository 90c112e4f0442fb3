package scheduling

import (
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/nodewright/nodewright/apis/v1"
)

// FuzzRequirements parses two node selector expressions on one key and checks the algebra:
// no panics, intersection commutative and equal to "both admit" value by value, absence
// allowed only when both allow it, Intersects agreeing with Intersect, and a requirement
// compatible with itself unless nothing satisfies it. Run with
// go test -fuzz=FuzzRequirements ./schedulerengine/scheduling/
func FuzzRequirements(f *testing.F) {
	seeds := []struct {
		key   string
		op1   uint8
		vals1 string
		op2   uint8
		vals2 string
	}{
		{"kubernetes.io/arch", 0, "amd64,arm64", 0, "arm64"},
		{"k", 0, "a", 1, "a"},
		{"k", 4, "3", 5, "5"},
		{"k", 4, "3", 1, "4,x"},
		{"k", 6, "9223372036854775807", 7, "9223372036854775807"},
		{"k", 4, "9223372036854775807", 2, ""},
		{"k", 5, "-9223372036854775808", 3, ""},
		{"k", 6, "-9223372036854775808", 1, "05,5"},
		{"failure-domain.beta.kubernetes.io/zone", 0, "z1", 2, ""},
		{"k", 3, "", 1, "a,b"},
		{"k", 2, "", 3, ""},
		{"k", 4, "x", 9, "1"},
		{"k", 0, "", 0, "a"},
	}
	for _, s := range seeds {
		f.Add(s.key, s.op1, s.vals1, s.op2, s.vals2)
	}
	f.Fuzz(func(t *testing.T, key string, op1 uint8, vals1 string, op2 uint8, vals2 string) {
		a, errA := NewRequirement(key, fuzzOperator(op1), splitValues(vals1)...)
		b, errB := NewRequirement(key, fuzzOperator(op2), splitValues(vals2)...)
		if errA != nil || errB != nil {
			return
		}
		ab, ba := a.Intersect(b), b.Intersect(a)
		if ab.String() != ba.String() {
			t.Fatalf("intersection not commutative: %s ∩ %s = %s but reversed %s", a, b, ab, ba)
		}
		if ab.AllowsAbsence() != (a.AllowsAbsence() && b.AllowsAbsence()) {
			t.Fatalf("%s ∩ %s = %s allows absence %v, want %v", a, b, ab, ab.AllowsAbsence(), a.AllowsAbsence() && b.AllowsAbsence())
		}
		for _, v := range probeValues(vals1, vals2) {
			if got, want := ab.Has(v), a.Has(v) && b.Has(v); got != want {
				t.Fatalf("%s ∩ %s = %s: Has(%q) = %v, want %v", a, b, ab, v, got, want)
			}
		}
		if a.Intersects(b) != b.Intersects(a) || a.Intersects(b) == ab.IsEmpty() {
			t.Fatalf("%s Intersects %s = %v (reversed %v) but the intersection %s is empty=%v", a, b, a.Intersects(b), b.Intersects(a), ab, ab.IsEmpty())
		}
		for _, r := range []Requirement{a, b, ab} {
			self := NewRequirements(r)
			compatible := self.IsCompatible(self, func(string) bool { return false })
			if want := !r.IsEmpty() || r.AllowsAbsence(); compatible != want {
				t.Fatalf("%s compatible with itself = %v, want %v (empty %v)", r, compatible, want, r.IsEmpty())
			}
			if (self.Compatible(self, func(string) bool { return false }) == nil) != compatible {
				t.Fatalf("%s: Compatible and IsCompatible disagree", r)
			}
		}
		both := NewRequirements(a, b)
		if len(both) != 1 || both[0].String() != ab.String() {
			t.Fatalf("NewRequirements(%s, %s) = %s, want the intersection %s", a, b, both, ab)
		}
	})
}

func fuzzOperator(b uint8) corev1.NodeSelectorOperator {
	ops := []corev1.NodeSelectorOperator{
		corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn, corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist,
		corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt, v1.NodeSelectorOpGte, v1.NodeSelectorOpLte, "Near",
	}
	return ops[int(b)%len(ops)]
}

func splitValues(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// probeValues are the values worth asking about: the fuzzed ones and their integer
// neighbours. Non-canonical integers ("05") are left out because ranges are reasoned about
// with canonical labels (see bounds.countAdmitted).
func probeValues(lists ...string) []string {
	out := []string{"", "x", "0", "1", "-1"}
	for _, l := range lists {
		for _, v := range splitValues(l) {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				out = append(out, v)
				continue
			}
			for _, d := range []int64{-1, 0, 1} {
				if m := n + d; (d > 0 && m > n) || (d < 0 && m < n) || d == 0 {
					out = append(out, strconv.FormatInt(m, 10))
				}
			}
		}
	}
	return out
}
