package conversion

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// How the tests compare converted objects: as subsets of what Karpenter asserts, exactly, or
// as an object and what came back from a round trip.

// roundTripDiff compares an object with what came back from a round trip, meaningfully:
//   - durations by value ("10h" and "10h0m0s");
//   - without nodewright.io/v1-fields, which Nodewright adds on the way down and removes on
//     the way up (doc.go);
//   - without compatibility.karpenter.sh/v1beta1-nodeclass-reference when the original had
//     none: Karpenter writes it on every conversion to v1;
//   - a NodePool's unset consolidateAfter (policy unset or WhenEmpty) as Never, which is what
//     Karpenter's conversion reads it as (the Go zero value of its NillableDuration) and
//     writes back;
//   - null and empty fields as absent.
func roundTripDiff(original, back *unstructured.Unstructured) []string {
	a, b := withoutOwnAnnotation(original.Object), withoutOwnAnnotation(back.Object)
	if _, ok := original.GetAnnotations()[AnnotationNodeClassReference]; !ok {
		b = withoutAnnotation(b, AnnotationNodeClassReference)
	}
	if original.GetKind() == "NodePool" {
		a, b = withConsolidateAfterRead(a), withConsolidateAfterRead(b)
	}
	return matcher{durationsByValue: true}.diff("", normalised(a), normalised(b))
}

func withoutOwnAnnotation(obj map[string]any) map[string]any {
	return withoutAnnotation(obj, AnnotationV1Fields)
}

func withoutAnnotation(obj map[string]any, key string) map[string]any {
	u := (&unstructured.Unstructured{Object: obj}).DeepCopy()
	annotations := u.GetAnnotations()
	if _, ok := annotations[key]; ok {
		delete(annotations, key)
		u.SetAnnotations(annotations)
	}
	return u.Object
}

func withConsolidateAfterRead(obj map[string]any) map[string]any {
	u := (&unstructured.Unstructured{Object: obj}).DeepCopy()
	policy, _, _ := unstructured.NestedString(u.Object, "spec", "disruption", "consolidationPolicy")
	after, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "disruption", "consolidateAfter")
	if (policy == "" || policy == "WhenEmpty") && (!found || after == nil) {
		_ = unstructured.SetNestedField(u.Object, "Never", "spec", "disruption", "consolidateAfter")
	}
	return u.Object
}

// normalised drops null fields and the objects and lists left empty, which an encoder with
// omitempty writes the same way as absent ones.
func normalised(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			if e = normalised(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(v) == 0 {
			return nil
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalised(e)
		}
		return out
	}
	return v
}

// matcher compares an expected value with an output value. A subset matcher lets the
// expected objects leave fields out, takes an expected "" for an omitted field, and decodes
// an output string holding JSON when the expected value is an object.
type matcher struct {
	subset           bool
	durationsByValue bool
}

func (m matcher) diff(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		if s, ok := got.(string); ok && m.subset {
			var decoded any
			if err := json.Unmarshal([]byte(s), &decoded); err != nil {
				return []string{fmt.Sprintf("%s to hold JSON, got %q: %v", path, s, err)}
			}
			return m.diff(path, w, decoded)
		}
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s to be an object, got %s", orRoot(path), show(got))}
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(w)) {
			p := fieldPath(path, k)
			if e, present := g[k]; present && e != nil {
				out = append(out, m.diff(p, w[k], e)...)
			} else if w[k] != nil && !(m.subset && w[k] == "") {
				out = append(out, fmt.Sprintf("%s to be %s, it is missing", p, show(w[k])))
			}
		}
		if !m.subset {
			for _, k := range slices.Sorted(maps.Keys(g)) {
				if _, ok := w[k]; !ok && g[k] != nil {
					out = append(out, fmt.Sprintf("no %s, got %s", fieldPath(path, k), show(g[k])))
				}
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s to be %s, got %s", orRoot(path), show(w), show(got))}
		}
		var out []string
		for i := range w {
			out = append(out, m.diff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	case string:
		if g, ok := got.(string); ok && (g == w || m.durationsByValue && sameDuration(w, g)) {
			return nil
		}
	case nil:
		if got == nil {
			return nil
		}
	default:
		if wn, ok := number(w); ok {
			if gn, ok := number(got); ok && gn == wn {
				return nil
			}
		} else if reflect.DeepEqual(w, got) {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s to be %s, got %s", orRoot(path), show(want), show(got))}
}

// sameDuration says whether two duration texts ("2121s", "35m21s", "Never") mean the same.
func sameDuration(a, b string) bool {
	if a == "Never" || b == "Never" {
		return a == b
	}
	da, errA := time.ParseDuration(a)
	db, errB := time.ParseDuration(b)
	return errA == nil && errB == nil && da == db
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// lookup finds a path such as spec.disruption.budgets[0].nodes or
// metadata.annotations[karpenter.sh/stored-version-migrated] in an object.
func lookup(obj any, path string) (any, bool) {
	cur := obj
	for _, seg := range pathSegments(path) {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func pathSegments(path string) []string {
	var segs []string
	for path != "" {
		switch {
		case path[0] == '.':
			path = path[1:]
		case path[0] == '[':
			key, rest, _ := strings.Cut(path[1:], "]")
			segs, path = append(segs, key), rest
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			segs, path = append(segs, path[:end]), path[end:]
		}
	}
	return segs
}

func fieldPath(path, key string) string {
	switch {
	case strings.ContainsAny(key, "./"):
		return path + "[" + key + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "the object"
	}
	return path
}

func show(v any) string {
	if v == nil {
		return "nothing"
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// TestMatcher: the comparisons the Karpenter cases and the round trips rest on can fail.
func TestMatcher(t *testing.T) {
	obj := map[string]any{"spec": map[string]any{
		"after": "35m21s", "nodes": "10%", "weight": int64(3), "on": true,
		"list": []any{map[string]any{"key": "a", "extra": "x"}},
	}, "metadata": map[string]any{"annotations": map[string]any{"k/v": `{"maxPods":3,"dns":["a"]}`}}}
	tests := []struct {
		name   string
		m      matcher
		want   any
		passes bool
	}{
		{name: "a subset matches", m: matcher{subset: true}, want: map[string]any{"spec": map[string]any{"nodes": "10%", "weight": 3.0}}, passes: true},
		{name: "another value does not", m: matcher{subset: true}, want: map[string]any{"spec": map[string]any{"nodes": "20%"}}},
		{name: "another number does not", m: matcher{subset: true}, want: map[string]any{"spec": map[string]any{"weight": 4.0}}},
		{name: "another bool does not", m: matcher{subset: true}, want: map[string]any{"spec": map[string]any{"on": false}}},
		{name: "a missing field does not", m: matcher{subset: true}, want: map[string]any{"spec": map[string]any{"limits": "x"}}},
		{name: "an expected empty string matches a missing field", m: matcher{subset: true}, want: map[string]any{"spec": map[string]any{"name": ""}}, passes: true},
		{name: "a list of another length does not", m: matcher{subset: true}, want: map[string]any{"spec": map[string]any{"list": []any{}}}},
		{name: "list elements match as subsets", m: matcher{subset: true}, want: map[string]any{"spec": map[string]any{"list": []any{map[string]any{"key": "a"}}}}, passes: true},
		{name: "exact list elements hold nothing else", m: matcher{}, want: map[string]any{"spec": map[string]any{"list": []any{map[string]any{"key": "a"}}}}},
		{name: "durations compare as text by default", m: matcher{subset: true}, want: map[string]any{"spec": map[string]any{"after": "2121s"}}},
		{name: "durations compare by value when asked", m: matcher{subset: true, durationsByValue: true}, want: map[string]any{"spec": map[string]any{"after": "2121s"}}, passes: true},
		{name: "Never is no duration value", m: matcher{subset: true, durationsByValue: true}, want: map[string]any{"spec": map[string]any{"after": "Never"}}},
		{name: "an annotation holding JSON matches what it decodes to", m: matcher{subset: true},
			want: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"k/v": map[string]any{"maxPods": 3.0}}}}, passes: true},
		{name: "and fails on another decoded value", m: matcher{subset: true},
			want: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"k/v": map[string]any{"maxPods": 4.0}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffs := tt.m.diff("", tt.want, normalised(obj))
			if got := len(diffs) == 0; got != tt.passes {
				t.Errorf("match = %v, want %v (differences: %q)", got, tt.passes, diffs)
			}
		})
	}
}
