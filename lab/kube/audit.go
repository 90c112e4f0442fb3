package kube

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apiserver/pkg/authentication/serviceaccount"
)

// auditArgs are the kube-apiserver flags that record every request of the worker's service
// account to path as JSON lines: once as it is received, and once more with its response
// code when it completes (a watch only when it ends). The API server's own
// apiserver_request_total has no label naming the client, so its audit log is how the API
// server itself tells the worker's requests from the scheduler's and the controllers'.
func auditArgs(stateDir, path string) ([]string, error) {
	policy := fmt.Sprintf(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [ResponseStarted, Panic]
rules:
  - level: Metadata
    users: [%q]
  - level: None
`, serviceaccount.MakeUsername(WorkerNamespace, WorkerServiceAccount))
	policyPath := filepath.Join(stateDir, "audit-policy.yaml")
	if err := os.WriteFile(policyPath, []byte(policy), 0o600); err != nil {
		return nil, fmt.Errorf("write audit policy: %w", err)
	}
	return []string{"--audit-policy-file=" + policyPath, "--audit-log-path=" + path, "--audit-log-format=json"}, nil
}
