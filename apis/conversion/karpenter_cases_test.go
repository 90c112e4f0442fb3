package conversion

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The Karpenter v1.0 conversion cases: testdata/karpenter-v1.0-cases.yaml is the
// machine-readable form of testdata/karpenter-v1.0-cases.md, and its header says what each
// key of a case means.
const (
	karpenterCasesFile   = "testdata/karpenter-v1.0-cases.yaml"
	karpenterCasesMD     = "testdata/karpenter-v1.0-cases.md"
	karpenterNodePools   = 46
	karpenterNodeClasses = 49
)

// Directions a case converts in.
const (
	toV1                 = "toV1"
	toV1beta1            = "toV1beta1"
	roundTripFromV1      = "roundTripFromV1"
	roundTripFromV1beta1 = "roundTripFromV1beta1"
)

// karpenterCase is one case of the fixture.
type karpenterCase struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	Source           string         `json:"source"`
	Direction        string         `json:"direction"`
	Note             string         `json:"note,omitempty"`
	DurationsByValue bool           `json:"durationsByValue,omitempty"`
	Input            map[string]any `json:"input"`
	Expect           map[string]any `json:"expect"`
	Exact            []string       `json:"exact,omitempty"`
	Absent           []string       `json:"absent,omitempty"`
}

func loadKarpenterCases(t *testing.T) []karpenterCase {
	t.Helper()
	data, err := os.ReadFile(karpenterCasesFile)
	if err != nil {
		t.Fatalf("read the Karpenter cases: %v", err)
	}
	var cases []karpenterCase
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatalf("%s: %v", karpenterCasesFile, err)
	}
	return cases
}

// object is the case's input as the API server would hand it to a conversion webhook.
func (c karpenterCase) object(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	data, err := json.Marshal(c.Input)
	if err != nil {
		t.Fatalf("input: %v", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		t.Fatalf("input is no Kubernetes object: %v", err)
	}
	return u
}

// TestKarpenterCasesFixture keeps the YAML fixture true to the markdown record: every unit
// case of Karpenter v1.0 is there once, under the It() text and line the record gives, with
// an input of the version its direction converts from.
func TestKarpenterCasesFixture(t *testing.T) {
	cases := loadKarpenterCases(t)
	record := recordedCases(t)
	seen := map[string]bool{}
	counts := map[string]int{}
	for _, c := range cases {
		if seen[c.ID] {
			t.Errorf("%s appears twice", c.ID)
		}
		seen[c.ID] = true
		counts[strings.SplitN(c.ID, "-", 2)[0]]++
		want, ok := record[c.ID]
		switch {
		case !ok:
			t.Errorf("%s is not in %s", c.ID, karpenterCasesMD)
		case c.Name != want.name:
			t.Errorf("%s is named %q, the record says %q", c.ID, c.Name, want.name)
		case !strings.HasSuffix(c.Source, ":"+want.line):
			t.Errorf("%s comes from %q, the record says line %s", c.ID, c.Source, want.line)
		}
		from := map[string]string{toV1: "v1beta1", roundTripFromV1beta1: "v1beta1", toV1beta1: "v1", roundTripFromV1: "v1"}[c.Direction]
		if from == "" {
			t.Errorf("%s has direction %q, want one of %s, %s, %s, %s", c.ID, c.Direction, toV1, toV1beta1, roundTripFromV1, roundTripFromV1beta1)
		} else if v := c.object(t).GroupVersionKind().Version; v != from {
			t.Errorf("%s converts %s but its input is %s", c.ID, c.Direction, v)
		}
		if c.Expect == nil {
			t.Errorf("%s has no expect (write expect: {} when the case asserts only absences or a round trip)", c.ID)
		}
	}
	for id := range record {
		if !seen[id] && !strings.HasPrefix(id, "E2E-") {
			t.Errorf("%s of the record has no case in %s", id, karpenterCasesFile)
		}
	}
	if counts["NP"] != karpenterNodePools || counts["EC"] != karpenterNodeClasses {
		t.Errorf("the fixture holds %d NodePool and %d EC2NodeClass cases, Karpenter v1.0 has %d and %d",
			counts["NP"], counts["EC"], karpenterNodePools, karpenterNodeClasses)
	}
}

type recordedCase struct{ name, line string }

var (
	recordIDs    = regexp.MustCompile(`(?:NP|EC|E2E)-\d+`)
	recordTitles = regexp.MustCompile(`"([^"]*)" \(line (\d+)`)
	recordRow    = regexp.MustCompile(`^\| ((?:NP|EC)-\d+) \| "([^"]*)" \| (\d+) \|`)
)

// recordedCases reads the ids, It() texts and lines of the markdown record, from its
// headings ("### NP-01: "name" (line 81)", several ids to one heading too) and table rows.
func recordedCases(t *testing.T) map[string]recordedCase {
	t.Helper()
	data, err := os.ReadFile(karpenterCasesMD)
	if err != nil {
		t.Fatalf("read the record: %v", err)
	}
	out := map[string]recordedCase{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := recordRow.FindStringSubmatch(line); m != nil {
			out[m[1]] = recordedCase{name: m[2], line: m[3]}
			continue
		}
		if !strings.HasPrefix(line, "###") {
			continue
		}
		head, _, _ := strings.Cut(line, ":")
		ids, titles := recordIDs.FindAllString(head, -1), recordTitles.FindAllStringSubmatch(line, -1)
		if len(ids) == 0 || len(ids) != len(titles) {
			continue
		}
		for i, id := range ids {
			out[id] = recordedCase{name: titles[i][1], line: titles[i][2]}
		}
	}
	if len(out) < karpenterNodePools+karpenterNodeClasses {
		t.Fatalf("read %d cases from %s, want at least %d", len(out), karpenterCasesMD, karpenterNodePools+karpenterNodeClasses)
	}
	return out
}

// TestKarpenterCases runs Karpenter v1.0's conversion unit tests (and the end-to-end ones
// that go through conversion) against Convert.
func TestKarpenterCases(t *testing.T) {
	for _, c := range loadKarpenterCases(t) {
		t.Run(c.ID, func(t *testing.T) {
			t.Logf("%s: %s", c.Source, c.Name)
			in := c.object(t)
			before := in.DeepCopy()
			out := c.run(t, in)
			if !reflect.DeepEqual(before.Object, in.Object) {
				t.Errorf("the conversion changed its input:\n%s", strings.Join(
					matcher{durationsByValue: false}.diff("", before.Object, in.Object), "\n"))
			}
			m := matcher{subset: true, durationsByValue: c.DurationsByValue}
			for _, d := range m.diff("", c.Expect, out.Object) {
				t.Errorf("Karpenter expects %s", d)
			}
			for _, p := range c.Exact {
				want, ok := lookup(c.Expect, p)
				if !ok {
					t.Fatalf("exact names %s, which expect does not hold", p)
				}
				got, _ := lookup(withoutOwnAnnotation(out.Object), p)
				for _, d := range (matcher{durationsByValue: c.DurationsByValue}).diff(p, normalised(want), normalised(got)) {
					t.Errorf("Karpenter expects %s to be exactly as given: %s", p, d)
				}
			}
			for _, p := range c.Absent {
				if v, ok := lookup(out.Object, p); ok && v != nil {
					t.Errorf("Karpenter expects no %s, got %s", p, show(v))
				}
			}
		})
	}
}

// run converts the input as the case says and returns the output; a round trip also checks
// that the object comes back, and that the other version's form is stable (a client of that
// version that reads the object and writes it back changes nothing, which is what
// Karpenter's end-to-end tests see as an unchanged generation).
func (c karpenterCase) run(t *testing.T, in *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	group := in.GroupVersionKind().Group
	own, other := group+"/v1", group+"/v1beta1"
	switch c.Direction {
	case toV1:
		return mustConvert(t, in, own)
	case toV1beta1:
		return mustConvert(t, in, other)
	case roundTripFromV1beta1:
		own, other = other, own
	}
	mid := mustConvert(t, in, other)
	out := mustConvert(t, mid, own)
	for _, d := range roundTripDiff(in, out) {
		t.Errorf("%s -> %s -> %s does not give the object back: %s", own, other, own, d)
	}
	again := mustConvert(t, out, other)
	for _, d := range roundTripDiff(mid, again) {
		t.Errorf("the %s form changes when read and written back through %s: %s", other, own, d)
	}
	return out
}

// mustConvert calls Convert and turns an error or a panic into a test failure.
func mustConvert(t *testing.T, in *unstructured.Unstructured, apiVersion string) (out *unstructured.Unstructured) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("converting %s %s to %s panics: %v", in.GetAPIVersion(), in.GetKind(), apiVersion, r)
		}
	}()
	out, warnings, err := Convert(in, apiVersion)
	if err != nil {
		t.Fatalf("convert %s %s to %s: %v", in.GetAPIVersion(), in.GetKind(), apiVersion, err)
	}
	if got := out.GetAPIVersion(); got != apiVersion {
		t.Fatalf("converting to %s gives apiVersion %s", apiVersion, got)
	}
	for _, w := range warnings {
		t.Logf("warning (%s): %s", apiVersion, w)
	}
	return out
}
