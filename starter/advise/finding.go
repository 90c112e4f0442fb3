package advise

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Severity says how much a finding matters: an error fails `starter advise` (and a CI job
// running it), a warning and an info do not.
type Severity int

// Severities, least first.
const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// Ref names an object: its kind, namespace (empty for cluster-scoped ones) and name.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

func compareRefs(a, b Ref) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// Finding is one breach of a rule: the objects concerned, what is wrong with them and how
// to fix it.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Objects  []Ref    `json:"objects"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
}

var _ json.Marshaler = Severity(0)

// MarshalJSON writes the severity's name, so JSON output reads "error" rather than 2.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// sortFindings orders findings errors first, then by rule and by the objects concerned, so the
// same snapshot always prints the same report.
func sortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Rule, b.Rule),
			slices.CompareFunc(a.Objects, b.Objects, compareRefs),
			cmp.Compare(a.Message, b.Message))
	})
}

// HasErrors reports whether any finding has severity error.
func HasErrors(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error })
}

// Summary counts findings by severity, as "3 findings: 1 error, 2 warnings, 0 info".
func Summary(fs []Finding) string {
	var counts [3]int
	for _, f := range fs {
		counts[f.Severity]++
	}
	return fmt.Sprintf("%d %s: %d %s, %d %s, %d info", len(fs), plural(len(fs), "finding", "findings"),
		counts[Error], plural(counts[Error], "error", "errors"), counts[Warning], plural(counts[Warning], "warning", "warnings"), counts[Info])
}

// plural picks the singular or the plural form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// objectList names refs for a message: "Deployment a/b, Pod a/c".
func objectList(refs []Ref) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}
