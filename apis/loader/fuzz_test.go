package loader

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzLoad feeds the loader arbitrary files: it must never panic, and what it accepts must be
// usable (every pool and class named).
func FuzzLoad(f *testing.F) {
	seedV1beta1, err := os.ReadFile("testdata/seed-v1beta1.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{docsExample, pool("default", "", ""), string(seedV1beta1), "", "---\n---", "kind: NodePool", "[1, 2]", "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {name: x}\nspec: 3"} {
		f.Add([]byte(seed))
	}
	ld, err := New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := loadWithin(t, ld, data)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("rejected %q with an empty error", data)
			}
			return
		}
		for _, p := range m.NodePools {
			if p.Name == "" {
				t.Errorf("accepted a NodePool without a name from %q", data)
			}
		}
		for _, c := range m.NodeClasses {
			if c.Name == "" {
				t.Errorf("accepted an EC2NodeClass without a name from %q", data)
			}
		}
	})
}

// loadFields are the places FuzzLoadField writes a value into a good NodePool: the template
// (after a requirement), the spec, and the field path a rejection must name.
var loadFields = []struct {
	templateSpec, spec, path string
}{
	{"", "\n  weight: %s\n", "spec.weight"},
	{"", "\n  disruption:\n    consolidateAfter: %s\n", "spec.disruption"},
	{"", "\n  disruption:\n    consolidateAfter: 30s\n    consolidationPolicy: %s\n", "spec.disruption.consolidationPolicy"},
	{"", "\n  disruption:\n    consolidateAfter: 30s\n    budgets:\n      - nodes: %s\n", "spec.disruption.budgets[0].nodes"},
	{"", "\n  disruption:\n    consolidateAfter: 30s\n    budgets:\n      - {nodes: \"1\", duration: 1h, schedule: %s}\n", "spec.disruption.budgets"},
	{"", "\n  disruption:\n    consolidateAfter: 30s\n    budgets:\n      - {nodes: \"1\", schedule: \"0 9 * * *\", duration: %s}\n", "spec.disruption.budgets"},
	{"", "\n  limits:\n    cpu: %s\n", "spec.limits"},
	{"\n      expireAfter: %s", "", "spec.template.spec.expireAfter"},
	{"\n      terminationGracePeriod: %s", "", "spec.template.spec.terminationGracePeriod"},
	{"\n        - {key: %s, operator: Exists}", "", "spec.template.spec.requirements"},
	{"\n        - {key: kubernetes.io/os, operator: %s, values: [linux]}", "", "spec.template.spec.requirements"},
	{"\n        - {key: kubernetes.io/os, operator: In, values: [%s]}", "", "spec.template.spec.requirements"},
	{"\n        - {key: karpenter.k8s.aws/instance-cpu, operator: Gt, values: [%s]}", "", "spec.template.spec.requirements"},
	{"\n      taints:\n        - {key: %s, effect: NoSchedule}", "", "spec.template.spec.taints"},
	{"\n      taints:\n        - {key: example.com/t, effect: %s}", "", "spec.template.spec.taints"},
}

// FuzzLoadField writes an arbitrary value into one field of a good NodePool: the loader must
// never panic, and a rejection must name the field (or the list holding it).
func FuzzLoadField(f *testing.F) {
	for i, value := range []string{"200", "0", "-1", "30s", "Never", "1h", "WhenEmpty", "Sometimes", "10%", "101%", "abc",
		"0 9 * * *", "@daily", "TZ=UTC 0 9 * * *", "720h", "-5m", "karpenter.sh/nodepool", "kubernetes.io/hostname", "Foo", "In", "",
		"a b", "NoSchedule", "NoExecute", "1000", "1e3", "10000000000000000000"} {
		f.Add(uint8(i), value)
	}
	ld, err := New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, field uint8, value string) {
		at := loadFields[int(field)%len(loadFields)]
		scalar := yamlScalar(value)
		manifest := pool("default", fill(at.templateSpec, scalar), fill(at.spec, scalar))
		_, err := loadWithin(t, ld, []byte(manifest))
		if err != nil && !strings.Contains(err.Error(), at.path) {
			t.Errorf("%s %s rejected with an error that does not name it:\n%v", at.path, scalar, err)
		}
	})
}

// yamlScalar writes an integer as it is and anything else as a double-quoted string with every
// character outside printable ASCII escaped (Go's escapes are YAML's too), so the value cannot
// break out of its field nor trip YAML's ban on raw control characters.
func yamlScalar(value string) string {
	if _, err := strconv.ParseInt(value, 10, 64); err == nil {
		return value
	}
	return strconv.QuoteToASCII(value)
}

func fill(format, value string) string {
	if format == "" {
		return ""
	}
	return fmt.Sprintf(format, value)
}

// loadWithin loads data, failing the test if the loader takes more than a few seconds: the
// fuzzer itself waits forever on an input that hangs, and reports nothing.
func loadWithin(t *testing.T, ld *Loader, data []byte) (*Manifest, error) {
	t.Helper()
	type result struct {
		m   *Manifest
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := ld.Load(context.Background(), data)
		done <- result{m, err}
	}()
	select {
	case r := <-done:
		return r.m, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("loading %q took over 5s", data)
		return nil, nil
	}
}
