package starter

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
)

// dialRecorder stands in for client.DialContext: it records each attempt and refuses it, so
// a command line that gets past validation ends with exit code 1 and no network traffic.
type dialRecorder struct {
	calls []client.Options
}

func (d *dialRecorder) dial(_ context.Context, opts client.Options) (client.Client, error) {
	d.calls = append(d.calls, opts)
	return nil, errors.New("dial refused by the test")
}

func TestCLI(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		// wantStderr are fragments stderr must hold.
		wantStderr []string
		// wantDialTo is the host:port and namespace dialed; empty means Temporal must not be dialed.
		wantDialTo [2]string
	}{
		{
			name: "no command prints usage and exits 2", args: nil,
			wantCode: 2, wantStderr: []string{"no command", "usage: starter", "describe NODE"},
		},
		{
			name: "only flags and no command prints usage and exits 2", args: []string{"--namespace", "prod"},
			wantCode: 2, wantStderr: []string{"no command", "usage: starter"},
		},
		{
			name: "an unknown command prints usage and exits 2", args: []string{"launch", "node-1"},
			wantCode: 2, wantStderr: []string{`unknown command "launch"`, "usage: starter"},
		},
		{
			name: "an unknown global flag exits 2", args: []string{"--bogus", "nodes"},
			wantCode: 2, wantStderr: []string{"bogus", "usage: starter"},
		},
		{
			name: "help exits 0 with usage", args: []string{"-h"},
			wantCode: 0, wantStderr: []string{"usage: starter", "-temporal-address"},
		},
		{
			name: "start with an argument fails naming its usage", args: []string{"start", "now"},
			wantCode: 2, wantStderr: []string{"starter start", `"now"`},
		},
		{
			name: "nodes with an unknown flag fails naming its usage", args: []string{"nodes", "--closed"},
			wantCode: 2, wantStderr: []string{"closed", "starter nodes [--all]"},
		},
		{
			name: "nodes with a positional argument fails naming its usage", args: []string{"nodes", "ip-10-0-0-1"},
			wantCode: 2, wantStderr: []string{"starter nodes [--all]"},
		},
		{
			name: "describe without NODE fails naming its arguments", args: []string{"describe"},
			wantCode: 2, wantStderr: []string{"describe NODE"},
		},
		{
			name: "describe with an empty NODE fails naming its arguments", args: []string{"describe", ""},
			wantCode: 2, wantStderr: []string{"describe NODE"},
		},
		{
			name: "describe with two nodes fails naming its arguments", args: []string{"describe", "a", "b"},
			wantCode: 2, wantStderr: []string{"describe NODE"},
		},
		{
			name: "drain without NODE fails naming its arguments", args: []string{"drain"},
			wantCode: 2, wantStderr: []string{"drain [--grace-period D] NODE [REASON]"},
		},
		{
			name: "drain with three arguments fails naming its arguments", args: []string{"drain", "node-1", "because", "extra"},
			wantCode: 2, wantStderr: []string{"drain [--grace-period D] NODE [REASON]", `"extra"`},
		},
		{
			name: "drain with a negative grace period fails naming its arguments", args: []string{"drain", "--grace-period", "-5m", "node-1"},
			wantCode: 2, wantStderr: []string{"drain [--grace-period D] NODE [REASON]"},
		},
		{
			name: "cancel-drain without NODE fails naming its arguments", args: []string{"cancel-drain"},
			wantCode: 2, wantStderr: []string{"cancel-drain NODE"},
		},
		{
			name: "extend without a duration fails naming its arguments", args: []string{"extend", "node-1"},
			wantCode: 2, wantStderr: []string{"extend NODE 24h"},
		},
		{
			name: "extend with a duration that is not positive fails", args: []string{"extend", "node-1", "-1h"},
			wantCode: 2, wantStderr: []string{"positive Go duration"},
		},
		{
			name: "drain with a grace period dials Temporal", args: []string{"drain", "--grace-period", "5m", "node-1", "maintenance"},
			wantCode: 1, wantStderr: []string{"connect to Temporal"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"},
		},
		{
			name: "start dials the default Temporal address", args: []string{"start"},
			wantCode: 1, wantStderr: []string{"connect to Temporal at 127.0.0.1:7233", "dial refused"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"},
		},
		{
			name: "nodes --all dials Temporal", args: []string{"nodes", "--all"},
			wantCode: 1, wantStderr: []string{"connect to Temporal"},
			wantDialTo: [2]string{"127.0.0.1:7233", "default"},
		},
		{
			name: "describe NODE dials the server the environment names", args: []string{"describe", "node-1"},
			env:      map[string]string{"TEMPORAL_ADDRESS": "temporal.svc:7233", "TEMPORAL_NAMESPACE": "nodes"},
			wantCode: 1, wantStderr: []string{"connect to Temporal at temporal.svc:7233 (namespace nodes)"},
			wantDialTo: [2]string{"temporal.svc:7233", "nodes"},
		},
		{
			name:     "drain NODE REASON dials the server the flags name over the environment",
			args:     []string{"--temporal-address", "10.0.0.9:7233", "--namespace", "prod", "drain", "node-1", "retiring"},
			env:      map[string]string{"TEMPORAL_ADDRESS": "temporal.svc:7233", "TEMPORAL_NAMESPACE": "nodes"},
			wantCode: 1, wantStderr: []string{"connect to Temporal at 10.0.0.9:7233"},
			wantDialTo: [2]string{"10.0.0.9:7233", "prod"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			dialer := &dialRecorder{}
			getenv := func(key string) string { return tt.env[key] }
			code := runCLI(context.Background(), tt.args, &stdout, &stderr, getenv, dialer.dial)
			if code != tt.wantCode {
				t.Errorf("starter %q exited %d, want %d; stderr:\n%s", tt.args, code, tt.wantCode, stderr.String())
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("starter %q stderr lacks %q:\n%s", tt.args, want, stderr.String())
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("starter %q wrote to stdout although it did nothing: %q", tt.args, stdout.String())
			}
			switch {
			case tt.wantDialTo == [2]string{} && len(dialer.calls) != 0:
				t.Errorf("starter %q dialed Temporal at %s before rejecting its arguments", tt.args, dialer.calls[0].HostPort)
			case tt.wantDialTo != [2]string{} && len(dialer.calls) != 1:
				t.Errorf("starter %q dialed Temporal %d times, want once", tt.args, len(dialer.calls))
			case tt.wantDialTo != [2]string{}:
				if got := [2]string{dialer.calls[0].HostPort, dialer.calls[0].Namespace}; got != tt.wantDialTo {
					t.Errorf("starter %q dialed %q, want %q", tt.args, got, tt.wantDialTo)
				}
			}
		})
	}
}

// TestMainRejectsBadCommandLines runs the real entry point, which would dial; the address
// points at a closed port, so a dial would surface as exit code 1 rather than 2.
func TestMainRejectsBadCommandLines(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"no command exits 2 with usage", nil, "usage: starter"},
		{"an unknown command exits 2 with usage", []string{"provision"}, "usage: starter"},
		{"describe without NODE exits 2 naming its arguments", []string{"describe"}, "describe NODE"},
		{"drain with three arguments exits 2 naming its arguments", []string{"drain", "a", "b", "c"}, "drain [--grace-period D] NODE [REASON]"},
	}
	getenv := func(key string) string {
		if key == "TEMPORAL_ADDRESS" {
			return "127.0.0.1:1"
		}
		return ""
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(context.Background(), tt.args, &stdout, &stderr, getenv); code != 2 {
				t.Errorf("Main(%q) = %d, want 2; stderr:\n%s", tt.args, code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("Main(%q) stderr lacks %q:\n%s", tt.args, tt.wantStderr, stderr.String())
			}
			if strings.Contains(stderr.String(), "connect to Temporal") {
				t.Errorf("Main(%q) tried to connect to Temporal:\n%s", tt.args, stderr.String())
			}
		})
	}
}
