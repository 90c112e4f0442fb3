package charts

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWorkerRulesNameEveryVerbAndResource(t *testing.T) {
	rules, err := WorkerRules()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rules {
		if len(r.APIGroups) == 0 || len(r.Resources) == 0 || len(r.Verbs) == 0 {
			t.Errorf("rule %d of %s grants %v on %v in %v: each rule needs groups, resources and verbs", i, RulesFile, r.Verbs, r.Resources, r.APIGroups)
		}
		if slices.Contains(r.Verbs, "*") || slices.Contains(r.Resources, "*") {
			t.Errorf("rule %d of %s uses a wildcard: name each verb and resource the worker calls", i, RulesFile)
		}
	}
}

// The chart ships its own copy of crds/ (Helm installs a chart's crds/ folder); a copy that
// drifted would install different schemas than the lab tests.
func TestChartCRDsAreTheRepositoryCRDs(t *testing.T) {
	want := yamlFiles(t, filepath.Join("..", "crds"))
	got := yamlFiles(t, filepath.Join("nodewright", "crds"))
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		t.Fatalf("charts/nodewright/crds holds %v, crds/ holds %v: cp crds/*.yaml charts/nodewright/crds/", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for name, data := range want {
		if !bytes.Equal(got[name], data) {
			t.Errorf("charts/nodewright/crds/%s differs from crds/%s: cp crds/*.yaml charts/nodewright/crds/", name, name)
		}
	}
}

func yamlFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string][]byte, len(names))
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("read CRD file: %v", err)
		}
		files[filepath.Base(name)] = data
	}
	if len(files) == 0 {
		t.Fatalf("no CRD files in %s", dir)
	}
	return files
}
