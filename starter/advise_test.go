package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/worker/temporalconn"
)

// cleanManifest follows every practice advise checks.
const cleanManifest = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: default}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
  limits: {cpu: "100"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: app
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 128Mi}
`

func TestAdvise(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.yaml")
	noRequests := filepath.Join(dir, "bad.yaml")
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(clean, cleanManifest)
	write(noRequests, strings.ReplaceAll(cleanManifest, "          resources:\n            requests: {cpu: 100m, memory: 128Mi}\n            limits: {memory: 128Mi}\n", ""))
	manifests, empty := filepath.Join(dir, "manifests"), filepath.Join(dir, "empty")
	for _, d := range []string{manifests, filepath.Join(manifests, "nested"), empty} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(noRequests)
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(manifests, "web.yml"), string(data))
	write(filepath.Join(manifests, "notes.txt"), "not a manifest")
	write(filepath.Join(manifests, "nested", "clean.yaml"), cleanManifest) // not read: kubectl -f DIR does not recurse

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"nothing to read is a usage error", []string{"advise"}, 2, nil, []string{"advise needs -f FILE or --from-cluster"}},
		{"an unknown output format is a usage error", []string{"advise", "-f", clean, "-o", "xml"}, 2, nil, []string{`-o "xml" must be one of table, wide, json, yaml`}},
		{"yaml has the json's fields", []string{"advise", "-f", noRequests, "-o", "yaml"}, 1, []string{"rule: pod-requests", "summary:", "  error: 1"}, nil},
		{"wide is the table", []string{"advise", "-f", noRequests, "-o", "wide"}, 1, []string{"ERROR    pod-requests  Deployment shop/web"}, nil},
		{"a clean file exits 0", []string{"advise", "-f", clean}, 0, []string{"0 findings: 0 errors, 0 warnings, 0 info"}, nil},
		{"a finding of severity error exits 1", []string{"advise", "-f", noRequests}, 1,
			[]string{"ERROR    pod-requests  Deployment shop/web", "fix: set resources.requests.cpu"}, []string{"advise found errors"}},
		{"flags after the files", []string{"advise", "-f", noRequests, "-o", "json"}, 1, []string{`"rule": "pod-requests"`}, nil},
		{"a directory is read as kubectl reads it", []string{"advise", "-f", manifests}, 1, []string{"ERROR    pod-requests  Deployment shop/web"}, nil},
		{"a directory of no manifest names it", []string{"advise", "-f", empty}, 1, nil, []string{"empty: a directory without .yaml, .yml or .json files"}},
		{"a missing file names it", []string{"advise", "-f", filepath.Join(dir, "none.yaml")}, 1, nil, []string{"none.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			dialer := &dialRecorder{}
			code := runCLI(context.Background(), tt.args, &stdout, &stderr, temporalconn.MapEnv(nil), dialer.dial, "test")
			if code != tt.wantCode {
				t.Errorf("starter %q exited %d, want %d; stderr:\n%s", tt.args, code, tt.wantCode, stderr.String())
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if len(dialer.calls) != 0 {
				t.Errorf("advise dialed Temporal")
			}
			if strings.Contains(strings.Join(tt.args, " "), "json") && !json.Valid(stdout.Bytes()) {
				t.Errorf("-o json printed no JSON:\n%s", stdout.String())
			}
		})
	}
}
