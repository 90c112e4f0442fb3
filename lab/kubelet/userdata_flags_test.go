package kubelet

import (
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestParseKubeletFlags(t *testing.T) {
	noSchedule := func(key, value string) corev1.Taint {
		return corev1.Taint{Key: key, Value: value, Effect: corev1.TaintEffectNoSchedule}
	}
	tests := []struct {
		name       string
		flags      []string
		wantLabels map[string]string
		wantTaints []corev1.Taint // nil: --register-with-taints not given
		wantMax    int32
		wantErr    string
	}{
		{name: "no flags", wantLabels: map[string]string{}},
		{name: "quoted labels lose their quotes as systemd removes them", flags: []string{`--node-labels="team=a,tier=web"`},
			wantLabels: map[string]string{"team": "a", "tier": "web"}},
		{name: "repeated --node-labels merge, the later value winning", flags: []string{"--node-labels=team=a,tier=web", "--node-labels=team=b"},
			wantLabels: map[string]string{"team": "b", "tier": "web"}},
		{name: "a flag and its value as two words", flags: []string{"--node-labels", "team=a"}, wantLabels: map[string]string{"team": "a"}},
		{name: "several flags in one string, as nodeadm joins them", flags: []string{"--max-pods=20 --node-labels=team=a"},
			wantLabels: map[string]string{"team": "a"}, wantMax: 20},
		{name: "taints with and without value", flags: []string{"--register-with-taints=dedicated=gpu:NoSchedule,spot:NoSchedule"},
			wantLabels: map[string]string{}, wantTaints: []corev1.Taint{noSchedule("dedicated", "gpu"), noSchedule("spot", "")}},
		{name: "the last --register-with-taints wins", flags: []string{"--register-with-taints=a=1:NoSchedule", "--register-with-taints=b=2:NoSchedule"},
			wantLabels: map[string]string{}, wantTaints: []corev1.Taint{noSchedule("b", "2")}},
		{name: "flags the stand-in does not model are skipped with their values", flags: []string{"--v", "2", "--cloud-provider=external", "--node-labels=team=a"},
			wantLabels: map[string]string{"team": "a"}},
		{name: "a label without '='", flags: []string{"--node-labels=team"}, wantErr: "malformed pair"},
		{name: "a taint with an unknown effect", flags: []string{"--register-with-taints=a=b:Sometimes"}, wantErr: "invalid taint effect"},
		{name: "a taint with a key that is not a qualified name", flags: []string{"--register-with-taints=-a=b:NoSchedule"}, wantErr: "invalid taint spec"},
		{name: "max pods that is not a number", flags: []string{"--max-pods=many"}, wantErr: "max-pods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKubeletFlags(tt.flags)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseKubeletFlags(%q) error = %v, want one containing %q", tt.flags, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseKubeletFlags(%q): %v", tt.flags, err)
			}
			if !maps.Equal(got.Labels, tt.wantLabels) {
				t.Errorf("labels = %v, want %v", got.Labels, tt.wantLabels)
			}
			if got.TaintsSet != (tt.wantTaints != nil) || !slices.Equal(got.Taints, tt.wantTaints) {
				t.Errorf("taints = %v (set %v), want %v", got.Taints, got.TaintsSet, tt.wantTaints)
			}
			if got.MaxPods != tt.wantMax || got.MaxPodsSet != (tt.wantMax != 0) {
				t.Errorf("max pods = %d (set %v), want %d", got.MaxPods, got.MaxPodsSet, tt.wantMax)
			}
		})
	}
}

func TestCommandLineSplitsAndUnquotesAsSystemd(t *testing.T) {
	got := commandLine([]string{`--node-labels="a=b,c=d"`, `--x='y z'`, "--flag  value"})
	want := []string{"--node-labels=a=b,c=d", "--x=y z", "--flag", "value"}
	if !slices.Equal(got, want) {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
}
