package kubelet

import (
	"strings"
	"testing"
)

func TestParseTaints(t *testing.T) {
	tests := []struct {
		name, in string
		want     int
		wantErr  string
	}{
		{name: "empty means no taints", in: "", want: 0},
		{name: "key value and effect", in: "dedicated=gpu:NoSchedule", want: 1},
		{name: "key without value", in: "spot:NoExecute,a=b:PreferNoSchedule", want: 2},
		{name: "missing effect is rejected", in: "dedicated=gpu", wantErr: "no :Effect"},
		{name: "unknown effect is rejected", in: "a=b:Sometimes", wantErr: "is not NoSchedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTaints(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseTaints(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("parseTaints(%q) = %v, %v; want %d taints", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseLabelsRejectsPairsWithoutEquals(t *testing.T) {
	if _, err := parseLabels("a=b,broken"); err == nil {
		t.Fatal("parseLabels accepted a label without '='")
	}
	got, err := parseLabels("a=b,c=")
	if err != nil || got["a"] != "b" || got["c"] != "" {
		t.Fatalf("parseLabels = %v, %v", got, err)
	}
}
