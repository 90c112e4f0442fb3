package simid

import (
	"regexp"
	"testing"
)

func TestSourcesRepeatTheirSequenceAndStayApart(t *testing.T) {
	a, b, far := Source{}, Source{}, From(1<<40)
	seen := map[string]bool{}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	for range 1000 {
		x, y, z := a.UUID(), b.UUID(), far.UUID()
		if x != y {
			t.Fatalf("two fresh sources differ: %s and %s", x, y)
		}
		if !uuid.MatchString(x) {
			t.Fatalf("%q is not UUID-shaped", x)
		}
		if seen[x] || seen[z] || x == z {
			t.Fatalf("id repeated: %s / %s", x, z)
		}
		seen[x], seen[z] = true, true
	}
}
