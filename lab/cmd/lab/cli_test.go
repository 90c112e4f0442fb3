package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A malformed lab command line exits 2 naming what is wrong, before anything starts: the
// lab's directory is never made.
func TestLabCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
		// absentStdout must not appear on stdout.
		absentStdout []string
	}{
		{name: "no command exits 2", args: nil, wantCode: 2, wantStderr: []string{"no command given: lab up or lab demo"}},
		{name: "an unknown command exits 2 naming it", args: []string{"down"}, wantCode: 2, wantStderr: []string{`unknown command "down"`}},
		{name: "an argument after a command exits 2", args: []string{"demo", "now"}, wantCode: 2, wantStderr: []string{`unknown command "now" for "lab demo"`}},
		{name: "an unknown flag exits 2 naming it", args: []string{"up", "--bogus"}, wantCode: 2, wantStderr: []string{"unknown flag: --bogus", "lab up -h"}},
		{name: "the demo has no Temporal TLS", args: []string{"demo", "--temporal-tls"}, wantCode: 2, wantStderr: []string{"unknown flag: --temporal-tls"}},
		{name: "a region without prices exits 2 naming the flag", args: []string{"up", "--region", "mars-1"}, wantCode: 2, wantStderr: []string{"--region", "mars-1", "us-east-1"}},
		{name: "a throttle rate over 1 exits 2 naming the flag", args: []string{"demo", "--ec2-throttle=7"}, wantCode: 2, wantStderr: []string{"--ec2-throttle"}},
		{name: "a malformed port exits 2 naming the flag", args: []string{"up", "--kube-port", "six"}, wantCode: 2, wantStderr: []string{"--kube-port"}},
		{name: "--version prints the version", args: []string{"--version"}, wantCode: 0, wantStdout: []string{"lab " + version + "\n"}},
		{
			name: "up's help lists the lab's flags and Temporal's TLS", args: []string{"up", "-h"}, wantCode: 0,
			wantStdout:   []string{"--region", "--pricing-unreachable", "--temporal-tls", "--temporal-mtls", "--ec2-throttle", "--kube-faults"},
			absentStdout: []string{"--version"},
		},
		{
			name: "demo's help lists the lab's flags without TLS", args: []string{"demo", "--help"}, wantCode: 0,
			wantStdout:   []string{"--region", "--pricing-unreachable", "--chaos-seed"},
			absentStdout: []string{"--temporal-tls", "--version"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "lab")
			args := tt.args
			if len(args) > 0 && (args[0] == "up" || args[0] == "demo") { // --dir is theirs only
				args = append(args, "--dir", dir)
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != tt.wantCode {
				t.Errorf("lab %q exited %d, want %d; stderr:\n%s", args, code, tt.wantCode, stderr.String())
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("lab %q stdout lacks %q:\n%s", args, want, stdout.String())
				}
			}
			for _, unwanted := range tt.absentStdout {
				if strings.Contains(stdout.String(), unwanted) {
					t.Errorf("lab %q stdout shows %q:\n%s", args, unwanted, stdout.String())
				}
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("lab %q stderr lacks %q:\n%s", args, want, stderr.String())
				}
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("lab %q made its directory %s although its command line is rejected or asks only for help", args, dir)
			}
		})
	}
}
