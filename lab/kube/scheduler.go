package kube

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

// startScheduler runs the real kube-scheduler with its default profile, reading the cluster
// through kubeconfig. It goes through app.Setup and app.Run rather than the cobra command,
// which would re-apply the process's logging configuration and fail inside a shared process.
func startScheduler(ctx context.Context, dir, kubeconfig string) (<-chan error, error) {
	cfgPath := filepath.Join(dir, "kube-scheduler.yaml")
	cfg := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 200
  burst: 400
leaderElection:
  leaderElect: false
`, kubeconfig)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("write scheduler config: %w", err)
	}
	opts := options.NewOptions()
	opts.ConfigFile = cfgPath
	opts.SecureServing.BindPort = 0 // no health endpoint: the lab process is the health signal
	cc, sched, err := app.Setup(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("set up kube-scheduler: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cc, sched) }()
	return done, nil
}
