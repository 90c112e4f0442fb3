package advise

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// PrintTable writes each finding as a block: severity, rule and objects, then what is wrong
// and the fix, indented; then the summary line.
func PrintTable(w io.Writer, findings []Finding) error {
	var b strings.Builder
	for _, f := range findings {
		fmt.Fprintf(&b, "%-7s  %s  %s\n", strings.ToUpper(f.Severity.String()), f.Rule, objectList(f.Objects))
		fmt.Fprintf(&b, "         %s\n", f.Message)
		fmt.Fprintf(&b, "         fix: %s\n\n", f.Fix)
	}
	b.WriteString(Summary(findings) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// report is the JSON form: the findings and their count by severity.
type report struct {
	Findings []Finding      `json:"findings"`
	Summary  map[string]int `json:"summary"`
}

// PrintJSON writes the findings as one JSON object, for CI jobs and scripts.
func PrintJSON(w io.Writer, findings []Finding) error {
	r := report{Findings: findings, Summary: map[string]int{Error.String(): 0, Warning.String(): 0, Info.String(): 0}}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for _, f := range findings {
		r.Summary[f.Severity.String()]++
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
