package iampolicy

import "testing"

func TestGlobsMatchLikeIAM(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"owned", "owned", true},
		{"owned", "owner", false},
		{"*", "", true},
		{"*", "anything at all", true},
		{"web-*", "web-", true},
		{"web-*", "we", false},
		{"*-lab", "nodewright-lab", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"?", "é", true}, // one character, not one byte
		{"??", "é", false},
		{`a\*`, `a\xyz`, true}, // IAM has no escapes: the backslash is a character
	}
	for _, tc := range tests {
		if got := matchGlob(tc.pattern, tc.value); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.pattern, tc.value, got, tc.want)
		}
	}
}
