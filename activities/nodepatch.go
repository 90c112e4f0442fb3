package activities

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// A Node's registration sync used to write the whole Node, under the resourceVersion of the
// worker's cached copy. In its first seconds a Node changes every second or so (the kubelet's
// status, its leases, the controllers' taints), and in a 1,000-pod scale-out four syncs in
// ten were refused as conflicts and made again from a fresh read: three requests for one
// change, on the path every pod of the Node waits on. A JSON patch (RFC 6902) says only what
// the sync changes, and tests, instead of the resourceVersion, only what that change was
// judged from, so a status write in between no longer refuses it.

// jsonPatchOp is one operation of a JSON patch.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"` // null in a test: absent (see guardedNodePatch)
}

// guardedNodePatch is a JSON patch that makes the Node, as cached, into changed, and that the
// API server refuses unless the Node still is what the change was judged from:
//   - the same Node (its UID): a patch judged on a Node gone since is refused, and the
//     caller judges the change again on the Node that now holds the name;
//   - for the labels and annotations, only the keys that change are written, each tested
//     first to hold what the cached Node had (absent, or its old value), so that a value
//     another writer set meanwhile is not overwritten unjudged; a map the cached Node lacks
//     is tested absent;
//   - the taints, a list whose other entries belong to others too, change entry by entry,
//     each entry removed or changed tested first (taintOps), so that a taint another
//     controller added or removed meanwhile is neither undone nor refuses the patch, unless
//     it moved the entries the patch changes;
//   - the finalizers are tested whole before they are replaced: the API server does not
//     refuse a finalizer listed twice, so an append judged on a stale list could add one
//     another writer just added.
//
// The API server refuses a failed test (422), after which the caller reads the Node and
// updates it. A test that a value is absent is written as a test that it is null, which the
// API server's JSON patch (evanphx/json-patch) accepts for a missing member; were that to
// change, the test would fail and the caller would update, as before. ok is false when the
// change touches anything else, which this patch does not write.
func guardedNodePatch(cached, changed *corev1.Node) (patch []byte, ok bool) {
	if !onlyPatchableChanged(cached, changed) {
		return nil, false
	}
	var ops []jsonPatchOp
	if cached.UID != "" { // always, but in tests' fake API servers
		ops = append(ops, jsonPatchOp{Op: "test", Path: "/metadata/uid", Value: string(cached.UID)})
	}
	ops = append(ops, mapOps("/metadata/labels", cached.Labels, changed.Labels)...)
	ops = append(ops, mapOps("/metadata/annotations", cached.Annotations, changed.Annotations)...)
	ops = append(ops, wholeListOps("/metadata/finalizers", cached.Finalizers, changed.Finalizers)...)
	ops = append(ops, taintOps("/spec/taints", cached.Spec.Taints, changed.Spec.Taints)...)
	patch, err := json.Marshal(ops)
	return patch, err == nil
}

// onlyPatchableChanged reports whether changed differs from cached in nothing but the labels,
// annotations, finalizers and taints.
func onlyPatchableChanged(cached, changed *corev1.Node) bool {
	a, b := cached.DeepCopy(), changed.DeepCopy()
	for _, n := range []*corev1.Node{a, b} {
		n.Labels, n.Annotations, n.Finalizers, n.Spec.Taints = nil, nil, nil, nil
	}
	return equality.Semantic.DeepEqual(a, b)
}

// mapOps writes the keys of want that have differs on, and removes those want lacks, each
// tested first. A map the Node lacks altogether is tested absent and written whole.
func mapOps(path string, have, want map[string]string) []jsonPatchOp {
	if maps.Equal(have, want) {
		return nil
	}
	if len(have) == 0 {
		return []jsonPatchOp{{Op: "test", Path: path}, {Op: "add", Path: path, Value: want}}
	}
	var ops []jsonPatchOp
	for _, key := range slices.Sorted(maps.Keys(want)) {
		at := path + "/" + escapePointer(key)
		switch v, ok := have[key]; {
		case !ok:
			ops = append(ops, jsonPatchOp{Op: "test", Path: at}, jsonPatchOp{Op: "add", Path: at, Value: want[key]})
		case v != want[key]:
			ops = append(ops, jsonPatchOp{Op: "test", Path: at, Value: v}, jsonPatchOp{Op: "add", Path: at, Value: want[key]})
		}
	}
	for _, key := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[key]; !ok {
			at := path + "/" + escapePointer(key)
			ops = append(ops, jsonPatchOp{Op: "test", Path: at, Value: have[key]}, jsonPatchOp{Op: "remove", Path: at})
		}
	}
	return ops
}

// wholeListOps tests the list is still have (absent when empty), then writes want in its place.
func wholeListOps(path string, have, want []string) []jsonPatchOp {
	if slices.Equal(have, want) { // nil and empty alike
		return nil
	}
	test := jsonPatchOp{Op: "test", Path: path}
	if len(have) > 0 {
		test.Value = have
	}
	if len(want) == 0 {
		return []jsonPatchOp{test, {Op: "remove", Path: path}}
	}
	return []jsonPatchOp{test, {Op: "add", Path: path, Value: want}}
}

// taintOps changes the taints have into want one by one, a taint being the same as another
// with its key and effect: each one removed or changed is tested first at its index, from the
// last so that the indexes ahead stay put, and each new one is appended. A taint another
// writer moved meanwhile fails its test, one it added as well fails the API server's check
// that no two taints share a key and effect, and nothing of theirs is undone. A list the Node
// lacks altogether is tested absent and written whole.
func taintOps(path string, have, want []corev1.Taint) []jsonPatchOp {
	if len(have) == 0 {
		if len(want) == 0 {
			return nil
		}
		return []jsonPatchOp{{Op: "test", Path: path}, {Op: "add", Path: path, Value: want}}
	}
	id := func(t corev1.Taint) string { return t.Key + "\x00" + string(t.Effect) }
	wanted := map[string]corev1.Taint{}
	for _, w := range want {
		wanted[id(w)] = w
	}
	var ops []jsonPatchOp
	had := map[string]bool{}
	for i := len(have) - 1; i >= 0; i-- {
		h := have[i]
		had[id(h)] = true
		at := path + "/" + strconv.Itoa(i)
		switch w, ok := wanted[id(h)]; {
		case !ok:
			ops = append(ops, jsonPatchOp{Op: "test", Path: at, Value: h}, jsonPatchOp{Op: "remove", Path: at})
		case !equality.Semantic.DeepEqual(h, w):
			ops = append(ops, jsonPatchOp{Op: "test", Path: at, Value: h}, jsonPatchOp{Op: "replace", Path: at, Value: w})
		}
	}
	for _, w := range want {
		if !had[id(w)] {
			ops = append(ops, jsonPatchOp{Op: "add", Path: path + "/-", Value: w})
		}
	}
	return ops
}

// escapePointer escapes a map key for a JSON pointer (RFC 6901): label keys hold slashes.
func escapePointer(key string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}
