package advise

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func sampleFindings() []Finding {
	return []Finding{
		{Rule: "pod-requests", Severity: Error, Objects: []Ref{{Kind: "Deployment", Namespace: "shop", Name: "web"}}, Message: "container app requests no cpu", Fix: "set requests"},
		{Rule: "nodepool-limits", Severity: Warning, Objects: []Ref{{Kind: "NodePool", Name: "open"}}, Message: "no limits", Fix: "set limits"},
	}
}

func TestPrintTableShowsEachFindingWithItsFixAndTheCounts(t *testing.T) {
	var b bytes.Buffer
	if err := PrintTable(&b, sampleFindings()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"ERROR    pod-requests  Deployment shop/web\n         container app requests no cpu\n         fix: set requests\n",
		"WARNING  nodepool-limits  NodePool open\n",
		"2 findings: 1 error, 1 warning, 0 info\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestPrintJSONNamesSeveritiesAndCountsThem(t *testing.T) {
	var b bytes.Buffer
	if err := PrintJSON(&b, sampleFindings()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Findings []struct {
			Rule     string `json:"rule"`
			Severity string `json:"severity"`
			Objects  []Ref  `json:"objects"`
		} `json:"findings"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if len(got.Findings) != 2 || got.Findings[0].Severity != "error" || got.Findings[1].Objects[0].Name != "open" {
		t.Errorf("findings = %+v", got.Findings)
	}
	if got.Summary["error"] != 1 || got.Summary["warning"] != 1 || got.Summary["info"] != 0 {
		t.Errorf("summary = %v", got.Summary)
	}
	b.Reset()
	if err := PrintJSON(&b, nil); err != nil || !strings.Contains(b.String(), `"findings": []`) {
		t.Errorf("no findings printed %q (%v), want an empty list", b.String(), err)
	}
}
